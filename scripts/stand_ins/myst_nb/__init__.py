"""Stand-in for MyST-NB's glue: remembers every glued value (see ../README.md)."""

GLUED: dict[str, object] = {}


def glue(name: str, value: object, display: bool = True) -> None:
    """Record ``value`` under ``name``, as the book's build would."""
    GLUED[name] = value
