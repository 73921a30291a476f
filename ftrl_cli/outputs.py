"""Where an output path really leads, and how to write it without destroying what is there.

A regular file (or a new path) is replaced atomically beside its real location, symlinks
followed. Anything else -- a terminal, ``/dev/null``, a FIFO, a socket, an inherited file
descriptor (``/dev/fd/N``, ``/dev/stdout``, ``/proc/self/fd/N``) -- belongs to someone else
and is written in place, never swapped for a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ftrl_cli.atomic import atomic_binary, whole_writes
from ftrl_cli.errors import FtrlError, SystemIOError

# A folder of open file descriptors, once symlinks are resolved: Linux's /proc/PID/fd (also
# reached through /dev/fd, /proc/self and /proc/thread-self) and the BSDs' fdescfs /dev/fd.
_FD_FOLDER = re.compile(r"/proc/(?P<pid>\d+)(?:/task/\d+)?/fd|/dev/fd")
_MAX_LINKS = 40  # as the kernel's ELOOP limit

# What the system answers when it will not store a file: full disk, file-size limit, quota,
# read-only file system, no permission, a failing device.  Not the input's fault: exit 1.
_REFUSED = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES,
                      errno.EPERM, errno.EIO})


@dataclass(frozen=True)
class Destination:
    """Where the bytes written to ``given`` end up.

    ``kind`` is ``"replace"`` (a regular file or a new one at ``path``, swapped in
    atomically), ``"device"`` (a device, FIFO or socket at ``path``, written in place) or
    ``"fd"`` (this process's open file descriptor ``fd``, written through a copy of it).
    """

    given: str
    path: str
    kind: str
    fd: int | None = None


def resolve(path: str) -> Destination:
    """Follow ``path``'s symlinks to where its data really goes.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.symlink("real.txt", os.path.join(folder, "link.txt"))
    >>> d = resolve(os.path.join(folder, "link.txt"))
    >>> d.kind, d.path == os.path.join(os.path.realpath(folder), "real.txt")
    ('replace', True)
    >>> resolve("/dev/fd/1").kind, resolve("/dev/fd/1").fd
    ('fd', 1)
    """
    p = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        # Resolve the folder first: a file descriptor folder is recognised by where it is,
        # and its entries are not ordinary symlinks (a pipe's reads "pipe:[1234]").
        folder = os.path.realpath(os.path.dirname(p))
        p = os.path.join(folder, os.path.basename(p))
        fd_folder = _FD_FOLDER.fullmatch(folder)
        if fd_folder:
            ours = fd_folder["pid"] in (None, str(os.getpid()))
            name = os.path.basename(p)
            fd = int(name) if ours and name.isdigit() else None
            return Destination(path, p, "fd" if fd is not None else "device", fd)
        if not os.path.islink(p):
            break
        p = os.path.join(folder, os.readlink(p))
    else:
        raise FtrlError(f"{path}: too many levels of symbolic links")
    try:
        mode = os.stat(p).st_mode
    except OSError:
        return Destination(path, p, "replace")
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return Destination(path, p, "replace")
    return Destination(path, p, "device")


def check_writable(path: str) -> None:
    """Fail before the work, not after, when the output cannot be written where it goes.

    >>> check_writable("/no/such/folder/out.txt")
    Traceback (most recent call last):
    ...
    ftrl_cli.errors.FtrlError: /no/such/folder/out.txt: folder /no/such/folder does not exist
    """
    dest = resolve(path)
    if dest.kind == "fd":
        _check_fd(dest)
    elif dest.kind == "device":
        if not os.path.exists(dest.path):
            raise FtrlError(f"{path}: no such file or device")
        if not os.access(dest.path, os.W_OK):
            raise SystemIOError(f"{path}: permission denied")
    else:
        folder = os.path.dirname(dest.path)
        if not os.path.isdir(folder):
            raise FtrlError(f"{path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise SystemIOError(f"{path}: folder {folder} is not writable")
        if os.path.isdir(dest.path):
            raise FtrlError(f"{path}: is a folder")


def _check_fd(dest: Destination) -> None:
    import fcntl

    try:
        flags = fcntl.fcntl(dest.fd, fcntl.F_GETFL)
    except OSError:
        raise FtrlError(f"{dest.given}: file descriptor {dest.fd} is not open") from None
    if flags & os.O_ACCMODE not in (os.O_WRONLY, os.O_RDWR):
        raise FtrlError(f"{dest.given}: file descriptor {dest.fd} is not open for writing")


@contextlib.contextmanager
def open_output(path: str) -> Iterator[BinaryIO]:
    """Open ``path`` for writing the way its destination needs (see :func:`resolve`).

    A regular file appears complete or not at all, the old one kept on any error (a full
    disk or a refused write becomes a one-line :class:`SystemIOError`); a device, FIFO,
    socket or file descriptor is written in place.

    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with open_output(p) as fh:
    ...     _ = fh.write(b"0.5\\n")
    >>> open(p, "rb").read()
    b'0.5\\n'
    """
    check_writable(path)
    dest = resolve(path)
    if dest.kind == "replace":
        with refused_as_error(path), atomic_binary(dest.path) as fh:
            yield fh
        return
    with _open_in_place(dest) as fh:
        yield fh


@contextlib.contextmanager
def refused_as_error(path: str) -> Iterator[None]:
    """Turn the system's refusal to store ``path`` (see ``_REFUSED``) into a one-line
    :class:`SystemIOError`, such as ``model.parquet: no space left on device``.

    >>> with refused_as_error("m.parquet"):
    ...     raise OSError(errno.ENOSPC, "No space left on device")
    Traceback (most recent call last):
    ...
    ftrl_cli.errors.SystemIOError: m.parquet: no space left on device
    """
    try:
        yield
    except OSError as e:
        reason = refused_reason(e)
        if reason is None:
            raise
        raise SystemIOError(f"{path}: {reason}") from None


def refused_reason(e: OSError) -> str | None:
    """``"no space left on device"`` and the like when ``e`` is the system refusing to store
    data, else ``None``.

    >>> refused_reason(OSError(errno.EFBIG, "File too large")), refused_reason(OSError(0, "x"))
    ('file too large', None)
    """
    if e.errno not in _REFUSED:
        return None
    return (e.strerror or os.strerror(e.errno)).lower()


@contextlib.contextmanager
def _open_in_place(dest: Destination) -> Iterator[BinaryIO]:
    if dest.kind == "fd":
        # A copy of the descriptor shares its offset and append mode, as a shell redirect
        # does; reopening /proc/self/fd/N would start at byte 0 of a redirected file.
        with whole_writes(os.dup(dest.fd)) as fh:
            yield fh
        return
    if stat.S_ISSOCK(os.stat(dest.path).st_mode):
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            try:
                sock.connect(dest.path)
            except OSError as e:
                raise FtrlError(f"{dest.given}: cannot connect: {e.strerror}") from None
            with sock.makefile("wb") as fh:
                yield fh
        return
    # No O_CREAT: should the device vanish meanwhile, fail rather than create a file there.
    with whole_writes(os.open(dest.path, os.O_WRONLY)) as fh:
        yield fh

