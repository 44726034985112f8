"""resnet_ref's modules are described once, in the package's docstring, which the API reference
shows and the README points to."""

import pkgutil
import re

from conftest import ROOT

import resnet_ref

LISTED = re.compile(r"^- :mod:`resnet_ref\.(\w+)`", re.MULTILINE)
DOCUMENTED = re.compile(r"^\.\. automodule:: resnet_ref(?:\.(\w+))?$", re.MULTILINE)


def modules():
    """resnet_ref's public modules and subpackages (the command line, __main__, is not one)."""
    return {
        module.name
        for module in pkgutil.iter_modules(resnet_ref.__path__)
        if not module.name.startswith("_")
    }


def test_the_package_docstring_lists_every_module_once():
    listed = LISTED.findall(resnet_ref.__doc__)
    assert sorted(listed) == sorted(modules()), "resnet_ref/__init__.py's module list"
    assert len(listed) == len(set(listed))


def test_the_api_reference_shows_the_list_and_documents_every_module():
    page = (ROOT / "book" / "appendix_api.md").read_text(encoding="utf-8")
    documented = DOCUMENTED.findall(page)
    assert "" in documented, "the API reference does not show resnet_ref's own docstring"
    assert modules() <= set(documented), "a module without its section in the API reference"
    assert "| module |" not in page, "a second module table in the API reference"


def test_the_readme_points_to_the_list_instead_of_repeating_it():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`resnet_ref/__init__.py`" in readme
    rows = [name for name in modules() if re.search(rf"^\| `{name}` \|", readme, re.MULTILINE)]
    assert not rows, f"the README describes modules again: {rows}"
