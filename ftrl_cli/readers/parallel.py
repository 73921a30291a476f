"""Order-preserving parallel parsing of one-record-per-line inputs on a thread pool.

The calling thread reads a source in large blocks and cuts each block after its last newline
(the partial line left over starts the next block); worker threads parse the blocks with the
format's Numba kernel, which releases the GIL, so several cores parse at once.  Batches come
out strictly in input order:

* each block is parsed with line numbers counted from 0 (the kernel counts them anyway); as
  the blocks are handed out in order, their first absolute line number is known and added
  to the Batch lines and to the line of an ``InputError`` -- so line numbers, errors and the
  records are exactly those of the sequential reader;
* the first error in input order wins: a block's error is raised after the Batches before
  it (those of its own block's records before the bad one too) and nothing after it is
  yielded, whatever later blocks found;
* at most ``INFLIGHT_PER_WORKER * workers`` blocks are submitted and not yet handed out (plus
  the one being read), which bounds memory to about that many blocks and their Batches;
* a block ends a Batch: Batches may have fewer than ``batch_rows`` rows at block ends.

vw, libsvm and criteo records never span lines.  csv and tsv ones may (a quoted field can
hold a line break), so a csv/tsv source is split only while no ``"`` has been seen: from the
first block holding one, the rest of that source is parsed sequentially (after the blocks
before it were handed out), which is always correct.  Compressed files and stdin are read
in blocks like any other source (decompression stays on the calling thread).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.hashing import HASH_PAD
from ftrl_cli.kernels.jit import njit
from ftrl_cli.readers._parse_driver import _NNZ_PER_ROW_GUESS, ByteSource, Cutter, Plan, run_plan
from ftrl_cli.readers._skip import MAX_LINE_BYTES, empty_batch, too_long
from ftrl_cli.readers.base import Batch, scored
from ftrl_cli.readers.rejects import Reject

INFLIGHT_PER_WORKER = 2
# test hook: called with the number of blocks in flight after each submission
_on_submit: Callable[[int], None] | None = None

_local = threading.local()


@njit(nogil=True, cache=True)
def count_newlines(buf: np.ndarray, end: int) -> int:
    """Number of ``\\n`` bytes in ``buf[:end]``.

    >>> count_newlines(np.frombuffer(b"a\\nb\\n\\nc", np.uint8), 6)
    3
    """
    n = 0
    for i in range(end):
        n += buf[i] == 10
    return n


def _fill(source: ByteSource, view: memoryview) -> int:
    """Read into all of ``view`` unless the source ends first; returns the bytes read."""
    n = 0
    while n < len(view):
        k = source.readinto(view[n:])
        if not k:
            break
        n += k
    return n


@dataclass
class _LongLine:
    """In place of a block: a line of more than ``limit`` bytes, dropped; ``head`` is its
    first ``limit`` bytes."""

    head: bytes
    limit: int


class _Blocks:
    """Successive blocks of a source, each cut after its last newline.

    Parsed blocks' buffers come back through ``recycle`` and are filled again, which spares
    allocating and zeroing a new one per block.  No buffer grows past ``limit + 1`` bytes:
    a line longer than ``limit`` comes out as a ``_LongLine``.
    """

    def __init__(self, source: ByteSource, block_bytes: int, limit: int = MAX_LINE_BYTES) -> None:
        self.source = source
        self.limit = limit
        self.block_bytes = min(block_bytes, limit + 1)
        self.carry = b""
        self.ended = False
        self.offset = 0  # where the next block starts in the source
        self._spare: list[bytearray] = []

    def recycle(self, buf: bytearray) -> None:
        """Take back the buffer of a parsed block (called from the worker threads)."""
        if len(buf) == self.block_bytes + HASH_PAD:
            self._spare.append(buf)

    def next(self) -> tuple[bytearray, int, int] | _LongLine | None:
        """``(buf, cut, end)``: ``buf[:cut]`` is whole lines (or the source's last bytes),
        ``buf[:end]`` everything read that no earlier block held; None at the end.

        ``buf`` has ``HASH_PAD`` spare bytes after ``end`` for the kernels.
        """
        if self.ended:
            return None
        carry = self.carry
        if 2 * len(carry) <= self.block_bytes:
            buf = self._spare.pop() if self._spare else bytearray(self.block_bytes + HASH_PAD)
        else:  # after a very long line
            buf = bytearray(min(2 * len(carry), self.limit + 1) + HASH_PAD)
        buf[: len(carry)] = carry
        end = len(carry)
        while True:
            stop = len(buf) - HASH_PAD
            end += _fill(self.source, memoryview(buf)[end:stop])
            if end < stop:
                self.ended = True
                self.carry = b""
                self.offset += end
                return (buf, end, end) if end else None
            cut = buf.rfind(b"\n", 0, end) + 1
            if cut:
                self.carry = bytes(memoryview(buf)[cut:end])
                self.offset += cut
                return buf, cut, end
            if stop > self.limit:
                return self._drop_line(buf)
            # one line is longer than the block
            bigger = bytearray(min(2 * stop, self.limit + 1) + HASH_PAD)
            bigger[:end] = memoryview(buf)[:end]
            buf = bigger

    def _drop_line(self, buf: bytearray) -> _LongLine:
        """Read past the newline of the too long line that fills ``buf``, a buffer at a time."""
        long_line = _LongLine(bytes(memoryview(buf)[: self.limit]), self.limit)
        stop = len(buf) - HASH_PAD
        while True:
            end = _fill(self.source, memoryview(buf)[:stop])
            nl = buf.find(b"\n", 0, end)
            if nl >= 0:
                self.carry = bytes(memoryview(buf)[nl + 1 : end])
                return long_line
            if end < stop:
                self.ended = True
                self.carry = b""
                return long_line


class _Rest:
    """The bytes of a block not parsed yet, then the rest of its source."""

    def __init__(self, head: memoryview, source: ByteSource) -> None:
        self.name = source.name
        self._head = head
        self._source = source

    def readinto(self, view: memoryview) -> int:
        if len(self._head):
            k = min(len(view), len(self._head))
            view[:k] = self._head[:k]
            self._head = self._head[k:]
            return k
        return self._source.readinto(view)


@dataclass
class _Parsed:
    """One block's Batches (lines counted from 0), its line count and its error, if any."""

    batches: list[Batch]
    lines: int
    error: Exception | None


def _scratch(n: int) -> np.ndarray:
    """This thread's scratch buffer for the delimited kernel, at least ``n`` bytes long."""
    buf = getattr(_local, "scratch", None)
    if buf is None or len(buf) < n:
        buf = _local.scratch = np.zeros(n, np.uint8)
    return buf


class ParallelParser:
    """A pool of ``workers`` threads parsing blocks of sources; ``close`` when done.

    >>> import io
    >>> from ftrl_cli.readers.base import FeatureSpec
    >>> from ftrl_cli.readers.source import Source
    >>> from ftrl_cli.readers.vw import vw_plan
    >>> src = Source("mem", io.BytesIO(b"1 |a x\\n0 |a y\\n-1 |a z\\n"))
    >>> with ParallelParser(2) as parser:
    ...     batches = parser.run(src, vw_plan(src, FeatureSpec("vw")), 18, 100, 16)
    ...     print([b.lines.tolist() for b in batches])
    [[1, 2], [3]]
    """

    def __init__(self, workers: int, score: Callable[[Batch], np.ndarray] | None = None,
                 skip: bool = False) -> None:
        if workers < 2:
            raise ValueError("a parallel parser needs at least 2 workers")
        self.workers = workers
        self.score = score
        self.skip = skip
        self.max_inflight = INFLIGHT_PER_WORKER * workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="ftrl-parse")
        self._nnz_per_row = float(_NNZ_PER_ROW_GUESS)

    def close(self) -> None:
        """Stop the threads (blocks being parsed finish first; queued ones are dropped)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParallelParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        source: ByteSource,
        plan: Plan,
        hash_bits: int,
        batch_rows: int,
        block_bytes: int,
        *,
        quotes_span_lines: bool = False,
        offset: int = 0,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> Iterator[Batch]:
        """Parse ``source`` (its header already consumed by ``plan``) in blocks of about
        ``block_bytes``, yielding Batches in input order; ``quotes_span_lines`` for csv/tsv;
        ``offset``: where ``source``'s next byte stands in the input, for ``Batch.end``.

        Same records, line numbers, errors and skipped records as ``run_plan``; Batches also
        end at block ends.
        """
        blocks = _Blocks(source, block_bytes, max_line_bytes)
        blocks.offset = offset
        pending: deque[Future[_Parsed]] = deque()
        line = plan.start_line
        try:
            while True:
                while len(pending) >= self.max_inflight:
                    line = yield from _hand_out(pending.popleft(), line)
                try:
                    block = blocks.next()
                except FtrlError:
                    # a read error comes after the records read before it
                    while pending:
                        line = yield from _hand_out(pending.popleft(), line)
                    raise
                if block is None:
                    break
                if isinstance(block, _LongLine):
                    pending.append(self._long_line(block, source.name, 1 << hash_bits))
                    continue
                buf, cut, end = block
                start = blocks.offset - cut
                if quotes_span_lines and buf.find(b'"', 0, end) >= 0:
                    while pending:
                        line = yield from _hand_out(pending.popleft(), line)
                    rest = _Rest(memoryview(buf)[:end], blocks.source)
                    later = replace(plan, start_line=line)
                    yield from scored(run_plan(rest, later, hash_bits, batch_rows, block_bytes,
                                               offset=start, skip=self.skip,
                                               max_line_bytes=max_line_bytes), self.score)
                    return
                job = self._pool.submit(
                    self._parse, plan, buf, cut, hash_bits, batch_rows, blocks, start
                )
                pending.append(job)
                if _on_submit is not None:
                    _on_submit(len(pending))
            while pending:
                line = yield from _hand_out(pending.popleft(), line)
        finally:
            for job in pending:
                job.cancel()

    def _long_line(self, block: _LongLine, source: str, n_features: int) -> Future[_Parsed]:
        """A too long line as a parsed block of one line (line numbers from 0)."""
        error = InputError(source, 0, too_long(block.limit))
        if self.skip:
            reject = Reject(source, 0, error.message, block.head)
            batch = empty_batch(n_features, source, [(0, reject)])
            parsed = _Parsed(list(scored(iter([batch]), self.score)), 1, None)
        else:
            parsed = _Parsed([], 1, error)
        done: Future[_Parsed] = Future()
        done.set_result(parsed)
        return done

    def _parse(
        self, plan: Plan, buf: bytearray, cut: int, hash_bits: int, batch_rows: int,
        blocks: _Blocks, offset: int,
    ) -> _Parsed:
        """Parse the whole lines ``buf[:cut]`` (runs on a worker thread)."""
        arr = np.frombuffer(buf, np.uint8)
        cutter = Cutter(
            plan,
            hash_bits,
            batch_rows,
            blocks.source.name,
            first_line=0,
            lines=count_newlines(arr, cut) + 1,
            nnz_per_row=self._nnz_per_row * 1.125 + 1,
            skip=self.skip,
        )
        cutter.offset = offset
        scratch = _scratch(len(arr)) if plan.needs_scratch else None
        batches: list[Batch] = []
        try:
            for batch in scored(cutter.parse(arr, cut, True, scratch), self.score):
                batches.append(batch)
        except Exception as exc:  # handed out, in order, after the batches before it
            return _Parsed(batches, cutter.line, exc)
        del arr  # the Batches hold no reference to the bytes
        blocks.recycle(buf)
        if cutter.parsed_rows:  # the kernel's own output: crosses come after it
            self._nnz_per_row = cutter.parsed_nnz / cutter.parsed_rows
        return _Parsed(batches, cutter.line, None)


def _hand_out(job: Future[_Parsed], first_line: int) -> Generator[Batch, None, int]:
    """Yield a block's Batches with absolute line numbers; returns the next block's first line.

    ``first_line`` is the line number of the block's first line.
    """
    parsed = job.result()
    for batch in parsed.batches:
        batch.lines += first_line
        if batch.end is not None:  # a too long line skipped alone has no end of its own
            batch.end = batch.end._replace(line=batch.end.line + first_line)
        for _, reject in batch.skipped or ():
            reject.line += first_line
        yield batch
    err = parsed.error
    if isinstance(err, InputError):
        raise InputError(err.source, err.line + first_line, err.message) from None
    if err is not None:
        raise err
    return first_line + parsed.lines
