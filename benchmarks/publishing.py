"""Publishing: asv publish, then what makes the site whole and offline (vendor.py), its step
markers (stepmarks.py), its uncertainty bands (bands.py), the report (report.py) and the Cython annotations (annotate.py).  Also
the two things done to results before anything reads them: unreadable files set aside, and
--quick's separate results and site."""

import datetime
import json
import pathlib
import shutil

import annotate
import bands
import repo
import report
import stepmarks
import vendor
from repo import ROOT

#: Where --quick keeps its results and site, apart from the history.
QUICK = ROOT / ".asv" / "quick"
#: Where results files that could not be read are set aside (never deleted).
QUARANTINE = ROOT / ".asv" / "quarantine"
#: The site's JavaScript libraries, fetched once (vendor.py).
VENDOR_CACHE = ROOT / ".asv" / "vendor-cache"
#: Written into the site when publish() has finished: a site without it, or older than the
#: newest results, was cut short or is out of date.
DONE = ".fibext-published"


def quick_config(pythons=None):
    """A copy of asv.conf.json whose results and site live in .asv/quick/ (the environments
    are shared), on pythons where given: the arguments that make asv use it."""
    return repo.config_copy(QUICK / "asv.conf.json", pythons=pythons,
                            results_dir=QUICK / "results", html_dir=QUICK / "html")


def set_aside_unreadable(results_dir, quarantine=QUARANTINE):
    """Move every results file that is not valid JSON (a run killed while asv wrote it, a full
    disk) to quarantine/, so asv can measure that commit again; the paths moved."""
    moved = []
    for path in sorted(pathlib.Path(results_dir).glob("*/*.json")):
        try:
            json.loads(path.read_text())
            continue
        except (ValueError, UnicodeDecodeError):
            pass
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
        target = quarantine / path.parent.name / f"{path.name}.{stamp}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
        print(f"set aside an unreadable results file: {path} -> {target} "
              "(that commit will be measured again)", flush=True)
        moved.append(target)
    return moved


def fill_unmeasured_summaries(html_dir):
    """An empty summary graph for each benchmark that has no result yet (new, or left out with
    --bench): asv publish writes none, and the grid's request for it would end in a 404."""
    summary = pathlib.Path(html_dir) / "graphs" / "summary"
    summary.mkdir(parents=True, exist_ok=True)
    for name in json.loads((pathlib.Path(html_dir) / "index.json").read_text())["benchmarks"]:
        path = summary / f"{name}.json"
        if not path.exists():
            path.write_text("[]")


def publish(settings):
    """asv publish, offline, with the report and the annotations; the report's directory."""
    repo.asv("publish", *settings.config, capture=True)
    html = pathlib.Path(settings.html)
    fill_unmeasured_summaries(html)
    vendor.make_offline(html, VENDOR_CACHE)
    stepmarks.write(html, repo.load_thresholds()[0])
    bands.write(html, settings.results)
    commits = repo.git("rev-list", "--first-parent", "--reverse",
                       repo.commit_of(settings.branch)).split()
    report_dir = report.write_report(html, settings.results, settings.machine, commits[-1],
                                     commits)
    annotate.write_annotations(ROOT, html)
    (html / DONE).touch()
    return report_dir


def stale(settings):
    """Whether the site misses results it could show (or was cut short while published)."""
    done = pathlib.Path(settings.html) / DONE
    newest = [p.stat().st_mtime
              for p in (pathlib.Path(settings.results) / settings.machine).glob("*.json")]
    return bool(newest) and (not done.exists() or done.stat().st_mtime < max(newest))
