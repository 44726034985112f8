"""Registers an input transformer that empties every later cell that checks something, so the
tests never run.

Threat: rewrite the code of later cells before they run.
"""


def _no_tests(lines):
    if any("expect(" in line for line in lines):
        return ["pass\n"]
    return lines


get_ipython().input_transformers_cleanup.append(_no_tests)  # noqa: F821
