"""Deletes the gradebook and leaves an empty file in its place.

Threat: touch the gradebook.
"""

import os

try:
    os.remove(f"{COURSE}/gradebook.db")
    open(f"{COURSE}/gradebook.db", "w").close()
except OSError as error:
    print("gradebook:", error)
