"""Driving a parse kernel over a Source chunk by chunk and cutting the output into Batches.

``Cutter`` holds a kernel's state and output arrays and turns parsed rows into Batches;
``run_plan`` feeds it one source sequentially (``ftrl_cli.readers.parallel`` feeds several
Cutters chunks of whole lines on a thread pool instead).  Memory stays flat: one byte buffer
(carried-over partial record + next chunk) and one batch of output arrays.  The buffer only
grows when a single record is longer than it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.hashing import HASH_PAD
from ftrl_cli.readers import _parse_common as pc
from ftrl_cli.readers import _skip
from ftrl_cli.readers._skip import BadRecord
from ftrl_cli.readers.base import Batch, ReadPosition
from ftrl_cli.readers.crosses_spec import Crosses
from ftrl_cli.readers.crossing import add_crosses
from ftrl_cli.readers.rejects import Reject

# A megabyte at a time: with two parse workers the first records are scored sooner, the
# last blocks keep both cores busy, and the blocks in flight with their Batches take a few
# megabytes instead of over a hundred (make bench, 2M Criteo rows: train peak RSS 559 -> 449 MB
# at the same speed; 500k-row predict 0.36 -> 0.32 s in-process).
CHUNK_BYTES = 1 << 20
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
    numeric_labels: bool = False  # labels as numbers (regression), not classes
    # the kernel takes the per-feature arrays of crosses (written only with ``crosses``,
    # see ``ftrl_cli.readers.crossing``); Batches then get the products
    takes_meta: bool = False
    crosses: Crosses | None = None


class _Outputs:
    """One batch's worth of kernel output arrays."""

    def __init__(self, rows: int, nnz_cap: int, idx_dtype: type, meta: bool) -> None:
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
        self.base: np.ndarray | None = None  # made when a record has a base margin
        # per-feature hash, namespace key and term mask for crosses (stubs without them)
        meta_cap = nnz_cap if meta else 1
        self.hashes = np.empty(meta_cap, np.uint32)
        self.keys = np.empty(meta_cap, np.uint32)
        self.terms = np.empty(meta_cap, np.uint64)
        self.meta = meta

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

    def meta_arrays(self) -> tuple:
        return self.hashes, self.keys, self.terms

    def grow_nnz(self, nnz: int) -> None:
        cap = 2 * len(self.data)
        if self.indices.dtype == np.int32 and cap > _INT32_MAX:
            raise FtrlError("a batch holds more than 2**31 features; use fewer rows per batch")
        for name in ("indices", "data", *(("hashes", "keys", "terms") if self.meta else ())):
            old = getattr(self, name)
            new = np.empty(cap, old.dtype)
            new[:nnz] = old[:nnz]
            setattr(self, name, new)

    def grow_fix(self) -> None:
        self._alloc_fix(2 * len(self.fix_idx))

    def absorb(self, buf: np.ndarray, st: np.ndarray, r0: int, source: str) -> BadRecord | None:
        """Finish what needs Python while ``buf`` still holds the rows' bytes.

        A value out of range is returned as an error, the rows cut back to those before it.
        """
        error = None
        nfix = int(st[pc.NFIX])
        if nfix:
            error = self._apply_fixups(buf, nfix, st, source)
        st[pc.NFIX] = 0
        r1 = int(st[pc.ROWS])
        if r1 > r0:
            tagged = np.flatnonzero(self.tag_s[r0:r1] >= 0)
            for k in tagged.tolist():
                r = r0 + k
                raw = buf[self.tag_s[r] : self.tag_e[r]].tobytes()
                self.tags[r] = raw.decode("utf-8", "replace")
        return error

    def _apply_fixups(self, buf: np.ndarray, nfix: int, st: np.ndarray,
                      source: str) -> BadRecord | None:
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
        kind = self.fix_kind[:nfix]
        per_row = kind != pc.FIX_DATA  # indexed by row; data values by their nonzero
        error = None
        if not np.isfinite(values).all():
            rows = int(st[pc.ROWS])
            owner = np.where(per_row, idx, np.searchsorted(self.indptr[1 : rows + 1], idx, "right"))
            j = int(np.flatnonzero(~np.isfinite(values))[0])
            row = int(owner[j])
            text = raw[starts[j] - lo : ends[j] - lo].decode("ascii")
            error = BadRecord(InputError(source, int(self.lines[row]),
                                         f"number out of range '{text}'"),
                              int(starts[j]), int(ends[j]))
            keep = owner < row
            values, idx, kind, per_row = values[keep], idx[keep], kind[keep], per_row[keep]
            st[pc.ROWS] = row
            st[pc.NNZ] = self.indptr[row]
        weight = kind == pc.FIX_WEIGHT
        self.weights[idx[weight]] = values[weight]
        label = kind == pc.FIX_LABEL
        self.labels[idx[label]] = values[label]
        self.data[idx[~per_row]] = values[~per_row]
        base = kind == pc.FIX_BASE
        if base.any():
            if self.base is None:
                self.base = np.zeros(len(self.labels))
            self.base[idx[base]] = values[base]
        return error

    def batch(self, st: np.ndarray, n_features: int, source: str,
              crosses: Crosses | None = None) -> Batch:
        n = int(st[pc.ROWS])
        nnz = int(st[pc.NNZ])
        tags = None
        if self.tags:
            tags = [None] * n
            for r, t in self.tags.items():
                tags[r] = t
        base = self.base[:n] if self.base is not None else None
        indptr, indices, data = self.indptr[: n + 1], self.indices[:nnz], self.data[:nnz]
        if crosses is not None:
            indptr, indices, data = add_crosses(crosses, indptr, indices, data,
                                                self.hashes[:nnz], self.keys[:nnz],
                                                self.terms[:nnz], n_features - 1)
        return Batch(indptr, indices, data, n_features, self.labels[:n], self.weights[:n],
                     self.lines[:n], source, tags, base=base)


