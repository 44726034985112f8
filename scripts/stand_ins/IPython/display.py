"""Stand-in for IPython.display: what the chapters display, printed as text."""


class Markdown:
    """Markdown text, shown as itself."""

    def __init__(self, data: str = "") -> None:
        self.data = data

    def __repr__(self) -> str:
        return self.data


class HTML(Markdown):
    """HTML text, shown as itself."""


def display(*objects, **options) -> None:
    """Print what has a text form; figures and widgets are left alone."""
    for item in objects:
        if isinstance(item, Markdown):
            print(item.data)
        elif type(item).__module__.split(".")[0] not in ("matplotlib", "ipywidgets"):
            print(repr(item))
