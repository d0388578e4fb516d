"""Tables for the tools' text output (Markdown) and the report's pages (HTML), written once.

A leaf: it imports no other tool.  A row is a sequence of cells already formatted as text.
"""

import html


def markdown_table(header, rows, align=None):
    """A Markdown table; align: one of "l"/"r" per column (default: left)."""
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(header, rows, align=None, caption=None):
    """An HTML table in the site's (Bootstrap's) look; cells are escaped."""
    align = align or "l" * len(header)
    style = [' style="text-align:right"' if a == "r" else "" for a in align]
    out = ['<table class="table table-condensed table-striped">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th{s}>{html.escape(str(h))}</th>"
                                       for h, s in zip(header, style)) + "</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td{s}>{html.escape(str(cell))}</td>"
                                    for cell, s in zip(row, style)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
