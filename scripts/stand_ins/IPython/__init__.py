"""Stand-in for IPython when the chapters run as plain scripts (see ../README.md)."""

# matplotlib reads the version of an imported IPython; a recent one makes it ask nothing more.
version_info = (9, 0, 0, "stand-in")


def get_ipython() -> None:
    """No interactive shell here (matplotlib asks once IPython has been imported)."""
    return None
