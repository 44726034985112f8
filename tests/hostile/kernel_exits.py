"""Ends its kernel with os._exit in the middle of the notebook.

Threat: stop the batch (os._exit).
"""

import os

os._exit(0)
