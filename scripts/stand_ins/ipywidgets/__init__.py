"""Stand-in for ipywidgets: widgets that only hold values (see ../README.md)."""


class Widget:
    """Any widget: keeps its keyword arguments as attributes, and its children."""

    def __init__(self, children=None, **settings) -> None:
        self.children = list(children or [])
        self.options = list(settings.pop("options", []))
        self.value = settings.pop("value", None)
        self.selected_index = settings.pop("selected_index", None)
        self.__dict__.update(settings)
        values = [option[1] if isinstance(option, tuple) else option for option in self.options]
        self.index = values.index(self.value) if self.value in values else 0


def __getattr__(name: str):
    # Every widget class the chapters use (VBox, Dropdown, Stack, ...) behaves alike here.
    return type(name, (Widget,), {})


def jslink(*pairs) -> None:
    """Linking two widgets in the browser: nothing to do without one."""


def interactive_output(function, controls: dict) -> Widget:
    """Call ``function`` once with the controls' initial values, as a notebook would."""
    function(**{name: control.value for name, control in controls.items()})
    return Widget()
