"""python -m fibext: every variant's fib(0) and fib(90), measured live on this machine.

Times each call as pyperf timeit does (a loop of calls), keeping the best of rounds that take
every case in turn; compare rows as ratios from one run: absolute nanoseconds depend on the
machine and its load.
"""

import argparse
import platform
import sys
import timeit

import fibext
from fibext import _capi

NS = (0, 90)


def calibrated_timer(func, n, target_s):
    """(timer, number): a timeit loop of func(n) sized to take about target_s seconds."""
    timer = timeit.Timer("func(n)", globals={"func": func, "n": n})
    number = 1
    while True:  # as timeit.autorange does, to a shorter target
        elapsed = timer.timeit(number)
        if elapsed >= target_s / 10:
            break
        number *= 10
    return timer, max(1, int(number * target_s / max(elapsed, 1e-9)))


def best_ns_per_call(cases, target_s, rounds):
    """{key: best ns per call} for cases {key: (func, n)}, timed in interleaved rounds.

    Round after round every case is timed once and the fastest round kept: on a shared
    machine another process only ever adds time, and interleaving spreads it over all cases
    instead of charging one of them.
    """
    timers = {key: calibrated_timer(func, n, target_s) for key, (func, n) in cases.items()}
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for key, (timer, number) in timers.items():
            best[key] = min(best[key], timer.timeit(number) / number * 1e9)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fibext", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter, noisier measurement (for smoke tests)")
    args = parser.parse_args(argv)
    # Short samples, many rounds: a sample of a few ms often runs between two preemptions.
    target_s, repeat = (0.0005, 3) if args.quick else (0.002, 50)

    cases = {(spec.name, n): (fibext.VARIANTS[spec.name], n)
             for spec in fibext.VARIANT_SPECS for n in NS}
    cases["noop", 0] = (_capi.noop, 0)
    best = best_ns_per_call(cases, target_s, repeat)
    rows = [(spec.name, best[spec.name, 0], best[spec.name, 90], spec.description)
            for spec in fibext.VARIANT_SPECS]
    python0, python90 = rows[0][1], rows[0][2]
    loops = 1_000 if args.quick else 10_000
    c0, c90 = (fibext.time_c(n, loops=loops, repeat=repeat) for n in NS)
    floor = best["noop", 0]

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
