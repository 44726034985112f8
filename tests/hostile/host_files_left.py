"""Leaves files in the grading machine's /tmp, home and the course's parent folder.

Threat: touch files of the machine.
"""

import os

for folder in ("/tmp", os.path.expanduser("~"), os.path.dirname(COURSE), "/root", "/var/tmp"):
    try:
        with open(f"{folder}/{MARK}", "w") as handle:
            handle.write("was here")
    except OSError as error:
        print(folder, error)
