"""Shared fixtures: every test of fib runs once per variant of the registry."""

import pathlib

import pytest

import fibext

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(params=list(fibext.VARIANTS))
def variant(request):
    """A variant's name; the test gets it from fibext.VARIANTS, the one registry."""
    return request.param


@pytest.fixture
def fib(variant):
    return fibext.VARIANTS[variant]


@pytest.fixture(params=[name for name in fibext.VARIANTS if name != "python"])
def compiled_fib(request):
    return fibext.VARIANTS[request.param]
