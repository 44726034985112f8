"""The course book's own Sphinx extension (registered in _config.yml under sphinx.local_extensions).

It does small things that Jupyter Book 1 does not do by itself:

1. Launch and download: every chapter (``course_toc.chapters``: the pages of ``_toc.yml``
   named ``ch*``) has a generated notebook in ``book/notebooks/`` (made by
   ``scripts/sync_notebooks.py``) and gets two links under its title: "Open in Colab", which
   opens that ``.ipynb`` from the published learner bundle (``repository.url`` and ``branch``
   in ``_config.yml``; the bundle keeps the notebooks in ``notebooks/``), and "Download
   notebook", a copy of the ``.ipynb`` in the built site's ``notebooks/`` folder. Jupyter
   Book's own launch buttons would point Colab at the ``.md`` source, which Colab cannot open.
   A chapter without its notebook is a warning.
2. API reference: napoleon reads the first line of an attribute's or property's docstring as
   ``type: description`` (Google style for *untyped* attributes). ``resnet_ref`` states its types
   as annotations, and a docstring like ``"Colour channels per image: 1 for grey, 3 for RGB."``
   would give a bogus type ``Colour channels per image``. The two hooks below
   keep such a docstring as written. And a type alias (``History = list[dict[str, float]]``) is
   documented as data, while a signature that uses it refers to it as a class: the
   ``missing-reference`` hook lets such a reference find the alias.
3. Pages: a script is included once per page (see ``_drop_duplicate_scripts``), and
   ``_static/widgets-mathjax3.js`` lets the ipywidgets manager typeset with MathJax 3.
4. No stale pages: the execution cache (``execute_notebooks: cache``, jupyter-cache) keys a
   page's outputs on its code cells only, so a change to ``resnet_ref`` or to a file a page
   reads would leave the old outputs on the page. ``course_page_inputs`` in ``_config.yml``
   names what each executed page reads; ``_key_outputs_to_inputs`` appends to the page, as it
   is read, a hidden code cell whose text is a digest of those files. The cell is part of the
   cache key, so the page is executed again exactly when one of its inputs changed.
"""

import hashlib
import os
import shutil
from pathlib import Path

from docutils import nodes
from myst_nb.core.read import is_myst_markdown_notebook
from sphinx.application import Sphinx
from sphinx.util import logging

from course_toc import chapters

logger = logging.getLogger(__name__)

NOTEBOOKS = Path("book") / "notebooks"  # relative to the book's root (the source directory)
SITE_NOTEBOOKS = "notebooks"  # where the built site keeps the downloadable copies
COLAB = "https://colab.research.google.com/github"
BUNDLE_NOTEBOOKS = "notebooks"  # where the learner bundle keeps them (autograder/learner_bundle.py)

# Napoleon handles "autodoc-process-docstring" at the default priority, 500.
_BEFORE_NAPOLEON = 499
_AFTER_NAPOLEON = 501
_ATTRIBUTE_KINDS = ("attribute", "data", "property")

# Ends every executed page: not shown (remove-cell), and it runs nothing. It exists for its text,
# which jupyter-cache hashes with the page's other code cells.
INPUTS_CELL = """

```{{code-cell}} ipython3
:tags: [remove-cell]
# What this page read besides its own cells (course_page_inputs in _config.yml), by digest:
{digests}
```
"""


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


def input_files(root, pattern):
    """The files one declared input names (a file, a folder or a glob pattern), sorted.

    Hidden files and ``__pycache__`` are left out: editors, Jupyter and Python write them
    without changing what a page reads, and they would re-execute it for nothing.
    """
    files = set()
    for path in root.glob(pattern):
        files.update(path.rglob("*") if path.is_dir() else [path])
    return sorted(
        file
        for file in files
        if file.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__" for part in file.relative_to(root).parts
        )
    )


def _key_outputs_to_inputs(app, docname, source):
    """Append the digest of what an executed page reads to the page, as a hidden code cell."""
    if "{code-cell}" not in source[0] or not is_myst_markdown_notebook(source[0]):
        return
    declared = app.config.course_page_inputs
    root = Path(app.srcdir)
    digests = []
    for name in [*declared.get("*", []), *declared.get(docname, [])]:
        digest = hashlib.sha256()
        for file in input_files(root, name):
            # Lets an incremental build (without --all) read the page again when the file changes.
            app.env.note_dependency(str(file))
            content = hashlib.sha256(file.read_bytes()).hexdigest()
            digest.update(f"{file.relative_to(root).as_posix()} {content}\n".encode())
        digests.append(f"# {name}: {digest.hexdigest()}")
    if digests:
        source[0] += INPUTS_CELL.format(digests="\n".join(digests))


