"""Prints IPython's input history, where the test cells that already ran are kept.

Threat: see hidden tests (in its feedback).
Cell: count_block_parameters
"""

import IPython

shell = IPython.get_ipython()
for source in shell.user_ns.get("In", []):
    print(source)
