"""The chapters' Markdown tables (resnet_ref.tables)."""

import IPython.display
import pytest

from resnet_ref.tables import markdown_table, show_table


def test_a_table_is_a_header_a_separator_and_a_line_per_row():
    text = markdown_table(["network", "parameters"], [["resnet20", "269,722"], ["resnet32", 7]])
    assert text.split("\n") == [
        "| network | parameters |",
        "|---|---|",
        "| resnet20 | 269,722 |",
        "| resnet32 | 7 |",
    ]


def test_cells_are_written_as_str_and_rows_may_be_tuples():
    assert markdown_table(["x"], [(0.5,), (None,)]).split("\n")[2:] == ["| 0.5 |", "| None |"]


def test_a_table_without_rows_keeps_its_header():
    assert markdown_table(["a", "b", "c"], []) == "| a | b | c |\n|---|---|---|"


@pytest.mark.parametrize("row", [["only one"], ["one", "two", "three"]])
def test_a_row_that_does_not_fit_the_header_is_refused(row):
    with pytest.raises(ValueError, match="cells"):
        markdown_table(["a", "b"], [["fits", "here"], row])


def test_show_table_displays_the_table_as_markdown(monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    show_table(["a", "b"], [[1, 2]])
    assert len(shown) == 1
    assert isinstance(shown[0], IPython.display.Markdown)
    assert shown[0].data == markdown_table(["a", "b"], [[1, 2]])
