"""Raises SystemExit, which IPython turns into an error of the cell.

Threat: stop the batch (SystemExit).
"""

raise SystemExit("leaving early")