def _chapter_notebook(app, docname):
    """The generated notebook of a page, or None if the page is not a chapter."""
    if docname not in chapters(Path(app.srcdir)):
        return None
    notebook = Path(app.srcdir) / NOTEBOOKS / f"{Path(docname).name}.ipynb"
    if not notebook.is_file():
        logger.warning(
            "chapter %s has no generated notebook %s: run python3 course.py notebooks",
            docname,
            notebook.relative_to(app.srcdir),
            type="course_book",
            location=docname,
        )
        return None
    return notebook


def _colab_url(app, notebook):
    """The Colab address that opens a generated notebook from the published learner bundle."""
    options = app.config.html_theme_options
    repository = options.get("repository_url", "").rstrip("/")
    prefix = "https://github.com/"
    if not repository.startswith(prefix):
        logger.warning(
            "repository.url in _config.yml must be a https://github.com/<owner>/<repo> address "
            "for the Colab links; got %r",
            repository,
            type="course_book",
        )
        return None
    branch = options.get("repository_branch", "main")
    path = f"{BUNDLE_NOTEBOOKS}/{notebook.name}"
    return f"{COLAB}/{repository[len(prefix) :]}/blob/{branch}/{path}"


def _add_launch_links(app, doctree, docname):
    """Put "Open in Colab" and "Download notebook" under the title of a chapter page."""
    if app.builder.format != "html":
        return
    notebook = _chapter_notebook(app, docname)
    if notebook is None:
        return
    colab = _colab_url(app, notebook)
    download = os.path.relpath(
        f"{SITE_NOTEBOOKS}/{notebook.name}", os.path.dirname(docname) or "."
    ).replace(os.sep, "/")
    links = []
    if colab:
        links.append(
            f'<a class="course-launch-link course-colab" href="{colab}" '
            'target="_blank" rel="noopener">Open in Colab</a>'
        )
    links.append(
        f'<a class="course-launch-link course-download" href="{download}" '
        f'download="{notebook.name}">Download notebook (.ipynb)</a>'
    )
    html = '<div class="course-launch">' + "".join(links) + "</div>"
    raw = nodes.raw("", html, format="html")
    title = next(iter(doctree.findall(nodes.title)), None)
    if title is None:
        doctree.insert(0, raw)
    else:
        section = title.parent
        section.insert(section.index(title) + 1, raw)


def _copy_notebooks(app, exception):
    """Copy the chapters' generated notebooks into the built site, for the download links."""
    if exception is not None or app.builder.format != "html":
        return
    source = Path(app.srcdir) / NOTEBOOKS
    target = Path(app.outdir) / SITE_NOTEBOOKS
    target.mkdir(parents=True, exist_ok=True)
    for notebook in sorted(source.glob("*.ipynb")):
        shutil.copyfile(notebook, target / notebook.name)


def _type_alias_as_data(app, env, node, contnode):
    """Resolve a ``py:class`` reference that names a documented type alias (``py:data``)."""
    if node.get("refdomain") != "py" or node.get("reftype") != "class":
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, "data", node["reftarget"], node, contnode
    )


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """Include each script once: sphinx-thebe's inline configuration (``const THEBE_JS_URL =
    ...``) reaches the pages twice under Jupyter Book 1, and the second copy throws
    "Identifier 'THEBE_JS_URL' has already been declared" in every page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        # An inline script has the file name None or "", depending on who added it.
        filename = getattr(script, "filename", str(script)) or ""
        key = (str(filename), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app: Sphinx):
    """Connect the hooks; the extension keeps no state between builds."""
    app.setup_extension("sphinx.ext.napoleon")
    # {docname: [file, folder or glob pattern, relative to the book's root]}; "*": every page.
    app.add_config_value("course_page_inputs", {}, "env", types=[dict])
    app.connect("source-read", _key_outputs_to_inputs)
    app.connect("autodoc-process-docstring", _remember_attribute_docstring, _BEFORE_NAPOLEON)
    app.connect("autodoc-process-docstring", _undo_inline_attribute_type, _AFTER_NAPOLEON)
    app.connect("missing-reference", _type_alias_as_data)
    app.connect("doctree-resolved", _add_launch_links)
    app.connect("build-finished", _copy_notebooks)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.add_css_file("course.css")
    app.add_js_file("widgets-mathjax3.js")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
