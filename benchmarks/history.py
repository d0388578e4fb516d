"""The main job: benchmark the recent history of main with asv and publish it, offline.

Registers this machine under a stable name, runs asv on the last N commits of main that have
no results yet, publishes the site, makes it work with no network (vendor.py), writes the
report into it (report.py), and says where to open it.  Run again with nothing new, it only
republishes.  asv saves each commit's results as soon as that commit is done, so an
interrupted run loses no saved result, and the next run carries on from there.
"""

import argparse
import json
import os
import pathlib
import platform
import re
import subprocess
import sys

import annotate
import report
import vendor

ROOT = pathlib.Path(__file__).resolve().parent.parent
HTML = ROOT / ".asv" / "html"
RESULTS = ROOT / ".asv" / "results"
PORT = 8080


def stable_machine_name():
    """Same name every run on the same hardware, whatever the VM's hostname is today."""
    model = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1]
                break
    except OSError:
        pass
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    return f"{slug}-{os.cpu_count()}cpu"


def asv(*args, check=True):
    command = [sys.executable, "-m", "asv", *args]
    print("+ asv", " ".join(args), flush=True)
    return subprocess.run(command, cwd=ROOT, check=check).returncode


def recent_commits(count, branch):
    out = subprocess.run(["git", "rev-list", "--first-parent", f"-n{count}", branch],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return out.split()


def fill_unmeasured_summaries(html_dir):
    """An empty summary graph for each benchmark that has no result yet (new, or left out with
    --bench): asv publish writes none, and the grid's request for it would end in a 404."""
    summary = pathlib.Path(html_dir) / "graphs" / "summary"
    summary.mkdir(parents=True, exist_ok=True)
    for name in json.loads((pathlib.Path(html_dir) / "index.json").read_text())["benchmarks"]:
        path = summary / f"{name}.json"
        if not path.exists():
            path.write_text("[]")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--commits", type=int, default=10,
                        help="how many of main's newest commits to benchmark (default 10)")
    parser.add_argument("--machine", default=os.environ.get("FIBEXT_MACHINE") or stable_machine_name(),
                        help="the name results are kept under (default: from the CPU model)")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--bench", action="append", default=[],
                        help="only benchmarks matching this regex (asv run --bench)")
    parser.add_argument("--quick", action="store_true",
                        help="one sample per benchmark (asv run --quick): a smoke test")
    parser.add_argument("--publish-only", action="store_true",
                        help="measure nothing: publish the results already in .asv/results, "
                             "e.g. gathered from several machines (the report is --machine's)")
    args = parser.parse_args(argv)
    if args.commits < 1:
        parser.error(f"--commits must be at least 1, got {args.commits}")

    status = 0 if args.publish_only else measure(args)
    asv("publish")
    fill_unmeasured_summaries(HTML)
    vendor.make_offline(HTML, ROOT / ".asv" / "vendor-cache")
    report_dir = report.write_report(HTML, RESULTS, args.machine,
                                     tip=recent_commits(1, args.branch)[0])
    annotate_dir = annotate.write_annotations(ROOT, HTML)

    machines = sorted(p.parent.name for p in RESULTS.glob("*/machine.json"))
    print()
    print(f"Published the results of {len(machines)} machine(s): {', '.join(machines)}")
    print(f"  site:    {HTML}/index.html")
    print(f"  report:  {report_dir}/index.html (machine {args.machine}; "
          f"table: {report_dir}/fib-table.md)")
    print(f"  cython -a: {annotate_dir}/index.html")
    print("  preview: python3 -m http.server --bind 127.0.0.1 --directory "
          f"{os.path.relpath(HTML)} {PORT}   then open http://127.0.0.1:{PORT}/")
    return 1 if status == 2 else 0


def measure(args):
    """Benchmark main's newest commits that have no results on this machine; asv's status."""
    asv("machine", "--yes", "--machine", args.machine)
    hashes = recent_commits(args.commits, args.branch)
    hashfile = ROOT / ".asv" / "hashes-to-run.txt"
    hashfile.parent.mkdir(exist_ok=True)
    hashfile.write_text("\n".join(hashes) + "\n")
    # --record-samples: the noise report (benchmarks/noise.py) and asv's significance test
    # (Mann-Whitney U) need the samples, not only the median and quartiles.
    run = ["run", f"HASHFILE:{hashfile}", "--machine", args.machine,
           "--skip-existing-commits", "--show-stderr", "--record-samples"]
    for pattern in args.bench:
        run += ["--bench", pattern]
    if args.quick:
        run.append("--quick")
    status = asv(*run, check=False)
    # 2: some benchmark failed (its result is recorded as failed); anything else is fatal.
    if status not in (0, 2):
        sys.exit(f"asv run failed with exit code {status}")
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # asv writes each commit's results when that commit is done: those stay.
        sys.exit("interrupted: the commits already measured are saved; run again to carry on")
