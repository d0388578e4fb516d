"""The drill's injected changes: text edits of a scratch clone's fibext sources, one commit
each (COMMITS), with what each must make the history report.  Each edit fails loudly if its
anchor text is gone (the drill must then be updated, not silently inject nothing).
"""

import pathlib
import re
from dataclasses import dataclass, field

import repo
from repo import ROOT

#: cfib's loop with `extra` dependent multiplications by 1.0 every `every` iterations: the
#: result is bit-identical, the dependency chain (and the time) longer.  The empty asm hides
#: the 1.0 from the compiler (it must keep the multiplications) and costs nothing; a volatile
#: 1.0 instead, loaded in the loop, made the time bimodal here (1.2x or 2.3x per process).
SLOW_FIB_C = """\
/* drill: cfib with `extra` dependent multiplications by 1.0 every `every` iterations */
static double
fibext_drill_fib(int n, int extra, int every)
{
    double a = 0.0, b = 1.0, t, one = 1.0;
    __asm__ ("" : "+m" (one));  /* the compiler no longer knows that one is 1.0 */
    for (int i = 0; i < n; i++) {
        t = a;
        a = a + b;
        b = t;
        if (i % every == 0) {
            for (int j = 0; j < extra; j++) {
                a *= one;
            }
        }
    }
    return a;
}
"""
#: (b) typed Cython: 2 multiplications on every iteration's add (fib(90) ~2.8x; fib(0)
#: unchanged; the commit's nominal_step).
CYTHON_EXTRA = 2
#: (c) C-API: one multiplication every 4th iteration (fib(90) ~+20%, more on some hosts).
CAPI_EVERY = 4
#: (d) capi_varargs: this many nops per call (exactly this many instructions more).
NOPS = 15


def _replace(path, old, new):
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"drill: {path.name} no longer contains the text to replace:\n{old}")
    path.write_text(text.replace(old, new, 1))


def readme_line(clone, k):
    with open(clone / "README.md", "a") as f:
        f.write(f"\nDrill note {k}: documentation only.\n")


def c_comment(clone):
    path = clone / "fibext" / "_capi.c"
    path.write_text("/* drill: a comment that changes nothing measurable */\n" + path.read_text())


def pyx_comment(clone):
    _replace(clone / "fibext" / "_cyfib_cpdef.pyx", "\nfrom fibext._contract",
             "\n# drill: a comment that changes nothing measurable\nfrom fibext._contract")


def slow_cython(clone, extra=CYTHON_EXTRA):
    path = clone / "fibext" / "_cyfib.pyx"
    verbatim = "\n".join("    " + line if line else "" for line in SLOW_FIB_C.splitlines())
    _replace(path, "\n\ndef fib(n, /):",
             f'\n\ncdef extern from *:\n    """\n{verbatim}\n    """\n'
             "    double fibext_drill_fib(int n, int extra, int every)\n\n\ndef fib(n, /):")
    _replace(path, "    cdef int _i\n    cdef double a = 0.0, b = 1.0\n    for _i in range(k):\n"
                   "        a, b = a + b, a\n    return a\n",
             f"    return fibext_drill_fib(k, {extra}, 1)\n")


def slow_capi(clone, every=CAPI_EVERY):
    path = clone / "fibext" / "_capi.c"
    _replace(path, "PyDoc_STRVAR(fib_doc,", SLOW_FIB_C + "\nPyDoc_STRVAR(fib_doc,")
    _replace(path, "    return PyFloat_FromDouble(cfib(n));",
             f"    return PyFloat_FromDouble(fibext_drill_fib(n, 1, {every}));")


def nops_capi_varargs(clone, nops=NOPS):
    _replace(clone / "fibext" / "_capi.c", '    return Py_BuildValue("d", cfib(n));',
             f'    __asm__ __volatile__(".rept {nops}\\n\\tnop\\n\\t.endr");\n'
             '    return Py_BuildValue("d", cfib(n));')


#: (f) the order in which the sequential float64 sum reads its n elements: sweep o (0..7)
#: reads elements o, o + 8, o + 16, ... so consecutive reads are one 64-byte line apart.  The
#: same elements, the same sums per accumulator order aside; only the access pattern changes.
STRIDED_ORDER_C = """\
/* drill: read element j of a sequential sweep as a line-strided one */
#define FIBEXT_DRILL_STRIDED(j, n) \\
    ((j) < (n) / 8 * 8 ? (j) % ((n) / 8) * 8 + (j) / ((n) / 8) : (j))
"""
STRIDED_ORDER_PYX = """\
cdef inline Py_ssize_t _drill_strided(Py_ssize_t j, Py_ssize_t n) noexcept nogil:
    # drill: read element j of a sequential sweep as a line-strided one
    cdef Py_ssize_t q = n // 8
    return j % q * 8 + j // q if j < q * 8 else j


"""


