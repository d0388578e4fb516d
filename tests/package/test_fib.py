"""The contract of fib(), checked for every variant (see fibext/_contract.py)."""

import importlib
import inspect
import math
import operator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fibext
from fibext import LAST_FINITE_N, MAX_N, VARIANTS
from helpers import Index

REFERENCE = VARIANTS["python"]


def fibonacci_int(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = a + b, a
    return a


def outcome(func, arg):
    """What func(arg) does: ("value", exact bits) or ("raises", type, message)."""
    try:
        result = func(arg)
    except Exception as exc:  # the outcome itself is under test
        return ("raises", type(exc), str(exc))
    return ("value", type(result), result.hex())


def short_id(value):
    """A test id that does not print a 5000-digit int."""
    if isinstance(value, int) and not -(2**64) < value < 2**64:
        return f"{'-' if value < 0 else ''}int{value.bit_length()}bits"
    if isinstance(value, type):
        return value.__name__
    return repr(value)[:40]


def test_registry_names_every_variant_once():
    names = [spec.name for spec in fibext.VARIANT_SPECS]
    assert names == list(VARIANTS)
    assert set(names) == {"python", "cython_untyped", "cython", "cython_cpdef",
                          "cython_wrap_c", "capi", "capi_varargs", "ctypes"}


def test_compiled_variants_are_compiled():
    for spec in fibext.VARIANT_SPECS:
        path = importlib.import_module(spec.module).__file__
        expect_compiled = spec.name not in ("python", "ctypes")
        assert path.endswith((".so", ".pyd")) == expect_compiled, (spec.name, path)


def test_exact_values(fib):
    # Below 2**53 every Fibonacci number is exact in a double, so the loop must give it.
    for n in range(79):
        assert fib(n) == float(fibonacci_int(n)), n
    assert fib(90) == 2.880067194370816e18
    assert math.isfinite(fib(LAST_FINITE_N))
    assert fib(LAST_FINITE_N + 1) == math.inf


def test_returns_float(fib):
    assert type(fib(0)) is float
    assert type(fib(90)) is float


def test_bit_identical_to_python_for_0_to_2000(fib):
    got = [fib(n).hex() for n in range(2001)]
    want = [REFERENCE(n).hex() for n in range(2001)]
    assert got == want


@pytest.mark.parametrize("arg, expected", [
    (True, 1.0),
    (False, 0.0),
    (np.int8(10), 55.0),
    (np.uint64(90), 2.880067194370816e18),
    (np.int64(90), 2.880067194370816e18),
    (np.array(90), 2.880067194370816e18),  # a 0-d integer array has __index__
    (Index(10), 55.0),
    (Index(True), 1.0),
], ids=short_id)
def test_accepts_what_operator_index_accepts(fib, arg, expected):
    assert fib(arg) == expected


@pytest.mark.parametrize("arg, error, message", [
    (1.0, TypeError, "'float' object cannot be interpreted as an integer"),
    ("5", TypeError, "'str' object cannot be interpreted as an integer"),
    (None, TypeError, "'NoneType' object cannot be interpreted as an integer"),
    (np.float64(3.0), TypeError, "'numpy.float64' object cannot be interpreted as an integer"),
    # numpy's own __index__ refuses in words that name no type; the contract names it.
    (np.array([90]), TypeError, "'numpy.ndarray' object cannot be interpreted as an integer "
                                "(only integer scalar arrays can be converted to a scalar index)"),
    (np.array(2.5), TypeError, "'numpy.ndarray' object cannot be interpreted as an integer"),
    (-1, ValueError, "fib() argument must be non-negative, got -1"),
    (np.int64(-5), ValueError, "fib() argument must be non-negative, got -5"),
    (-(2**63), ValueError, "got -9223372036854775808"),
    (-(2**1000), ValueError, "got a negative int of 1001 bits"),
    (-(10**5000), ValueError, "got a negative int of 16610 bits"),
    (MAX_N + 1, OverflowError, f"fib() argument must be at most {MAX_N}, got {MAX_N + 1}"),
    (2**64, OverflowError, "got an int of 65 bits"),
    (Index(-3), ValueError, "got -3"),
    (Index(2**40), OverflowError, "got 1099511627776"),
    (Index("x"), TypeError, "Index' object cannot be interpreted as an integer "
                            "(__index__ returned non-int (type str))"),
    (Index(RuntimeError("boom")), RuntimeError, "boom"),
], ids=short_id)
def test_rejects_with_a_message_naming_the_problem(fib, arg, error, message):
    with pytest.raises(error) as info:
        fib(arg)
    assert message in str(info.value)
    # ... and exactly as the pure-Python variant words it.
    assert outcome(fib, arg) == outcome(REFERENCE, arg)


def test_max_n_is_c_int_max():
    from fibext._contract import index_n

    assert MAX_N == 2**31 - 1
    assert index_n(MAX_N) == MAX_N
    with pytest.raises(OverflowError):
        index_n(MAX_N + 1)


def test_index_n_returns_exact_int():
    from fibext._contract import index_n
    for arg in (True, np.int16(7), Index(7)):
        assert type(index_n(arg)) is int


def test_rejects_keywords_and_wrong_arity(fib):
    with pytest.raises(TypeError):
        fib(n=5)
    with pytest.raises(TypeError):
        fib()
    with pytest.raises(TypeError):
        fib(1, 2)


def test_signature_names_one_parameter_n(fib):
    params = list(inspect.signature(fib).parameters)
    assert params == ["n"]


# Anything a caller might pass: every variant must do what the pure-Python one does.  Valid
# ints stay small (fib(2**31 - 1) in pure Python takes minutes); invalid ones range widely.
odd_index = st.one_of(
    st.integers(-(2**80), 3000), st.integers(MAX_N + 1, 2**200), st.text(max_size=3),
    st.floats(allow_nan=True), st.none(), st.booleans(),
    st.sampled_from([RuntimeError("boom"), ValueError("no"), KeyboardInterrupt()]),
).map(Index)
anything = st.one_of(
    st.integers(-(2**80), 3000),
    st.integers(MAX_N + 1, 2**4000),
    st.integers(-(2**4000), -1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
    st.integers(-128, 127).map(np.int8),
    st.integers(0, 3000).map(np.uint16),
    st.integers(-(2**63), 2**63 - 1).filter(lambda n: n <= 3000).map(np.int64),
    st.lists(st.integers(), max_size=2),
    st.lists(st.integers(0, 3000), max_size=2).map(np.array),
    st.builds(complex, st.floats(allow_nan=False), st.floats(allow_nan=False)),
    odd_index.filter(lambda i: not isinstance(i.value, KeyboardInterrupt)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arg=anything)
def test_every_variant_does_the_same_for_any_input(arg):
    want = outcome(REFERENCE, arg)
    for name, func in VARIANTS.items():
        assert outcome(func, arg) == want, name


def test_operator_index_message_is_the_type_error(compiled_fib):
    # The TypeError is operator.index's own, so it names the type the caller passed.
    with pytest.raises(TypeError) as info:
        compiled_fib(object())
    with pytest.raises(TypeError) as reference:
        operator.index(object())
    assert str(info.value) == str(reference.value)
