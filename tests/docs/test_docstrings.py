"""Every example in the package's docstrings runs (doctest), module by module."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import itil_incident

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(itil_incident.__path__, prefix="itil_incident.")
)


def test_the_package_has_docstring_examples() -> None:
    found = sum(
        len(test.examples)
        for name in MODULES
        for test in doctest.DocTestFinder().find(importlib.import_module(name))
    )
    assert found >= 10


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_of_a_module_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
