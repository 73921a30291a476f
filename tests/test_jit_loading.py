"""Cached kernels load without numba's compiler set-up, and compute exactly what they did.

With them the commands start without that set-up, scipy.sparse or numba's array module."""

import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys

import pytest
from clirun import REPO, sample
from numba.core.dispatcher import Dispatcher

import ftrl_cli
from ftrl_cli.kernels.jit import SUPPORTED, RuntimeOnlyCache


def _dispatchers():
    for info in pkgutil.walk_packages(ftrl_cli.__path__, "ftrl_cli."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Dispatcher) and value.py_func.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", value


KERNELS = dict(_dispatchers())


def test_the_kernels_are_found():
    assert len(KERNELS) > 40
    assert "ftrl_cli.kernels.predict._score_into" in KERNELS


@pytest.mark.skipif(not SUPPORTED, reason="this numba lacks the cache methods used")
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_kernel_is_cached_and_loads_runtime_only(name):
    kernel = KERNELS[name]
    assert kernel.targetoptions.get("nogil") is True
    assert isinstance(kernel._cache, RuntimeOnlyCache)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_no_kernel_needs_what_only_the_full_set_up_registers(name):
    kernel = KERNELS[name]
    assert not kernel.targetoptions.get("parallel")
    source = inspect.getsource(kernel.py_func)
    assert not re.search(r"(?<![\w.])hash\(", source), "hash() links the string hash secret"


# Runs train, predict and evaluate in one fresh process; with "full", numba's compiler set-up is
# done first, the way numba itself loads cached code.
_CHILD = r"""
import contextlib, io, json, sys
from ftrl_cli.cli import main
if sys.argv[1] == "full":
    from numba.core.registry import cpu_target
    cpu_target.target_context.refresh()
out = {}
for name, args in json.loads(sys.argv[2]):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            main(args)
        except SystemExit as e:
            assert not e.code, (name, e.code)
    out[name] = buf.getvalue()
out["set_up_ran"] = "numba.np.arraymath" in sys.modules
out["scipy_imported"] = "scipy.sparse" in sys.modules
out["array_module_loaded"] = "numba.np.arrayobj" in sys.modules
print(json.dumps(out))
"""


def _run(mode, tmp_path):
    d = tmp_path / mode
    d.mkdir()
    runs = []
    for fmt in ("vw", "criteo", "libsvm"):
        model = str(d / f"{fmt}.parquet")
        runs += [
            (f"train-{fmt}", ["train", sample(f"train.{fmt}"), "--format", fmt, "-o", model,
                              "--quiet"]),
            (f"predict-{fmt}", ["predict", "-m", model, sample(f"test.{fmt}"), "--format", fmt,
                                "-o", str(d / f"{fmt}.predictions")]),
            (f"evaluate-{fmt}", ["evaluate", "-m", model, sample(f"test.{fmt}"),
                                 "--format", fmt]),
        ]
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode, json.dumps(runs)], cwd=REPO,
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    for fmt in ("vw", "criteo", "libsvm"):
        out[f"model-{fmt}"] = (d / f"{fmt}.parquet").read_bytes()
        out[f"predictions-{fmt}"] = (d / f"{fmt}.predictions").read_text()
    return out


@pytest.mark.skipif(not SUPPORTED, reason="this numba lacks the cache methods used")
def test_commands_on_runtime_only_loading_match_numbas_own(tmp_path):
    full = _run("full", tmp_path)  # also compiles whatever the cache still lacks
    light = _run("light", tmp_path)
    assert full.pop("set_up_ran") is True
    assert light.pop("set_up_ran") is False, "a kernel compiled or loaded with the full set-up"
    # nor do the commands import scipy.sparse: their batches stay arrays (0.05 s of start-up)
    assert light.pop("scipy_imported") is False
    # nor numba's array module, which a kernel allocating its result pulls in (0.02 s)
    assert light.pop("array_module_loaded") is False
    full.pop("scipy_imported")
    full.pop("array_module_loaded")
    assert full == light
    assert len(full["predictions-vw"].splitlines()) > 100
    assert "logloss" in full["evaluate-criteo"].lower()


def test_kernel_modules_import_with_the_jit_disabled():
    # NUMBA_DISABLE_JIT=1 (for debugging) makes njit hand back plain functions
    code = "import ftrl_cli.readers._parse_vw, ftrl_cli.kernels.online, ftrl_cli.kernels.predict"
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
