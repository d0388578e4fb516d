"""`cython -a` pages of every Cython source of fibext, published beside the benchmark history.

Cython's annotation shades each source line by how much of its generated C calls into the
Python C-API (the book's "yellow lines"; a white line is plain C) and unfolds the C on a click.
write_annotations() runs `cython -a` on every fibext/*.pyx, and on fibext/_pyfib.py (compiled
unchanged as the cython_untyped variant), in a scratch copy so the checkout gets no generated
files, and writes <html>/annotate/<module>.html with an index page that lists each file's
yellow lines.  The site's navigation bar links to it.  Cython's pages are cached by what they
are made from, so a publish of unchanged sources does not compile them again.

The pages must work offline like the rest of the site: any page that refers to another host
is an error.  The link to the generated .c (not published: each line unfolds its own C) is
turned into plain text.
"""

import hashlib
import html
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import sitepages

# Sources Cython compiles: every .pyx, and the pure-Python file compiled unchanged.
EXTRA_SOURCES = ["_pyfib.py"]
# Files the compiler reads besides the sources (cimports, cdef extern headers).
COPIED = ("*.pyx", "*.pxd", "*.py", "*.h")
LISTED = 12  # yellow lines listed per file on the index page (in source order)

_LINE = re.compile(r'<pre class="cython line score-(\d+)"[^>]*>(.*?)</pre>', re.S)
_TAG = re.compile(r"<[^>]+>")
_EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|"""
                       r"""url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|@import""", re.I)


class AnnotateError(RuntimeError):
    """Cython failed on a source, or wrote a page that would reach off this machine."""


def sources(package_dir):
    """The Cython sources of the package, in name order."""
    package_dir = pathlib.Path(package_dir)
    found = sorted(package_dir.glob("*.pyx")) + [package_dir / name for name in EXTRA_SOURCES]
    return [path for path in found if path.exists()]


def line_scores(page):
    """[(line number, score, source text)] of one annotation page (score: C-API weight)."""
    rows = []
    for number, (score, body) in enumerate(_LINE.findall(page), start=1):
        text = html.unescape(_TAG.sub("", body))
        # "+01: code" or "\xa002: code": drop the fold marker and the line number.
        text = text.split(": ", 1)[1] if ": " in text else ""
        rows.append((number, int(score), text.rstrip()))
    return rows


def _publishable(page, name):
    """The page with its link to the unpublished .c as text; refuses any external reference."""
    page = re.sub(r'<a href="([^"/]+\.c)">\1</a>',
                  r"<code>\1</code> (not published: click a line marked + to see its C)", page)
    page = page.replace(
        '<body class="cython">',
        '<body class="cython">\n<p><a href="index.html">All annotations</a> | '
        '<a href="../index.html">Benchmark history</a></p>', 1)
    external = _EXTERNAL.search(page)
    if external:
        raise AnnotateError(f"{name} refers off this machine: {external.group(0)!r}")
    return page


def write_annotations(repo_root, html_dir, cache_dir=None):
    """Write <html_dir>/annotate/ (one page per Cython source, and index.html); return it.

    Cython's pages are kept in cache_dir (default <repo_root>/.asv/annotate-cache) under the
    digest of what they are made from (the compiler's version and every file it reads), so a
    publish of unchanged sources, which the main job makes after every commit and pass,
    reuses them instead of compiling every source again (about 3 s a publish)."""
    repo_root, html_dir = pathlib.Path(repo_root), pathlib.Path(html_dir)
    out = html_dir / "annotate"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    files = sources(repo_root / "fibext")
    pages = _cython_pages(repo_root / "fibext", files,
                          pathlib.Path(cache_dir or repo_root / ".asv" / "annotate-cache"))
    summary = []
    for path in files:
        name = path.stem + ".html"
        page = (pages / name).read_text(encoding="utf-8")
        (out / name).write_text(_publishable(page, name), encoding="utf-8")
        summary.append((path.name, name, line_scores(page)))
    (out / "index.html").write_text(_index_page(summary), encoding="utf-8")
    sitepages.add_nav_link(html_dir, "annotate", "annotate/index.html", "Cython annotations")
    return out


def _inputs(package_dir):
    """The files the compiler reads (COPIED's), in name order."""
    return sorted({path for pattern in COPIED for path in package_dir.glob(pattern)})


def _cython_pages(package_dir, files, cache):
    """The directory holding `cython -a`'s page of each of files: the cached one for these
    inputs, or one made now (the cache keeps the newest inputs' pages only)."""
    import Cython
    inputs = _inputs(package_dir)
    digest = hashlib.sha256(f"Cython {Cython.__version__}".encode())
    for path in inputs:
        digest.update(f"\0{path.name}\0".encode() + path.read_bytes())
    digest.update("\0".join(path.name for path in files).encode())
    pages = cache / digest.hexdigest()[:16]
    if pages.is_dir():
        return pages
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        package = pathlib.Path(tmp) / "fibext"
        package.mkdir()
        for path in inputs:
            shutil.copy2(path, package / path.name)
        # One compiler process for all files; -I finds "fibext.<name>" cimports; each file's
        # own "# cython:" lines set its directives, as in the build.
        command = [sys.executable, "-m", "cython", "-a", "-I", tmp,
                   *[str(package / path.name) for path in files]]
        done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            raise AnnotateError(f"cython -a failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        made = pathlib.Path(tmp) / "pages"
        made.mkdir()
        for path in files:
            shutil.copy2(package / (path.stem + ".html"), made)
        for old in cache.iterdir():
            if old.is_dir() and old.name != pathlib.Path(tmp).name:
                shutil.rmtree(old, ignore_errors=True)
        made.rename(pages)   # whole or not at all: a publish cut short leaves no half cache
    return pages


def _index_page(summary):
    rows = []
    for source, page, scores in summary:
        yellow = [row for row in scores if row[1] > 0]
        named = "<br>".join(f"{number}: <code>{html.escape(text.strip()[:80])}</code> ({score})"
                            for number, score, text in yellow[:LISTED])
        if len(yellow) > LISTED:
            named += f"<br>and {len(yellow) - LISTED} more"
        rows.append(f'<tr><td><a href="{page}">{html.escape(source)}</a></td>'
                    f"<td>{len(scores)}</td><td>{len(yellow)}</td><td>{named}</td></tr>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>fibext: Cython annotations"
        "</title><style>body{font-family:sans-serif;margin:1.5em}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
        "table{border-collapse:collapse}</style></head><body>"
        "<h1>Cython annotations (<code>cython -a</code>)</h1>"
        "<p>Each source line is shaded by how much of the C that Cython generated for it "
        "calls into the Python C-API: white lines are plain C, the yellower the more C-API "
        "calls (reference counting, boxing, exceptions).  Click a line marked + to see its C.  "
        "The score in brackets is Cython's own weight of those calls.  "
        '<a href="../index.html">Back to the benchmark history</a>.</p>'
        "<table><tr><th>source</th><th>lines</th><th>lines calling the C-API</th>"
        f"<th>the first of them (line: code (score))</th></tr>{''.join(rows)}</table>"
        "</body></html>\n")


if __name__ == "__main__":
    root = pathlib.Path(__file__).resolve().parent.parent
    print(write_annotations(root, sys.argv[1] if len(sys.argv) > 1 else root / ".asv" / "html"))
