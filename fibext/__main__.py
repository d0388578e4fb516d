"""python -m fibext: every variant's fib(0) and fib(90), measured live on this machine.

Times each call as pyperf timeit does (a loop of calls, best of several repeats), so compare
rows as ratios from one run: absolute nanoseconds depend on the machine and its load.
"""

import argparse
import platform
import sys
import timeit

import fibext
from fibext import _capi

NS = (0, 90)


def ns_per_call(func, n, target_s, repeat):
    """Best of repeat timings of `func(n)`, each a loop sized to take about target_s seconds."""
    timer = timeit.Timer("func(n)", globals={"func": func, "n": n})
    number = 1
    while True:  # calibrate as timeit.autorange does, but to a shorter target
        elapsed = timer.timeit(number)
        if elapsed >= target_s / 10:
            break
        number *= 10
    number = max(1, int(number * target_s / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat, number)) / number * 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fibext", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter, noisier measurement (for smoke tests)")
    args = parser.parse_args(argv)
    target_s, repeat = (0.002, 2) if args.quick else (0.02, 7)

    rows = []
    for spec in fibext.VARIANT_SPECS:
        func = fibext.VARIANTS[spec.name]
        rows.append((spec.name, *(ns_per_call(func, n, target_s, repeat) for n in NS),
                     spec.description))
    python0, python90 = rows[0][1], rows[0][2]
    loops = 2_000 if args.quick else 200_000
    c0, c90 = (fibext.time_c(n, loops=loops, repeat=repeat) for n in NS)
    floor = ns_per_call(_capi.noop, 0, target_s, repeat)

    print(f"fibext {fibext.__version__}: ns per call (lower is better), speedup over python")
    print(f"{platform.python_implementation()} {platform.python_version()} on "
          f"{platform.machine()} {platform.processor() or platform.system()}, "
          f"{sys.platform}")
    header = f"{'variant':<19}{'fib(0) ns':>11}{'fib(90) ns':>12}{'x fib(0)':>10}{'x fib(90)':>11}  what"
    print(header)
    print("-" * len(header))
    for name, t0, t90, what in rows:
        print(f"{name:<19}{t0:>11.1f}{t90:>12.1f}{python0 / t0:>10.1f}{python90 / t90:>11.1f}  {what}")
    for name, t0, t90, what in (
        ("pure C latency", c0.latency_ns, c90.latency_ns,
         "cfib() from C, each call waiting for the last"),
        ("pure C throughput", c0.throughput_ns, c90.throughput_ns,
         "cfib() from C, back-to-back calls overlapped"),
    ):
        speedup0 = f"{python0 / t0:>10.1f}" if t0 > 0 else f"{'-':>10}"
        print(f"{name:<19}{t0:>11.1f}{t90:>12.1f}{speedup0}{python90 / t90:>11.1f}  {what}")
    print(f"{'no-op METH_O call':<19}{floor:>11.1f}{'':>12}{'':>10}{'':>11}  the floor under any call")


if __name__ == "__main__":
    main()