def _within(text, start, end, pattern, replacement):
    """text with pattern replaced inside the span that starts at `start` and ends at the first
    `end` after it (one function); an error if the span or any match is missing."""
    first = text.find(start)
    last = text.find(end, first + len(start)) if first >= 0 else -1
    body, count = re.subn(pattern, replacement, text[first:last]) if last > 0 else ("", 0)
    if count == 0:
        raise RuntimeError(f"drill: no {pattern!r} in the function starting {start!r}")
    return text[:first] + body + text[last:]


def strided_sequential(clone):
    """(f) The sequential float64 sum, C and Cython, reads its n elements one cache line apart
    (8 sweeps): past the first level every read misses instead of one in 8."""
    fibext = pathlib.Path(clone) / "fibext"
    c = fibext / "cmem.c"
    text = _within(c.read_text(), "cmem_sum_f64(const double *a", "\n}\n",
                   r"a\[([^\]]+)\]", r"a[FIBEXT_DRILL_STRIDED(\1, n)]")
    c.write_text(text.replace("\ndouble\ncmem_sum_f64(", "\n" + STRIDED_ORDER_C + "\ndouble\ncmem_sum_f64(", 1))
    pyx = fibext / "_memory.pyx"
    start = "cdef double _sum_f64("
    text = _within(pyx.read_text(), start, "\n\n\n", r"a\[([^\]]+)\]", r"a[_drill_strided(\1, n)]")
    block = text.rfind("\n\n", 0, text.find(start)) + 2   # the decorators' first line
    pyx.write_text(text[:block] + STRIDED_ORDER_PYX + text[block:])


def undo_slowdowns(clone, base, every=CAPI_EVERY):
    """Undo (b) and (c); (d) stays, so that the tip still holds a regression."""
    repo.git("checkout", base, "--", "fibext/_cyfib.pyx", cwd=clone)
    _replace(clone / "fibext" / "_capi.c", f"fibext_drill_fib(n, 1, {every})", "cfib(n)")
    _replace(clone / "fibext" / "_capi.c", SLOW_FIB_C, "")


@dataclass
class DrillCommit:
    label: str
    edit: object                        # edit(clone, base_sha)
    #: variant -> (direction, mechanisms that must report it): "slower"/"faster",
    #: {"time", "counts"}.  Empty: a no-op, which nothing may report.
    expect: dict = field(default_factory=dict)
    #: The edit's wall-time step on fib(90) (after / before), as its constant above was tuned
    #: to make it at the least: the drill asserts a time step only where this size clears the
    #: threshold and the host's own no-op noise (drill_detect.supported), and asv's fit would
    #: find a step of this size in the line's own noise and weights (drill_detect.fit_finds).
    nominal_step: float = None


#: Mechanisms: "time" (bench_fib's published figure, by asv's step fit), "counts" (exact
#: instructions), "cycles" (simulated cycles of a fib call), "cache" (simulated misses and cycles
#: of the memory kernels): the last three exact, compared commit to commit.
BOTH = frozenset({"time", "counts", "cycles"})
EXACT = frozenset({"counts", "cycles"})
COMMITS = [
    DrillCommit("(a) README line", lambda c, b: readme_line(c, 1)),
    DrillCommit("(a) comment in _capi.c", lambda c, b: c_comment(c)),
    DrillCommit("(b) cython ~3x slower", lambda c, b: slow_cython(c),
                {"cython": ("slower", BOTH)}, nominal_step=2.8),
    # each slowdown stands for three commits or more: asv's step fit (a Potts model whose
    # penalty grows with the line's spread) may merge a shorter plateau into its neighbours
    DrillCommit("(c) capi ~20% slower", lambda c, b: slow_capi(c),
                {"capi": ("slower", BOTH)}, nominal_step=1.2),
    DrillCommit("(a) comment in _cyfib_cpdef.pyx", lambda c, b: pyx_comment(c)),
    DrillCommit(f"(d) capi_varargs +{NOPS} instructions (~1%)", lambda c, b: nops_capi_varargs(c),
                {"capi_varargs": ("slower", EXACT)}),
    DrillCommit("(e) undo b and c (d stays: a regression at the tip)", undo_slowdowns,
                {"cython": ("faster", BOTH), "capi": ("faster", BOTH)}),
    DrillCommit("(f) sequential read strided, same elements (stays)",
                lambda c, b: strided_sequential(c), {"sequential": ("slower", frozenset({"cache"}))}),
    DrillCommit("(a) README line", lambda c, b: readme_line(c, 2)),
]

def make_clone(workdir, source=ROOT, branch="main"):
    """A clone of source's branch with the drill's commits on top: [(sha, label)] with the
    base (the branch's tip) first."""
    clone = pathlib.Path(workdir) / "fibext"
    repo.git("clone", "--quiet", "--branch", branch, str(source), str(clone), cwd=workdir)
    base = repo.git("rev-parse", "HEAD", cwd=clone)
    commits = [(base, "base: main's tip")]
    for step in COMMITS:
        step.edit(clone, base)
        repo.git("-c", "user.name=drill", "-c", "user.email=drill@localhost", "commit", "-qam",
             f"drill: {step.label}", cwd=clone)
        commits.append((repo.git("rev-parse", "HEAD", cwd=clone), step.label))
    return clone, commits
