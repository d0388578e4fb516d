"""Pages added to asv's published site (the report, the annotations), in the site's own look.

A leaf: it imports no other tool.
"""

import html
import pathlib
import re


def add_nav_link(html_dir, nav_id, href, label):
    """Add an item to the navigation bar of the site's index page (once)."""
    index = pathlib.Path(html_dir) / "index.html"
    page = index.read_text()
    link = f'<li id="nav-li-{nav_id}"><a href="{href}">{label}</a></li>'
    if link not in page:
        anchor = '<li id="nav-li-regressions">'
        if anchor not in page:
            raise ValueError(f"{index} has no navigation bar to add {label!r} to")
        page = page.replace(anchor, link + "\n\t" + anchor, 1)
        index.write_text(page)


def load_script(html_dir, script):
    """Make the site's index page load script (a file of html_dir) after asv's graphdisplay.js,
    so that flot and jQuery are there when it runs (once)."""
    index = pathlib.Path(html_dir) / "index.html"
    page = index.read_text()
    tag = f'<script type="text/javascript" src="{script}"></script>'
    if tag not in page:
        anchor = re.search(r'src="graphdisplay\.js">\s*</script>', page)
        if anchor is None:
            raise ValueError(f"{index} does not load graphdisplay.js: nowhere to add {script}")
        page = page[:anchor.end()] + "\n    " + tag + page[anchor.end():]
        index.write_text(page)


def page(title, body, root=".."):
    """A whole page: Bootstrap and asv's stylesheet from the site (root: the relative path to
    the site's top), a link back to the history, the body's HTML, nothing from elsewhere."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="{root}/vendor/bootstrap.min.css">
<link rel="stylesheet" href="{root}/asv.css">
<style>
body {{ padding: 1em 2em; max-width: 1200px; }}
img {{ max-width: 100%; height: auto; }}
pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
td, th {{ overflow-wrap: anywhere; }}
</style>
</head><body>
<p><a href="{root}/index.html">&larr; the benchmark history</a></p>
{body}
</body></html>
"""
