"""The Cython annotations' cache (benchmarks/annotate.py): the main job publishes after every
commit and pass, and `cython -a` of every source is compiled again only when a file it reads
changed.  What the pages show: tests/e2e/test_browser.py."""

import shutil
import subprocess

import pytest

import annotate
from helpers import REPO

pytestmark = pytest.mark.slow   # each compiles every Cython source, once or twice

NAV = '<ul><li id="nav-li-regressions"><a href="#/regressions">Regressions</a></li></ul>'


@pytest.fixture
def checkout(tmp_path):
    """A copy of the checkout's fibext/ sources, and a site with asv's navigation bar."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "fibext", root / "fibext",
                    ignore=shutil.ignore_patterns("*.so", "*.c", "__pycache__"))
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text(NAV)
    return root, html


def published(html):
    return {p.name: p.read_text() for p in sorted((html / "annotate").iterdir())}


def test_unchanged_sources_are_not_compiled_again(checkout, monkeypatch):
    root, html = checkout
    annotate.write_annotations(root, html)
    first = published(html)
    assert "_cyfib.html" in first and "_pyfib.html" in first

    def no_compiler(*args, **kwargs):
        raise AssertionError(f"cython ran again: {args[0][:4]}")
    with monkeypatch.context() as m:
        m.setattr(subprocess, "run", no_compiler)
        annotate.write_annotations(root, html)
    assert published(html) == first


def test_a_changed_source_is_compiled_again_and_the_old_pages_go(checkout):
    root, html = checkout
    annotate.write_annotations(root, html)
    cache = root / ".asv" / "annotate-cache"
    (before,) = [p.name for p in cache.iterdir()]
    source = root / "fibext" / "_cyfib.pyx"
    source.write_text(source.read_text() + "\n\ndef added_for_the_test():\n    return 1\n")
    annotate.write_annotations(root, html)
    assert "added_for_the_test" in (html / "annotate" / "_cyfib.html").read_text()
    (after,) = [p.name for p in cache.iterdir()]
    assert after != before
