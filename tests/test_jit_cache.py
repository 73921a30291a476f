"""Compiled kernels are cached per user, keyed by the sources, never inside the package."""

import os
import subprocess
import sys

from clirun import REPO


def test_cache_lives_in_the_user_cache_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = "import os, ftrl_cli; print(os.environ['NUMBA_CACHE_DIR'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out.startswith(str(tmp_path / "ftrl" / "numba"))
    from ftrl_cli._jit import source_digest

    assert os.path.basename(out) == source_digest()


def test_compiled_kernels_land_there(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = ("import numpy as np; from ftrl_cli.kernels.text import format_values, LINE_BYTES;"
            "format_values(np.ones(1), np.empty(LINE_BYTES, np.uint8))")
    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, check=True)
    cached = [f for _, _, files in os.walk(tmp_path) for f in files if f.endswith(".nbi")]
    assert cached, "no index file written to the user cache"
