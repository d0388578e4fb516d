/* The fast path of fib()'s argument contract, shared by every compiled variant.
 *
 * The contract itself (what is accepted, which exception and message otherwise) is written
 * once, in Python, in fibext/_contract.py as index_n().  Compiled variants test only the common
 * case here, an exact int in [0, FIBEXT_MAX_N], and hand everything else to index_n(), which
 * either returns the n to use (bool, numpy integers, any __index__) or raises.  So every
 * variant raises the same exception with the same message, and the hot path stays in C.
 */
#ifndef FIBEXT_FIBARG_H
#define FIBEXT_FIBARG_H

#include <Python.h>
#include <limits.h>

/* Largest n accepted: the loop counter is a C int.  fibext._contract.MAX_N is the same. */
#define FIBEXT_MAX_N INT_MAX

/* Returns n if arg is an exact int in [0, FIBEXT_MAX_N]; otherwise -1, with no exception set,
 * meaning "ask index_n()". */
static inline int
fibext_fast_n(PyObject *arg)
{
    if (PyLong_CheckExact(arg)) {
        int overflow;
        /* Cannot fail on an exact int: out-of-range values only set overflow. */
        long value = PyLong_AsLongAndOverflow(arg, &overflow);
        if (!overflow && value >= 0 && value <= FIBEXT_MAX_N) {
            return (int)value;
        }
    }
    return -1;
}

/* The slow path, for when fibext_fast_n() said -1: returns n >= 0, or -1 with an exception
 * set.  index_n is fibext._contract.index_n (borrowed). */
static inline int
fibext_checked_n(PyObject *arg, PyObject *index_n)
{
    PyObject *checked = PyObject_CallOneArg(index_n, arg);
    if (checked == NULL) {
        return -1;
    }
    /* index_n() returned an int in [0, FIBEXT_MAX_N]; the conversion is exact. */
    int n = fibext_fast_n(checked);
    Py_DECREF(checked);
    if (n < 0) {
        PyErr_SetString(PyExc_SystemError, "fibext._contract.index_n() returned a bad value");
    }
    return n;
}

#endif /* FIBEXT_FIBARG_H */
