"""Small computed tables, shown in a chapter's page as Markdown.

The chapters compute the numbers of their tables in code cells. Displayed as Markdown, such a
table becomes a real table in the built book (MyST-NB parses a cell's Markdown output) and in
Jupyter or Colab, where a printed one would be monospaced text. Every chapter shows its
tables this way, so the helper lives here once rather than in each chapter.
"""


def markdown_table(header: list[str], rows: list[list]) -> str:
    """The Markdown text of a table: a header row, a separator, one line per row.

    A cell is written with ``str``, so format numbers before passing them in.

    >>> print(markdown_table(["depth", "parameters"], [[20, "269,722"]]))
    | depth | parameters |
    |---|---|
    | 20 | 269,722 |
    """
    for row in rows:
        # A short row would shift the cells after it into the wrong columns without an error.
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells, the header {len(header)}: {row}")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def show_table(header: list[str], rows: list[list]) -> None:
    """Display :func:`markdown_table` of ``header`` and ``rows`` as the cell's output."""
    # IPython is there wherever a page runs, but resnet_ref itself does not need it.
    from IPython.display import Markdown, display

    display(Markdown(markdown_table(header, rows)))
