"""Opening inputs: files or stdin (``-``), transparent decompression, peeking at the head.

Compression is chosen by the file name's suffix (``.gz``, ``.bz2``, ``.xz``, ``.zst``) or,
without one, by the first bytes (the formats' magic numbers): a gzip file named ``day.vw``
reads as well as ``day.vw.gz``, and stdin, which has no name, is checked the same way.
"""

from __future__ import annotations

import io
import lzma
import os
import sys
from collections.abc import Callable
from typing import BinaryIO

import pyarrow as pa

from ftrl_cli.errors import FtrlError

STDIN_NAME = "<stdin>"

_ARROW_CODECS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
_MAGIC = (
    (b"\x1f\x8b", ".gz"),
    (b"BZh", ".bz2"),
    (b"\xfd7zXZ\x00", ".xz"),
    (b"\x28\xb5\x2f\xfd", ".zst"),
)
_BOM = b"\xef\xbb\xbf"


def compression_suffix(path: str) -> str | None:
    """The compression suffix of ``path`` (``".gz"``...), or None.

    >>> compression_suffix("day_0.tsv.gz"), compression_suffix("train.vw")
    ('.gz', None)
    """
    ext = os.path.splitext(path)[1].lower()
    return ext if ext in _ARROW_CODECS or ext == ".xz" else None


def strip_compression(path: str) -> str:
    """``path`` without its compression suffix.

    >>> strip_compression("a.csv.zst")
    'a.csv'
    """
    return path[: -len(ext)] if (ext := compression_suffix(path)) else path


def _never(head: bytes) -> bool:
    return False


def _peek_prefix(source: Source, prefixes: tuple[bytes, ...]) -> bytes:
    """Peek until ``source`` surely does or does not start with one of ``prefixes``: on a
    live stream, no longer than its first bytes take to arrive."""

    def decided(head: bytes) -> bool:
        return not any(len(head) < len(p) and p.startswith(head) for p in prefixes)

    return source.peek_until(decided, max(map(len, prefixes)))


