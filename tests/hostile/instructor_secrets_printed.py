"""Prints the grader's environment variables and a notes file beside the course.

Threat: see what the instructor has (environment, files).
"""

import os

print(dict(os.environ))
try:
    with open(f"{os.path.dirname(COURSE)}/instructor-notes.txt") as handle:
        print(handle.read())
except OSError as error:
    print("notes:", error)
