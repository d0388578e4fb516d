"""The book's own Table 1-1 beside ours: the 2015 Cython book's figures (written once, BOOK),
the ratios side by side, and a paragraph chosen by the numbers saying which of the book's
conclusions still hold on this interpreter and machine, which moved, and why."""

PURE_C = "pure C (latency)"

#: The book's Table 1-1 (the 2015 Cython book, chapter 1; fib.csv of its companion
#: repository): ns per call of fib(0) and fib(90).  Its C extension used METH_VARARGS and
#: PyArg_ParseTuple, as fibext's capi_varargs does; its Cython is a typed def (fibext's
#: "cython").  The one place these numbers are written.
BOOK = {
    "python": (597, 13637),
    "capi_varargs": (203, 367),
    "cython": (88, 251),
    "pure C (latency)": (2, 164),
}
#: What the book calls each of BOOK's rows.
BOOK_NAMES = {"python": "pure Python", "capi_varargs": "C extension (METH_VARARGS)",
              "cython": "Cython", "pure C (latency)": "pure C"}

#: Two calls within this fraction of each other count as equally fast in the paragraph.
SAME = 0.05


def book_rows(rows, book=None):
    """[(figure, the book's value, ours or None, format)] from the report's fib rows: speed-ups
    over pure Python at fib(0) and fib(90), and Cython's call against the C extensions'."""
    book = BOOK if book is None else book
    ours = {name: (t0, t90) for name, t0, t90, *_ in rows}

    def speedup(table, name, i):
        if "python" not in table or name not in table or not table[name][i]:
            return None
        return table["python"][i] / table[name][i]

    def ratio(table, a, b):
        if a not in table or b not in table or not table[b][0]:
            return None
        return table[a][0] / table[b][0]

    out = []
    for name in ("capi_varargs", "cython", PURE_C):
        for i, n in enumerate((0, 90)):
            out.append((f"{BOOK_NAMES[name]}: speed-up over pure Python, fib({n})",
                        speedup(book, name, i), speedup(ours, name, i), "x"))
    out.append(("Cython's call / the METH_VARARGS extension's, fib(0)",
                ratio(book, "cython", "capi_varargs"), ratio(ours, "cython", "capi_varargs"), ""))
    for i, n in enumerate((0, 90)):
        out.append((f"C extension (METH_O, fibext's capi): speed-up, fib({n})", None,
                    speedup(ours, "capi", i), "x"))
    out.append(("Cython's call / the METH_O extension's, fib(0)", None,
                ratio(ours, "cython", "capi"), ""))
    for i, n in enumerate((0, 90)):
        out.append((f"pure Python fib({n}), ns", book["python"][i],
                    ours["python"][i] if "python" in ours else None, " ns"))
    return out


def book_cells(book_table):
    def cell(value, unit):
        if value is None:
            return "-"
        if unit == " ns":
            return f"{value:,.0f} ns"
        return f"{value:,.1f}x" if unit == "x" else f"{value:.2f}"
    return [(figure, cell(b, unit), cell(o, unit)) for figure, b, o, unit in book_table]


BOOK_HEADER = ["figure", "the book (2015)", "ours"]


def _order(table, i):
    return sorted((name for name in BOOK if name in table), key=lambda name: table[name][i])


def _from_311(python):
    """Whether a version string ("3.11", "3.12.1") is CPython 3.11 or later."""
    try:
        return tuple(int(x) for x in str(python).split(".")[:2]) >= (3, 11)
    except ValueError:
        return False


