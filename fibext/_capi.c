/* fibext._capi: fib() as a hand-written CPython C-API module.
 *
 * Python equivalent:
 *
 *     from fibext._contract import index_n
 *     def fib(n, /): return cfib(index_n(n))
 *     def fib_varargs(n, /): return cfib(index_n(n))
 *     def noop(n, /): return None
 *     def time_c(n, loops, /): ...   # cfib(n) timed inside C, see ctiming.c
 *
 * fib is what CPython's own Modules/ do today: METH_O, so the interpreter passes the one
 * argument straight through (no tuple, no parsing), and multi-phase init (PEP 489) with the
 * module's references in its state.  fib_varargs is the same function written the way the
 * 2015 books did it (METH_VARARGS + PyArg_ParseTuple + Py_BuildValue): the benchmarks show
 * what that calling convention costs.  noop is a METH_O call that does nothing: the floor.
 *
 * This shared object also exports cfib() itself (cfib.c is linked in): the ctypes variant
 * loads it from here.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cfib.h"
#include "ctiming.h"
#include "fibarg.h"

typedef struct {
    PyObject *index_n;  /* fibext._contract.index_n: the contract's slow path */
} capi_state;

static inline capi_state *
get_capi_state(PyObject *module)
{
    void *state = PyModule_GetState(module);
    assert(state != NULL);
    return (capi_state *)state;
}

PyDoc_STRVAR(fib_doc,
"fib($module, n, /)\n"
"--\n"
"\n"
"Return the n-th Fibonacci number as a float (METH_O).");

static PyObject *
fib(PyObject *module, PyObject *arg)
{
    int n = fibext_fast_n(arg);
    if (n < 0 && (n = fibext_checked_n(arg, get_capi_state(module)->index_n)) < 0) {
        return NULL;
    }
    return PyFloat_FromDouble(cfib(n));
}

PyDoc_STRVAR(fib_varargs_doc,
"fib_varargs($module, n, /)\n"
"--\n"
"\n"
"Return the n-th Fibonacci number as a float (METH_VARARGS, the 2015 way).");

static PyObject *
fib_varargs(PyObject *module, PyObject *args)
{
    PyObject *arg;
    /* "O" rather than "i": PyArg_ParseTuple's "i" turns a huge negative n into
       OverflowError, and the contract wants ValueError. */
    if (!PyArg_ParseTuple(args, "O:fib_varargs", &arg)) {
        return NULL;
    }
    int n = fibext_fast_n(arg);
    if (n < 0 && (n = fibext_checked_n(arg, get_capi_state(module)->index_n)) < 0) {
        return NULL;
    }
    return Py_BuildValue("d", cfib(n));
}

PyDoc_STRVAR(noop_doc,
"noop($module, n, /)\n"
"--\n"
"\n"
"Do nothing and return None: the cost of a METH_O call itself.");

static PyObject *
noop(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(arg))
{
    Py_RETURN_NONE;
}

PyDoc_STRVAR(time_c_doc,
"time_c($module, n, loops, /)\n"
"--\n"
"\n"
"Time loops calls of the C function cfib(n) inside C.\n"
"\n"
"Return (throughput_ns, serial_ns, fence_ns): nanoseconds per call back to back, per call\n"
"with a serialising fence after each, and per fence alone.\n"
"The GIL is released while timing.");

static PyObject *
time_c(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "time_c() takes exactly 2 arguments (%zd given)", nargs);
        return NULL;
    }
    int n = fibext_fast_n(args[0]);
    if (n < 0) {
        if ((n = fibext_checked_n(args[0], get_capi_state(module)->index_n)) < 0) {
            return NULL;
        }
    }
    /* Accepts any __index__; TypeError names the type otherwise. */
    int overflow;
    long long loops = PyLong_AsLongLongAndOverflow(args[1], &overflow);
    if (loops == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow) {
        loops = overflow > 0 ? LLONG_MAX : LLONG_MIN;  /* beyond either limit below */
    }
    if (loops < 1) {
        PyErr_Format(PyExc_ValueError,
                     "time_c() loops must be at least 1, got %R", args[1]);
        return NULL;
    }
    if (loops > INT_MAX) {
        PyErr_Format(PyExc_OverflowError,
                     "time_c() loops must be at most %d, got %R", INT_MAX, args[1]);
        return NULL;
    }
    double throughput, serial, fence;
    Py_BEGIN_ALLOW_THREADS
    throughput = cfib_throughput_ns(n, (long)loops);
    serial = cfib_serial_ns(n, (long)loops);
    fence = fence_ns((long)loops);
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(ddd)", throughput, serial, fence);
}

static PyMethodDef capi_methods[] = {
    {"fib", fib, METH_O, fib_doc},
    {"fib_varargs", fib_varargs, METH_VARARGS, fib_varargs_doc},
    {"noop", noop, METH_O, noop_doc},
    {"time_c", (PyCFunction)(void (*)(void))time_c, METH_FASTCALL, time_c_doc},
    {NULL, NULL, 0, NULL}
};

static int
capi_exec(PyObject *module)
{
    capi_state *state = get_capi_state(module);
    PyObject *contract = PyImport_ImportModule("fibext._contract");
    if (contract == NULL) {
        return -1;
    }
    state->index_n = PyObject_GetAttrString(contract, "index_n");
    Py_DECREF(contract);
    /* On failure m_free runs capi_clear, so there is nothing to undo here. */
    return state->index_n == NULL ? -1 : 0;
}

static int
capi_traverse(PyObject *module, visitproc visit, void *arg)
{
    Py_VISIT(get_capi_state(module)->index_n);
    return 0;
}

static int
capi_clear(PyObject *module)
{
    Py_CLEAR(get_capi_state(module)->index_n);
    return 0;
}

static void
capi_free(void *module)
{
    (void)capi_clear((PyObject *)module);
}

static PyModuleDef_Slot capi_slots[] = {
    {Py_mod_exec, capi_exec},
#ifdef Py_mod_multiple_interpreters
    /* All state is per module: each sub-interpreter gets its own. */
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    /* No shared mutable state: safe without the GIL on free-threaded builds. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL}
};

PyDoc_STRVAR(capi_doc, "fib() as a hand-written CPython C-API module.");

static struct PyModuleDef capi_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "fibext._capi",
    .m_doc = capi_doc,
    .m_size = sizeof(capi_state),
    .m_methods = capi_methods,
    .m_slots = capi_slots,
    .m_traverse = capi_traverse,
    .m_clear = capi_clear,
    .m_free = capi_free,
};

PyMODINIT_FUNC
PyInit__capi(void)
{
    return PyModuleDef_Init(&capi_module);
}
