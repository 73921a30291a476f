"""The examples in the README and in the docstrings run and give what they show."""

import doctest
import importlib
import pkgutil

import pytest
from clirun import REPO

import ftrl_cli

MODULES = sorted(m.name for m in pkgutil.walk_packages(ftrl_cli.__path__, "ftrl_cli.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_readme_python_examples():
    result = doctest.testfile(f"{REPO}/README.md", module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0