def index_dtype(batch_rows: int, hash_bits: int) -> type:
    """int32 when scipy would choose it for such a matrix, else int64."""
    return np.int32 if max(batch_rows, 1 << hash_bits) <= _INT32_MAX else np.int64


def _error(plan: Plan, st: np.ndarray, buf: np.ndarray, source: str) -> BadRecord:
    s, e = int(st[pc.ERR_START]), int(st[pc.ERR_END])
    text = buf[s : min(e, s + 60)].tobytes().decode("utf-8", "replace")
    if e - s > 60:
        text += "..."
    code = int(st[pc.ERR])
    message = plan.describe(code, text, int(st[pc.ERR_ARG]))
    # an unterminated quote runs to the end of the input: the line it opens on is the bad one
    last = s + 1 if code == pc.E_UNTERMINATED else e
    return BadRecord(InputError(source, int(st[pc.ERR_LINE]), message), int(st[pc.POS]), last)


class Cutter:
    """Runs a plan's kernel over byte buffers and cuts what it parses into Batches.

    The kernel state lives here, so ``parse`` can be called on successive buffers (carrying
    over the unparsed bytes from ``pos``) or once on a buffer of whole lines.  ``lines``,
    when known, bounds the records still to come: output arrays are then sized for at most
    that many rows instead of a whole batch.  ``nnz_per_row`` sizes the first batch's
    feature arrays (they grow when needed).
    """

    def __init__(
        self,
        plan: Plan,
        hash_bits: int,
        batch_rows: int,
        source: str,
        *,
        first_line: int,
        lines: int | None = None,
        nnz_per_row: float = _NNZ_PER_ROW_GUESS,
        skip: bool = False,
    ) -> None:
        self.plan = plan
        self.skip = skip
        self.skipped: list[tuple[int, Reject]] = []  # since the last Batch cut
        self.discarding = False  # dropping the rest of a bad line not read whole yet
        self.source = source
        self.batch_rows = batch_rows
        self.mask = (1 << hash_bits) - 1
        self.n_features = 1 << hash_bits
        self.idx_dtype = index_dtype(batch_rows, hash_bits)
        self.first_line = first_line
        self.lines = lines
        self.offset = 0  # where the buffers given to ``parse`` start in the source
        self.st = np.zeros(pc.STATE_SIZE, np.int64)
        self.st[pc.LINE] = first_line
        self.st[pc.NUMERIC_LABELS] = plan.numeric_labels
        # what the kernel wrote into the Batches so far (before crosses add to them)
        self.parsed_rows = 0
        self.parsed_nnz = 0
        rows = self._rows()
        self.out = self._outputs(rows, max(1, int(rows * nnz_per_row)))

    @property
    def pos(self) -> int:
        """Start of the first byte not parsed yet (after ``parse`` stopped for more input)."""
        return int(self.st[pc.POS])

    @pos.setter
    def pos(self, value: int) -> None:
        self.st[pc.POS] = value

    @property
    def line(self) -> int:
        """Line number of the next line to parse."""
        return int(self.st[pc.LINE])

    def _rows(self) -> int:
        if self.lines is None:
            return self.batch_rows
        left = self.lines - (int(self.st[pc.LINE]) - self.first_line)
        return max(1, min(self.batch_rows, left))

    def _outputs(self, rows: int, nnz_cap: int) -> _Outputs:
        self.st[pc.MAXROWS] = rows
        return _Outputs(rows, nnz_cap, self.idx_dtype, self.plan.crosses is not None)

    def _next_outputs(self) -> None:
        st = self.st
        used, done = int(st[pc.NNZ]), int(st[pc.ROWS])
        rows = self._rows()
        nnz_cap = max(1024, (used + used // 8) * rows // done)
        self.out = self._outputs(rows, nnz_cap)
        st[pc.ROWS] = 0
        st[pc.NNZ] = 0

    def parse(
        self, buf: np.ndarray, end: int, final: bool, scratch: np.ndarray | None
    ) -> Iterator[Batch]:
        """Parse ``buf[pos:end]`` yielding full Batches; stops when it needs more input.

        With ``final`` the bytes up to ``end`` are all there is: the last Batch (fewer rows)
        is yielded too.  A malformed record raises ``InputError`` after a Batch of the
        records parsed before it; with ``skip`` it is noted in ``skipped`` and parsing
        resumes after its line.
        """
        plan, st = self.plan, self.st
        args = (self.mask, *plan.params, *((scratch,) if plan.needs_scratch else ()))
        while True:
            if self.discarding:
                self.discarding = not _skip.drop_rest(st, buf, end, final)
                if self.discarding:
                    return
            out = self.out
            r0 = int(st[pc.ROWS])
            meta = out.meta_arrays() if plan.takes_meta else ()
            status = plan.kernel(buf, end, final, st, *out.arrays(), *args, *meta)
            bad = out.absorb(buf, st, r0, self.source)
            if bad is None and status == pc.ERROR:
                bad = _error(plan, st, buf, self.source)
            if bad is not None:
                skip = _skip.skip_record(buf, end, bad)
                if not (skip.line_ended or final):
                    # read on until the bad line is all in: it is then noted whole (or as
                    # too long), as with any other block size or number of threads
                    return
                if not self.skip:
                    # the records before the bad one come out first, so that a stream's
                    # predictions up to it are written before the run stops
                    yield from self.flush()
                    raise bad.error
                self.skipped.append((int(st[pc.ROWS]), skip.reject))
                _skip.step_over(st, buf, skip.resume)
                continue
            if status == pc.NEED_MORE:
                return
            if status == pc.ROWS_FULL:
                yield self._cut()
                self._next_outputs()
            elif status == pc.NNZ_FULL:
                out.grow_nnz(int(st[pc.NNZ]))
            elif status == pc.FIX_FULL:
                if int(st[pc.ROWS]) == r0:
                    out.grow_fix()
            else:
                if st[pc.ROWS] or self.skipped:
                    yield self._cut()
                return

    def flush(self) -> Iterator[Batch]:
        """Yield the records parsed (and skipped) so far as a (short) Batch, if any."""
        if self.st[pc.ROWS]:
            yield self._cut()
            self._next_outputs()
        elif self.skipped:
            yield self._cut()  # no rows: the output arrays stay as they are

    def _cut(self) -> Batch:
        batch = self._batch()
        if self.skipped:
            batch.skipped, self.skipped = self.skipped, []
        return batch

    def too_long(self, buf: np.ndarray, end: int, limit: int) -> Iterator[Batch]:
        """The record at ``pos`` has more than ``limit`` bytes and no end in ``buf[:end]``:
        a malformed record (its bytes are dropped up to its newline with ``skip``)."""
        error = InputError(self.source, self.line, _skip.too_long(limit))
        if not self.skip:
            yield from self.flush()
            raise error
        raw = buf[self.pos : self.pos + limit].tobytes()
        self.skipped.append((int(self.st[pc.ROWS]), Reject(error.source, error.line,
                                                          error.message, raw)))
        self.st[pc.POS] = end
        self.discarding = True

    def _batch(self) -> Batch:
        self.parsed_rows += int(self.st[pc.ROWS])
        self.parsed_nnz += int(self.st[pc.NNZ])
        batch = self.out.batch(self.st, self.n_features, self.source, self.plan.crosses)
        # The kernels stop before the next record (blank and comment lines skipped): a
        # reader started there reads exactly the records that follow.
        batch.end = ReadPosition(0, self.offset + self.pos, self.line)
        return batch


class ByteSource(Protocol):
    """What ``run_plan`` reads: a name for messages and ``readinto`` (0 at the end)."""

    name: str

    def readinto(self, view: memoryview) -> int: ...


def run_plan(
    source: ByteSource,
    plan: Plan,
    hash_bits: int,
    batch_rows: int,
    chunk_bytes: int = CHUNK_BYTES,
    ready: Callable[[], bool] | None = None,
    offset: int = 0,
    *,
    skip: bool = False,
    max_line_bytes: int = _skip.MAX_LINE_BYTES,
) -> Iterator[Batch]:
    """Parse ``source`` with ``plan`` and yield Batches of ``batch_rows`` records (last: fewer).

    ``offset``: where ``source``'s next byte stands in the input, for ``Batch.end``.
    A line of more than ``max_line_bytes`` bytes is a malformed record: the buffer never
    grows past that.  With ``skip`` malformed records are skipped (see ``Cutter``).

    ``ready`` (for live streams) says whether more input can be read without waiting; when
    it cannot, the records parsed so far are yielded at once instead of waiting for a full
    batch, so a slow stream is scored as it arrives.

    >>> import io
    >>> from ftrl_cli.readers.base import FeatureSpec
    >>> from ftrl_cli.readers.source import Source
    >>> from ftrl_cli.readers.vw import vw_plan
    >>> src = Source("mem", io.BytesIO(b"1 |a x\\n0 |a y\\n-1 |a z\\n"))
    >>> [len(b) for b in run_plan(src, vw_plan(src, FeatureSpec("vw")), 18, 2, 4)]
    [2, 1]
    """
    # HASH_PAD spare bytes after the data let the kernels hash without bounds branches
    # a line of max_line_bytes and its newline fit; a full buffer without one is too long
    cap = max_line_bytes + 1
    buf = np.zeros(min(max(chunk_bytes, 1), cap) + HASH_PAD, np.uint8)
    scratch = np.zeros_like(buf) if plan.needs_scratch else None
    cutter = Cutter(plan, hash_bits, batch_rows, source.name, first_line=plan.start_line,
                    skip=skip)
    cutter.offset = offset
    end = 0
    while True:
        pos = cutter.pos
        if pos:
            buf[: end - pos] = buf[pos:end]
            end -= pos
            cutter.pos = 0
            cutter.offset += pos
        if end == len(buf) - HASH_PAD:
            # one record is longer than the buffer
            bigger = np.zeros(min(2 * end, cap) + HASH_PAD, np.uint8)
            bigger[:end] = buf[:end]
            buf = bigger
            if scratch is not None:
                scratch = np.zeros_like(buf)
        n = source.readinto(memoryview(buf)[end : len(buf) - HASH_PAD])
        final = n == 0
        end += n
        yield from cutter.parse(buf, end, final, scratch)
        if final:
            return
        if end - cutter.pos > max_line_bytes:
            yield from cutter.too_long(buf, end, max_line_bytes)
        if ready is not None and not ready():
            yield from cutter.flush()
