"""Driving a parse kernel over a Source chunk by chunk and cutting the output into Batches.

Memory stays flat: one byte buffer (carried-over partial record + next chunk) and one
batch of output arrays.  The buffer only grows when a single record is longer than it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.hashing import HASH_PAD
from ftrl_cli.readers import _parse_common as pc
from ftrl_cli.readers.base import Batch
from ftrl_cli.readers.source import Source

CHUNK_BYTES = 8 << 20
_FIX_CAP = 8192
_NNZ_PER_ROW_GUESS = 32
_INT32_MAX = 2**31 - 1


@dataclass
class Plan:
    """How to parse one source: its kernel, the kernel's extra arguments, where to start."""

    kernel: Callable
    params: tuple
    describe: Callable[[int, str, int], str]  # (error code, offending text, arg) -> message
    start_line: int = 1
    needs_scratch: bool = False


class _Outputs:
    """One batch's worth of kernel output arrays."""

    def __init__(self, rows: int, nnz_cap: int, idx_dtype: type) -> None:
        self.indptr = np.empty(rows + 1, idx_dtype)
        self.indptr[0] = 0
        self.indices = np.empty(nnz_cap, idx_dtype)
        self.data = np.empty(nnz_cap, np.float64)
        self.labels = np.empty(rows, np.float64)
        self.weights = np.empty(rows, np.float64)
        self.lines = np.empty(rows, np.int64)
        self.tag_s = np.empty(rows, np.int64)
        self.tag_e = np.empty(rows, np.int64)
        self._alloc_fix(_FIX_CAP)
        self.tags: dict[int, str] = {}

    def _alloc_fix(self, cap: int) -> None:
        self.fix_idx = np.empty(cap, np.int64)
        self.fix_kind = np.empty(cap, np.int64)
        self.fix_s = np.empty(cap, np.int64)
        self.fix_e = np.empty(cap, np.int64)
        self.fix_mult = np.empty(cap, np.float64)

    def arrays(self) -> tuple:
        return (
            self.indptr,
            self.indices,
            self.data,
            self.labels,
            self.weights,
            self.lines,
            self.tag_s,
            self.tag_e,
            self.fix_idx,
            self.fix_kind,
            self.fix_s,
            self.fix_e,
            self.fix_mult,
        )

    def grow_nnz(self, nnz: int) -> None:
        cap = 2 * len(self.data)
        if self.indices.dtype == np.int32 and cap > _INT32_MAX:
            raise FtrlError("a batch holds more than 2**31 features; use fewer rows per batch")
        for name in ("indices", "data"):
            old = getattr(self, name)
            new = np.empty(cap, old.dtype)
            new[:nnz] = old[:nnz]
            setattr(self, name, new)

    def grow_fix(self) -> None:
        self._alloc_fix(2 * len(self.fix_idx))

    def absorb(self, buf: np.ndarray, st: np.ndarray, r0: int, source: str) -> None:
        """Finish what needs Python while ``buf`` still holds the rows' bytes."""
        nfix = int(st[pc.NFIX])
        if nfix:
            self._apply_fixups(buf, nfix, int(st[pc.ROWS]), source)
        st[pc.NFIX] = 0
        r1 = int(st[pc.ROWS])
        if r1 > r0:
            tagged = np.flatnonzero(self.tag_s[r0:r1] >= 0)
            for k in tagged.tolist():
                r = r0 + k
                raw = buf[self.tag_s[r] : self.tag_e[r]].tobytes()
                self.tags[r] = raw.decode("utf-8", "replace")

    def _apply_fixups(self, buf: np.ndarray, nfix: int, rows: int, source: str) -> None:
        # one bytes copy of the region and a list comprehension: far cheaper per value
        # than slicing the array for each one
        starts, ends = self.fix_s[:nfix], self.fix_e[:nfix]
        lo = int(starts.min())
        raw = buf[lo : int(ends.max())].tobytes()
        values = np.array(
            [float(raw[s:e]) for s, e in zip((starts - lo).tolist(), (ends - lo).tolist())]
        )
        values *= self.fix_mult[:nfix]
        idx = self.fix_idx[:nfix]
        weight = self.fix_kind[:nfix] == pc.FIX_WEIGHT
        if not np.isfinite(values).all():
            j = int(np.flatnonzero(~np.isfinite(values))[0])
            i = int(idx[j])
            row = i if weight[j] else int(np.searchsorted(self.indptr[1 : rows + 1], i, "right"))
            text = raw[starts[j] - lo : ends[j] - lo].decode("ascii")
            raise InputError(source, int(self.lines[row]), f"number out of range '{text}'")
        self.weights[idx[weight]] = values[weight]
        self.data[idx[~weight]] = values[~weight]

    def batch(self, st: np.ndarray, n_features: int, source: str) -> Batch:
        n = int(st[pc.ROWS])
        nnz = int(st[pc.NNZ])
        # index dtypes already match what scipy would pick, so nothing is copied or checked
        X = sp.csr_matrix(
            (self.data[:nnz], self.indices[:nnz], self.indptr[: n + 1]),
            shape=(n, n_features),
        )
        tags = None
        if self.tags:
            tags = [None] * n
            for r, t in self.tags.items():
                tags[r] = t
        return Batch(X, self.labels[:n], self.weights[:n], self.lines[:n], source, tags)


