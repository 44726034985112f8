"""The course book's own Sphinx extension (registered in _config.yml under sphinx.local_extensions).

It does two small things that Jupyter Book 1 does not do by itself:

1. API reference: napoleon reads the first line of an attribute's or property's docstring as
   ``type: description`` (Google style for *untyped* attributes). ``resnet_ref`` states its types
   as annotations and writes docstrings like ``"Colour channels per image: 1 for grey, 3 for RGB."``,
   which napoleon would turn into a bogus type ``Colour channels per image``. The two hooks below
   keep such a docstring as written. And a type alias (``History = list[dict[str, float]]``) is
   documented as data, while a signature that uses it refers to it as a class: the
   ``missing-reference`` hook lets such a reference find the alias.
"""

from sphinx.application import Sphinx

# Napoleon handles "autodoc-process-docstring" at the default priority, 500.
_BEFORE_NAPOLEON = 499
_AFTER_NAPOLEON = 501
_ATTRIBUTE_KINDS = ("attribute", "data", "property")


def _remember_attribute_docstring(app, what, name, obj, options, lines):
    """Keep the docstring of an attribute as it was before napoleon sees it.

    A constant without a docstring of its own (``DATA_SOURCES = ("embedded", "cifar10")``) would
    show the docstring of its type (``tuple``); that one is dropped.
    """
    if what == "data" and obj is not None and type(obj).__module__ == "builtins":
        if "\n".join(lines).strip() == (type(obj).__doc__ or "").strip():
            lines.clear()
    if what in _ATTRIBUTE_KINDS:
        app.env.temp_data.setdefault("course_book_docstrings", {})[name] = list(lines)


def _undo_inline_attribute_type(app, what, name, obj, options, lines):
    """Restore an attribute docstring whose first words napoleon mistook for a type."""
    if what not in _ATTRIBUTE_KINDS:
        return
    original = app.env.temp_data.get("course_book_docstrings", {}).pop(name, None)
    if not original:
        return
    first = next((line.strip() for line in original if line.strip()), "")
    type_lines = [line for line in lines if line.startswith(":type: ")]
    if len(type_lines) != 1:
        return
    guessed_type = type_lines[0][len(":type: ") :].strip()
    # Only undo napoleon's inline split ("<words>: <description>" on the first line), never an
    # explicit ":type:" field the docstring wrote itself.
    if first.startswith(f"{guessed_type}:") and not any(
        line.strip().startswith(":type:") for line in original
    ):
        lines[:] = original


def _type_alias_as_data(app, env, node, contnode):
    """Resolve a ``py:class`` reference that names a documented type alias (``py:data``)."""
    if node.get("refdomain") != "py" or node.get("reftype") != "class":
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, "data", node["reftarget"], node, contnode
    )


def setup(app: Sphinx):
    """Connect the hooks; the extension keeps no state between builds."""
    app.setup_extension("sphinx.ext.napoleon")
    app.connect("autodoc-process-docstring", _remember_attribute_docstring, _BEFORE_NAPOLEON)
    app.connect("autodoc-process-docstring", _undo_inline_attribute_type, _AFTER_NAPOLEON)
    app.connect("missing-reference", _type_alias_as_data)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
