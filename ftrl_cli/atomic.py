"""Files that appear under their name only when complete: temporary file, fsync, rename."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import socket
import stat
from collections.abc import Callable, Iterator
from typing import BinaryIO


@contextlib.contextmanager
def atomic_binary(path: str) -> Iterator[BinaryIO]:
    """Write ``path`` atomically: a crash or an error leaves the old file (if any) intact.

    A new file gets the mode any new file gets (``0666`` less the umask); a replaced one
    keeps its mode and, where the process may set them, its owner and group. ``path`` is
    taken as it is: callers resolve symlinks and devices first (see ``ftrl_cli.outputs``).

    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "out.bin")
    >>> with atomic_binary(p) as fh:
    ...     _ = fh.write(b"done")
    >>> open(p, "rb").read()
    b'done'
    """
    folder, name = os.path.split(os.path.abspath(path))
    _remove_orphans(folder, name)
    fd, tmp = _create_temp(folder, name)
    try:
        with whole_writes(fd) as fh:
            yield fh
            fh.flush()
            _keep_owner_and_mode(fh.fileno(), path)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def write_fully(write: Callable[[memoryview], int], data) -> int:
    """Call ``write`` until all of ``data`` is written, and return its length.

    A short write (the disk fills up, the file-size limit is reached) makes a buffered file
    report fewer bytes written and drop the rest, which callers (pyarrow among them) do not
    check; writing on turns it into the ``OSError`` that says why.

    >>> import io
    >>> out = io.BytesIO()
    >>> write_fully(out.write, b"0.5\\n"), out.getvalue()
    (4, b'0.5\\n')
    """
    view = memoryview(data).cast("B")
    done = 0
    while done < len(view):
        done += write(view[done:])
    return done


class _WholeFileIO(io.FileIO):
    def write(self, data) -> int:
        return write_fully(super().write, data)


def whole_writes(fd: int) -> BinaryIO:
    """A buffered binary file over ``fd`` (closed with it) whose writes are never short:
    all the bytes are written, or an ``OSError`` says why not.

    >>> import tempfile
    >>> with tempfile.TemporaryFile() as tmp, whole_writes(os.dup(tmp.fileno())) as fh:
    ...     fh.write(b"abc")
    3
    """
    return io.BufferedWriter(_WholeFileIO(fd, "w"))


def _temp_prefix(name: str) -> str:
    # The target's name (shortened: names stay under the 255-byte limit) and the writer's
    # host and pid, so that a later writer of the same file can tell a dead run's leftovers.
    host = socket.gethostname().split(".")[0][:40] or "host"
    return f".{name[:100]}.ftrl-{host}-"


def _create_temp(folder: str, name: str) -> tuple[int, str]:
    # Not mkstemp: its 0600 would make every model unreadable to a service running as
    # another user. Mode 0666 lets the kernel apply the umask (or the folder's default ACL)
    # exactly as for any new file.
    prefix = _temp_prefix(name)
    for _ in range(100):
        tmp = os.path.join(folder, f"{prefix}{os.getpid()}-{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: no free temporary file name")


def _remove_orphans(folder: str, name: str) -> None:
    """Delete the temporary files of ``name`` that a killed writer on this host left.

    A process killed outright (SIGKILL, the OOM killer, a power cut) cannot remove its
    temporary file. Only files of the same target whose writer ran on this host and no longer
    exists are removed, so a live writer's file, or another machine's on a shared folder,
    is never touched.
    """
    prefix = _temp_prefix(name)
    try:
        entries = [e.name for e in os.scandir(folder) if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        pid = entry[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, entry))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, as another user's process
        return True
    return True


def _keep_owner_and_mode(fd: int, path: str) -> None:
    try:
        old = os.stat(path)
    except FileNotFoundError:
        return
    new = os.fstat(fd)
    if (old.st_uid, old.st_gid) != (new.st_uid, new.st_gid):
        # Owner first: a change of owner clears set-user-ID bits that fchmod sets below.
        for uid in (old.st_uid, -1):  # without the right to give it away, keep the group
            try:
                os.fchown(fd, uid, old.st_gid)
                break
            except OSError:
                continue
    os.fchmod(fd, stat.S_IMODE(old.st_mode))


def _fsync_folder(folder: str) -> None:
    # The rename itself is durable only once the folder's entry is on disk.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