def index_dtype(batch_rows: int, hash_bits: int) -> type:
    """int32 when scipy would choose it for such a matrix, else int64."""
    return np.int32 if max(batch_rows, 1 << hash_bits) <= _INT32_MAX else np.int64


def _error(plan: Plan, st: np.ndarray, buf: np.ndarray, source: str) -> InputError:
    s, e = int(st[pc.ERR_START]), int(st[pc.ERR_END])
    text = buf[s : min(e, s + 60)].tobytes().decode("utf-8", "replace")
    if e - s > 60:
        text += "..."
    message = plan.describe(int(st[pc.ERR]), text, int(st[pc.ERR_ARG]))
    return InputError(source, int(st[pc.ERR_LINE]), message)


def run_plan(
    source: Source, plan: Plan, hash_bits: int, batch_rows: int, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[Batch]:
    """Parse ``source`` with ``plan`` and yield Batches of ``batch_rows`` records (last: fewer)."""
    # HASH_PAD spare bytes after the data let the kernels hash without bounds branches
    buf = np.zeros(max(chunk_bytes, 1) + HASH_PAD, np.uint8)
    scratch = np.zeros_like(buf) if plan.needs_scratch else None
    end = 0
    final = False
    need_input = True
    st = np.zeros(pc.STATE_SIZE, np.int64)
    st[pc.LINE] = plan.start_line
    st[pc.MAXROWS] = batch_rows
    mask = (1 << hash_bits) - 1
    n_features = 1 << hash_bits
    idx_dtype = index_dtype(batch_rows, hash_bits)
    nnz_cap = batch_rows * _NNZ_PER_ROW_GUESS
    out = _Outputs(batch_rows, nnz_cap, idx_dtype)
    while True:
        if need_input:
            pos = int(st[pc.POS])
            if pos:
                buf[: end - pos] = buf[pos:end]
                end -= pos
                st[pc.POS] = 0
            if end == len(buf) - HASH_PAD:
                # one record is longer than the buffer
                bigger = np.zeros(2 * end + HASH_PAD, np.uint8)
                bigger[:end] = buf[:end]
                buf = bigger
                if scratch is not None:
                    scratch = np.zeros_like(buf)
            n = source.readinto(memoryview(buf)[end : len(buf) - HASH_PAD])
            final = n == 0
            end += n
            need_input = False
        r0 = int(st[pc.ROWS])
        extra = (scratch,) if scratch is not None else ()
        status = plan.kernel(buf, end, final, st, *out.arrays(), mask, *plan.params, *extra)
        out.absorb(buf, st, r0, source.name)
        if status == pc.NEED_MORE:
            need_input = True
        elif status == pc.ROWS_FULL:
            yield out.batch(st, n_features, source.name)
            used = int(st[pc.NNZ])
            nnz_cap = max(1024, used + used // 8)
            out = _Outputs(batch_rows, nnz_cap, idx_dtype)
            st[pc.ROWS] = 0
            st[pc.NNZ] = 0
        elif status == pc.NNZ_FULL:
            out.grow_nnz(int(st[pc.NNZ]))
        elif status == pc.FIX_FULL:
            if int(st[pc.ROWS]) == r0:
                out.grow_fix()
        elif status == pc.ERROR:
            raise _error(plan, st, buf, source.name)
        else:
            if st[pc.ROWS]:
                yield out.batch(st, n_features, source.name)
            return
