"""Check asv's fib timings against pyperf's, for every variant and n.

Run right after the main job (same machine, same load), with the checkout's fibext installed:
prints asv's figure from the newest commit's results (the one it publishes), pyperf timeit's
fastest value, and their ratio.  The fib benchmarks are
designed (bench_fib.py) to agree within 5%.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import repo
import report


def pyperf_ns(variant, n):
    """pyperf timeit's fastest value for fib(n) of one variant, in ns."""
    import pyperf

    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "timeit.json"  # pyperf refuses to overwrite a file
        subprocess.run(
            [sys.executable, "-m", "pyperf", "timeit", "--quiet", "--fast", "--output", str(out),
             "--setup", f"from fibext import VARIANTS; fib = VARIANTS[{variant!r}]; n = {n}",
             "fib(n)"], check=True, cwd=tmp)
        return min(pyperf.Benchmark.load(str(out)).get_values()) * 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", default=repo.stable_machine_name())
    parser.add_argument("--n", type=int, action="append", help="n to check (default 0 and 90)")
    args = parser.parse_args(argv)
    _, values = report.latest_results(repo.RESULTS, args.machine)
    fib = values[report.FIB]
    print(f"{'variant':<16}{'n':>4}{'asv ns':>10}{'pyperf ns':>11}{'asv/pyperf':>12}")
    worst = 0.0
    for (variant, n), asv_ns in fib.items():
        if int(n) not in (args.n or [0, 90]) or asv_ns is None:
            continue
        ref = pyperf_ns(variant.strip("'"), int(n))
        worst = max(worst, abs(asv_ns / ref - 1))
        print(f"{variant.strip(chr(39)):<16}{n:>4}{asv_ns:>10.1f}{ref:>11.1f}{asv_ns / ref:>12.3f}")
    print(f"largest disagreement: {worst:.1%}")
    print(json.dumps({"largest_disagreement": worst}))


if __name__ == "__main__":
    main()
