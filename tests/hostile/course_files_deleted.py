"""Deletes the course's solutions, release, configuration and reference package.

Threat: touch the course folder.
"""

import os
import shutil

for name in ("solutions", "exercises", "resnet_ref", "source"):
    shutil.rmtree(f"{COURSE}/{name}", ignore_errors=True)
for name in ("nbgrader_config.py", "course.py"):
    try:
        os.remove(f"{COURSE}/{name}")
    except OSError as error:
        print(name, error)
