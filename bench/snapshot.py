"""A frozen copy of the sources for the children, so edits made during a run change nothing.

``ftrl_cli`` and ``bench`` are copied under ``bench/out/src``; children run there with it first
on ``PYTHONPATH`` (ahead of the editable install), so every measurement uses the same code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bench.settings import BENCH_DIR, REPO_DIR

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "data", "out")


def freeze(out_dir: Path) -> Path:
    """Copy the sources to ``out_dir/src`` and return that folder."""
    root = out_dir / "src"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(REPO_DIR / "ftrl_cli", root / "ftrl_cli", ignore=_SKIP)
    shutil.copytree(BENCH_DIR, root / "bench", ignore=_SKIP)
    return root


def child_env(root: Path) -> dict[str, str]:
    """The environment under which children import the frozen copy."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


def revision() -> str:
    """The git commit of the tree, marked when ftrl_cli has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "ftrl_cli")
    return f"{commit} + uncommitted changes in ftrl_cli" if dirty else commit
