"""The control line: telling a disturbed machine from a changed commit.

bench_fib.Control times a pure-Python loop that lives in the benchmark suite, not in fibext: the
same code in the same interpreter at every commit, sampled in the same processes and rounds as
every fib line.  Its published figure moves only when the machine does.  A commit whose control
stands more than the control's threshold (asv.conf.json, the one the Regressions page uses for
it) above the median of the commits' controls was measured while something slowed the machine
(docs/measuring.md, "The control line", has what was seen).  The main job and the drill
measure that commit's sampled lines again, minutes later; a commit that still stands out has its sampled
lines withheld (taken out of its results, so asv measures them on the next run) instead of
published as a false step.  The gate, which measures base and head side by side, gives no time
verdict on the sampled lines when the control moved between them.
"""

import re
import statistics
import time

from asvresults import is_na, results_of
from repo import threshold_for

CONTROL = "bench_fib.Control.track_call"
#: The benchmarks sampled in the control's processes and rounds (one setup_cache): measured
#: again, and withheld, together.
SAMPLED = r"^bench_fib\."
#: Rounds of measuring again before a commit's sampled lines are withheld, and the pause
#: before each round after the first: a short disturbance passes, a long one ends withheld.
ROUNDS = 2
PAUSE = 60


def tolerance(thresholds):
    """How far above the others a commit's control may stand: the control's own threshold."""
    return threshold_for(thresholds, CONTROL)


def levels(results_dir, machine, commits):
    """{commit: the control's published figure} of the commits that have one."""
    wanted, found = set(commits), {}
    for result in results_of(results_dir, machine):  # per commit, the newest run first
        if (result.commit_hash in wanted and result.commit_hash not in found
                and CONTROL in result.get_all_result_keys()):
            (value,) = result.get_result_value(CONTROL, [])  # one line: no parameters
            if not is_na(value):
                found[result.commit_hash] = value
    return found


def disturbed(levels, tolerance):
    """{commit: its control / the median of every commit's control} of the commits whose
    control stands more than tolerance above that median.  The median, not the fastest: one
    commit sampled in an unusually fast window must not condemn all the others."""
    if len(levels) < 2:
        return {}
    middle = statistics.median(levels.values())
    return {c: v / middle for c, v in levels.items() if v > middle * (1 + tolerance)}


def _listed(found):
    return ", ".join(f"{c[:8]} {ratio:.2f}x" for c, ratio in sorted(found.items(),
                                                                    key=lambda kv: -kv[1]))


def withhold(results_dir, machine, commits):
    """Take the sampled lines of commits out of their results files (asv measures what a
    commit lacks on the next run); the number of lines taken out."""
    removed = 0
    for result in results_of(results_dir, machine):
        if result.commit_hash not in commits:
            continue
        keys = [k for k in result.get_all_result_keys() if re.match(SAMPLED, k)]
        for key in keys:
            result.remove_result(key)
        if keys:
            result.save(str(results_dir))
            removed += len(keys)
    return removed


def measure_again(run, results_dir, machine, commits, thresholds, rounds=ROUNDS, pause=PAUSE):
    """Measure again, up to rounds times, the sampled lines of every commit whose control
    stands out; withhold them where it still does.  run(commits) runs asv on those commits
    (the SAMPLED benchmarks, or those of them the caller measures).  Returns {commit: control
    ratio} of the commits withheld."""
    limit = tolerance(thresholds)
    for attempt in range(1, rounds + 1):
        found = disturbed(levels(results_dir, machine, commits), limit)
        if not found:
            return {}
        print(f"\nthe control line stands more than {100 * limit:.0f}% above the commits' "
              f"median at {len(found)} commit(s) ({_listed(found)}): the same code ran that much "
              f"slower while they were sampled; measuring their fib lines again ({attempt} of "
              f"{rounds})", flush=True)
        if attempt > 1:
            time.sleep(pause)
        run(sorted(found))
    found = disturbed(levels(results_dir, machine, commits), limit)
    if found:
        removed = withhold(results_dir, machine, set(found))
        print(f"\nWITHHELD: the control line still stands out at {_listed(found)} after "
              f"{rounds} new measurements (the same pure-Python loop, that much slower than at "
              f"the other commits), so their {removed} sampled line(s) are not published (a "
              "false step otherwise); the next run of the main job measures them again.",
              flush=True)
    return found
