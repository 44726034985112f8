"""Reads the instructor's notebook from solutions/ and prints its hidden tests.

Threat: see hidden tests (in its kernel and in its feedback).
"""

import json

try:
    with open(f"{COURSE}/solutions/a2_blocks/blocks.ipynb") as handle:
        for cell in json.load(handle)["cells"]:
            print("".join(cell["source"]))
except OSError as error:
    print("solutions:", error)