class Source:
    """A binary input that can be peeked at without losing bytes.

    >>> src = Source("mem", io.BytesIO(b"1 |a\\n"))
    >>> src.peek(2), src.read(10)
    (b'1 ', b'1 |a\\n')
    """

    def __init__(self, name: str, stream: BinaryIO, *, owned: bool = True,
                 position: Callable[[], int] | None = None) -> None:
        """``position``: where the input under a decompressing ``stream`` stands (else the
        bytes read from ``stream`` are counted)."""
        self.name = name
        self._stream = stream
        self._owned = owned
        self._position = position
        self._read = 0  # bytes read from the stream, or the last position seen
        self._head = bytearray()
        self._eof = False
        self._readinto = getattr(stream, "readinto", None)
        self._pos = 0  # bytes handed out (read or discarded)
        self.seekable = False  # a plain file: skip_to seeks instead of reading
        # called with each run of bytes ``readinto`` hands out (empty at the end), e.g. to
        # read feature names from the records the parser gets (``feature_names_read``)
        self.tap: Callable[[memoryview], None] | None = None
        self._stop: int | None = None  # the input ends here (``stop_at``)

    def _room(self, n: int) -> int:
        """``n``, or fewer where ``stop_at`` ends the input sooner."""
        if self._stop is None:
            return n
        return max(0, min(n, self._stop - self._pos - len(self._head)))

    def stop_at(self, offset: int) -> None:
        """End the input at byte ``offset`` of the stream: a reader sees the bytes before it
        only (a byte range of a file, cut at a line start, reads as a whole file would).

        >>> src = Source("mem", io.BytesIO(b"ab\\ncd\\n")); src.stop_at(3); src.read(10)
        b'ab\\n'
        >>> src = Source("mem", io.BytesIO(b"ab\\ncd\\n")); _ = src.peek(6); src.stop_at(3)
        >>> src.read(10)  # what was peeked past the end is dropped
        b'ab\\n'
        """
        if offset < self._pos:
            raise ValueError("can only stop ahead of what was read")
        past = self._pos + len(self._head) - offset
        if past > 0:
            del self._head[len(self._head) - past:]
        self._stop = offset

    def _raw_read(self, n: int) -> bytes:
        n = self._room(n)
        if n == 0:
            return b""
        try:
            chunk = self._stream.read(n)
            self._read += len(chunk)
            return chunk
        except (OSError, EOFError, lzma.LZMAError, pa.ArrowException) as exc:
            raise FtrlError(f"{self.name}: cannot read: {exc}") from exc

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes from the current position, left in place for later reads."""
        return self.peek_until(_never, n)

    def peek_until(self, enough: Callable[[bytes], bool], limit: int) -> bytes:
        """Peek as far as ``enough(head)`` needs, at most ``limit`` bytes, without waiting
        for more: each read returns what a pipe holds, so a live stream is not stalled.

        >>> src = Source("mem", io.BytesIO(b"ab\\ncd\\n"))
        >>> src.peek_until(lambda head: b"\\n" in head, 100), src.read(100)
        (b'ab\\ncd\\n', b'ab\\ncd\\n')
        """
        while len(self._head) < limit and not self._eof and not enough(bytes(self._head)):
            chunk = self._raw_read(limit - len(self._head))
            if not chunk:
                self._eof = True
            self._head += chunk
        return bytes(self._head[:limit])

    def discard(self, n: int) -> None:
        """Drop ``n`` bytes that were already peeked at."""
        if n > len(self._head):
            raise ValueError("can only discard peeked bytes")
        del self._head[:n]
        self._pos += n

    def tell(self) -> int:
        """Bytes read or discarded so far (of the decompressed stream)."""
        return self._pos

    def skip_to(self, offset: int) -> None:
        """Go on reading at byte ``offset``: a plain file seeks, a compressed one reads up to
        it (ahead of the current position only).

        >>> src = Source("mem", io.BytesIO(b"ab\\ncd\\n"))
        >>> src.skip_to(3); src.read(10)
        b'cd\\n'
        """
        if offset < self._pos:
            raise ValueError("can only skip ahead")
        self.discard(min(len(self._head), offset - self._pos))
        if self.seekable and offset > self._pos:
            self._stream.seek(offset)
            self._pos = offset
        while self._pos < offset:
            if not self.read(min(offset - self._pos, 1 << 20)):
                raise FtrlError(f"{self.name}: ends before byte {offset}")

    def read(self, n: int) -> bytes:
        out = self.peek(n)
        self.discard(len(out))
        return out

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` with the next bytes; returns how many (0 at the end)."""
        if self._head:
            k = min(len(view), len(self._head))
            view[:k] = self._head[:k]
            del self._head[:k]
            self._pos += k
            if self.tap is not None:
                self.tap(view[:k])
            return k
        if self._eof:
            if self.tap is not None:
                self.tap(view[:0])
            return 0
        if self._stop is not None:
            view = view[: self._room(len(view))]
            if not len(view):
                self._eof = True
                return 0
        if self._readinto is not None:
            try:
                n = self._readinto(view)
            except (OSError, EOFError, lzma.LZMAError, pa.ArrowException) as exc:
                raise FtrlError(f"{self.name}: cannot read: {exc}") from exc
            self._read += n or 0
        else:
            chunk = self._raw_read(len(view))
            n = len(chunk)
            view[:n] = chunk
        if not n:
            self._eof = True
        self._pos += n or 0
        if self.tap is not None:
            self.tap(view[: n or 0])
        return n or 0

    @property
    def bytes_read(self) -> int:
        """How many bytes of the input were read so far, compressed bytes for a compressed
        input: a cheap counter for progress reports, safe to read from any thread.

        >>> src = Source("mem", io.BytesIO(b"1 |a\\n0 |b\\n"))
        >>> _ = src.peek(3); src.bytes_read, len(src.read(100)), src.bytes_read
        (3, 10, 10)
        """
        if self._position is not None:
            try:
                self._read = self._position()
            except (OSError, ValueError, pa.ArrowException):
                pass  # closed: the last position seen
        return self._read

    def ready(self) -> bool:
        """Whether the next read would return at once (data waiting, or the end)."""
        if self._head or self._eof:
            return True
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return True
        import select

        try:
            return bool(select.select([fd], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def skip_bom(self) -> None:
        if _peek_prefix(self, (_BOM,)).startswith(_BOM):
            self.discard(len(_BOM))

    def close(self) -> None:
        if self._owned:
            self._stream.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Reader(io.RawIOBase):
    """A raw stream over a Source, so a decompressor can read it after it was peeked at."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:
        return self._source.readinto(memoryview(b).cast("B"))

    def close(self) -> None:
        # the decompressor closes this when its Source is closed: close the file under it
        if not self.closed:
            self._source.close()
        super().close()


def _decompressing(stream: BinaryIO | str, suffix: str | None
                   ) -> tuple[BinaryIO, Callable[[], int] | None]:
    """A binary stream over ``stream`` (an open file or a path) decompressing ``suffix``, and
    for a compressed file at a path, how to tell how far into the file it has read."""
    if suffix is None:
        return (open(stream, "rb") if isinstance(stream, str) else stream), None
    if suffix == ".xz":
        xz = lzma.open(stream, "rb")
        return xz, (lambda: os.lseek(xz.fileno(), 0, os.SEEK_CUR)) if isinstance(
            stream, str) else None
    raw = pa.OSFile(stream) if isinstance(stream, str) else stream
    return (pa.input_stream(raw, compression=_ARROW_CODECS[suffix]),
            raw.tell if isinstance(stream, str) else None)


def _magic_suffix(head: bytes) -> str | None:
    """The compression suffix whose magic number ``head`` starts with, or None.

    >>> _magic_suffix(b"\\x1f\\x8b\\x08"), _magic_suffix(b"1 |a")
    ('.gz', None)
    """
    return next((ext for magic, ext in _MAGIC if head.startswith(magic)), None)


def _by_magic(plain: Source) -> Source:
    """``plain``, decompressed if its first bytes are a compression format's magic number."""
    # only as many bytes as it takes to rule each magic number in or out: a live stream
    # starting with a plain record must not wait for more
    suffix = _magic_suffix(_peek_prefix(plain, tuple(magic for magic, _ in _MAGIC)))
    if suffix is None:
        return plain
    stream, _ = _decompressing(io.BufferedReader(_Reader(plain)), suffix)
    return Source(plain.name, stream, position=lambda: plain.bytes_read)


def _file_magic(path: str) -> str | None:
    """The compression of regular file ``path`` by its magic number (None for a pipe: its
    bytes can be read only once, so ``open_source`` sniffs them through a Source)."""
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as fh:
        return _magic_suffix(fh.read(6))


_stdin_cache: tuple[object, Source] | None = None


def _stdin() -> Source:
    """One Source per ``sys.stdin`` object, so format sniffing keeps the bytes it saw."""
    global _stdin_cache
    raw = sys.stdin.buffer
    if _stdin_cache is not None and _stdin_cache[0] is raw:
        return _stdin_cache[1]
    # The unbuffered file under sys.stdin: each read is one system call that returns what the
    # pipe holds, so a live stream is parsed as it arrives (nothing else has read stdin yet).
    source = _by_magic(Source(STDIN_NAME, getattr(raw, "raw", raw), owned=False))
    source.skip_bom()
    _stdin_cache = (raw, source)
    return source


def open_source(path: str) -> Source:
    """Open ``path`` (``-`` is stdin) for reading, decompressing by suffix or magic number.

    >>> import tempfile, gzip
    >>> p = tempfile.mktemp(suffix=".vw.gz")
    >>> _ = open(p, "wb").write(gzip.compress(b"1 |a\\n"))
    >>> with open_source(p) as src: src.read(100)
    b'1 |a\\n'
    """
    if path == "-":
        return _stdin()
    try:
        suffix = compression_suffix(path) or _file_magic(path)
        stream, position = _decompressing(path, suffix)
    except (OSError, pa.ArrowException) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise FtrlError(f"cannot open {path}: {reason}") from exc
    source = Source(path, stream, position=position)
    if suffix is None and not os.path.isfile(path):
        source = _by_magic(source)
    elif suffix is None:
        source.seekable = True
    source.skip_bom()
    return source