def book_paragraph(rows, book=None, python=None):
    """Which of the book's conclusions hold on these results and which moved: sentences
    chosen by comparing the measured ratios with the book's, never written in advance.
    python: the measured interpreter's version ("3.11"), where known."""
    book = BOOK if book is None else book
    ours = {name: (t0, t90) for name, t0, t90, *_ in rows}
    if "python" not in ours or not all(name in ours for name in book):
        missing = ", ".join(name for name in book if name not in ours)
        return f"The book's table cannot be set beside ours: no results for {missing}."
    say = []
    p_gain = book["python"][1] / ours["python"][1]
    c_gain = book["capi_varargs"][1] / ours["capi_varargs"][1]
    faster = "faster" if p_gain >= 1 else "slower"
    say.append(f"Pure Python runs fib(90) in {ours['python'][1]:,.0f} ns here against the "
               f"book's {book['python'][1]:,} ns ({max(p_gain, 1 / p_gain):.1f}x {faster}); "
               f"the METH_VARARGS C extension in {ours['capi_varargs'][1]:,.0f} ns against "
               f"{book['capi_varargs'][1]:,} ({c_gain:.1f}x).")
    if p_gain > c_gain:
        say.append(f"Pure Python gained more on the book than the C extension did "
                   f"({p_gain:.1f}x against {c_gain:.1f}x at fib(90))"
                   + (f"; this is CPython {python}, with the specialising adaptive interpreter "
                      f"that 3.11 brought (PEP 659)" if _from_311(python) else "")
                   + ".")
    else:
        say.append(f"The C extension gained at least as much on the book as pure Python did "
                   f"({c_gain:.1f}x against {p_gain:.1f}x at fib(90)).")
    parts, shrank = [], []
    for name in ("capi_varargs", "cython", PURE_C):
        b = book["python"][1] / book[name][1]
        o = ours["python"][1] / ours[name][1]
        shrank.append(o < b)
        parts.append(f"{BOOK_NAMES[name]} {b:.0f}x in the book, {o:.0f}x here")
    lead = ("Every speed-up over pure Python shrank" if all(shrank) else
            "No speed-up over pure Python shrank" if not any(shrank) else
            "The speed-ups over pure Python moved both ways")
    say.append(f"{lead} at fib(90): " + "; ".join(parts) + ".")
    for i, n in enumerate((0, 90)):
        if _order(ours, i) == _order(book, i):
            say.append(f"The book's order at fib({n}) holds: "
                       + " < ".join(BOOK_NAMES[k] for k in _order(ours, i)) + ".")
        else:
            say.append(f"The order at fib({n}) moved: the book had "
                       + " < ".join(BOOK_NAMES[k] for k in _order(book, i)) + ", here "
                       + " < ".join(BOOK_NAMES[k] for k in _order(ours, i)) + ".")
    pure_loop = (ours[PURE_C][1] - ours[PURE_C][0]) / 90
    cython_loop = (ours["cython"][1] - ours["cython"][0]) / 90
    if cython_loop < pure_loop:
        say.append(f"Cython's loop body from Python ({cython_loop:.2f} ns an iteration) is "
                   f"shorter than pure C's one-add-per-iteration latency ({pure_loop:.2f} ns): "
                   "successive calls from the interpreter overlap on the out-of-order core, "
                   "which pure C's latency row (a fence between calls) does not allow.")
    b_call = book["cython"][0] / book["capi_varargs"][0]
    o_call = ours["cython"][0] / ours["capi_varargs"][0]
    if o_call < 1 - SAME:
        say.append(f"Cython still calls faster than the METH_VARARGS extension ({o_call:.2f} "
                   f"of its fib(0) time; the book: {b_call:.2f}).")
    elif o_call <= 1 + SAME:
        say.append(f"Cython no longer calls faster than the METH_VARARGS extension: as fast "
                   f"within {SAME:.0%} ({o_call:.2f} of its fib(0) time; the book: "
                   f"{b_call:.2f}).")
    else:
        say.append(f"Cython no longer calls faster than the METH_VARARGS extension "
                   f"({o_call:.2f} of its fib(0) time; the book: {b_call:.2f}).")
    if "capi" in ours:
        m_call = ours["cython"][0] / ours["capi"][0]
        numbers = (f"capi {ours['capi'][0]:.1f} ns, Cython {ours['cython'][0]:.1f} ns at "
                   "fib(0)")
        if m_call > 1 + SAME:
            say.append(f"But a C extension taking its argument with METH_O calls faster than "
                       f"Cython ({numbers}): the book's extension lost on parsing an argument "
                       f"tuple (PyArg_ParseTuple, Py_BuildValue), not on being C.")
        elif m_call >= 1 - SAME:
            say.append(f"A C extension taking its argument with METH_O calls as fast as Cython "
                       f"within {SAME:.0%} ({numbers}): the book's extension lost on parsing "
                       f"an argument tuple (PyArg_ParseTuple, Py_BuildValue), not on being C.")
        else:
            say.append(f"Cython calls faster even than a C extension taking its argument with "
                       f"METH_O ({numbers}).")
    return " ".join(say)
