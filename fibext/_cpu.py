"""What the machine says about its CPUs: the clock it states and the topology it shows.

Pure Python reading /proc and /sys, no compiled module: fibext.parallel's ``--smt`` prints
both, and the report (benchmarks/figures_cpu.py, which may run without fibext installed) reads
the clock to turn ns per call into estimated cycles per call.

Both are what the *guest* is told.  Under a hypervisor the stated clock is usually the TSC's
nominal rate, not the rate the core runs at (boost above it, scaling below it), and two vCPUs
shown as separate cores may be two hardware threads of one physical core.  fibext.parallel
measures both instead of believing them (its add-chain clock probe and ``--smt`` pairing).
"""

import os
import re
import statistics
from dataclasses import dataclass
from typing import Optional

CPUINFO = "/proc/cpuinfo"
SYSFS_CPU = "/sys/devices/system/cpu"

_MHZ = re.compile(r"^cpu MHz\s*:\s*([0-9.]+)\s*$", re.M)


@dataclass(frozen=True)
class Clock:
    """The clock the machine states: GHz (None where it states none) and where it was read."""

    ghz: Optional[float]
    source: str

    def __str__(self):
        return f"{self.ghz:.3f} GHz ({self.source})" if self.ghz else f"unknown ({self.source})"


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def stated_clock(cpuinfo_text=None, sysfs=SYSFS_CPU):
    """The clock this machine states, as a :class:`Clock`.

    /proc/cpuinfo's "cpu MHz" (the median over the CPUs that list one) first; else sysfs
    cpufreq's cpuinfo_max_freq (kHz) of cpu0; else Clock(None, ...).  cpuinfo_text replaces
    the file's contents (the tests pass their own).
    """
    text = _read(CPUINFO) if cpuinfo_text is None else cpuinfo_text
    mhz = [float(m) for m in _MHZ.findall(text or "")]
    mhz = [m for m in mhz if m > 0]
    if mhz:
        return Clock(statistics.median(mhz) / 1000,
                     f"/proc/cpuinfo cpu MHz, median of {len(mhz)} CPU(s)")
    khz = (_read(os.path.join(sysfs, "cpu0", "cpufreq", "cpuinfo_max_freq")) or "").strip()
    if khz.isdigit() and int(khz) > 0:
        return Clock(int(khz) / 1e6, "sysfs cpufreq cpuinfo_max_freq of cpu0")
    return Clock(None, "no cpu MHz in /proc/cpuinfo and no sysfs cpufreq")


def _cpu_list(text):
    """'0-2,5' -> (0, 1, 2, 5)."""
    out = []
    for part in (text or "").strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return tuple(out)


@dataclass(frozen=True)
class CpuTopology:
    """Where one CPU (a hardware thread as the kernel numbers it) sits, as sysfs shows it."""

    cpu: int
    core_id: Optional[int]
    package_id: Optional[int]
    siblings: tuple  # the CPUs sharing its core (thread_siblings_list), itself included


def topology(sysfs=SYSFS_CPU):
    """{cpu: CpuTopology} of every CPU with a topology directory in sysfs ({} where none)."""
    out = {}
    try:
        names = os.listdir(sysfs)
    except OSError:
        return out
    for name in names:
        if not re.fullmatch(r"cpu\d+", name):
            continue
        base = os.path.join(sysfs, name, "topology")
        if not os.path.isdir(base):
            continue
        cpu = int(name[3:])
        fields = {key: (_read(os.path.join(base, key)) or "").strip()
                  for key in ("core_id", "physical_package_id", "thread_siblings_list")}
        out[cpu] = CpuTopology(
            cpu=cpu,
            core_id=int(fields["core_id"]) if fields["core_id"].lstrip("-").isdigit() else None,
            package_id=(int(fields["physical_package_id"])
                        if fields["physical_package_id"].lstrip("-").isdigit() else None),
            siblings=_cpu_list(fields["thread_siblings_list"]) or (cpu,),
        )
    return dict(sorted(out.items()))


def threads_per_core(topo):
    """The most CPUs sharing one core in topo (1: no SMT visible), or None for an empty topo."""
    return max((len(t.siblings) for t in topo.values()), default=None)


def describe_topology(topo):
    """One line: threads per core and each CPU's core and siblings, as the guest sees them."""
    if not topo:
        return "topology: not shown by this system (no /sys/devices/system/cpu/cpu*/topology)"
    cpus = "; ".join(f"cpu{t.cpu}: core {t.core_id}, package {t.package_id}, siblings "
                     f"{','.join(map(str, t.siblings))}" for t in topo.values())
    return f"topology as the guest sees it: {threads_per_core(topo)} thread(s) per core ({cpus})"
