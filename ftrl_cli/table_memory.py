"""Zeroed arrays for the large, randomly accessed tables: the model state and dense weights.

A hashed table is touched at random, so with 4 KiB pages nearly every feature costs a TLB
miss, and the first touch of each page a page fault (131,072 of them for 512 MB).  The
tables here live in their own anonymous mapping, aligned to and advised for 2 MiB
transparent huge pages where the kernel offers them (``madvise`` mode included): 512× fewer
faults, and a TLB that covers the whole table.  The learner's time then grows with the work,
not with the table.  The cost: a touched table is resident in 2 MiB units; the hashed
tables are touched nearly everywhere anyway.

Small arrays, and systems without ``MADV_HUGEPAGE``, get ``np.zeros``.

`prefault` maps a table in a background thread (``MADV_POPULATE_WRITE``), while the input
starts to be parsed: on this kind of VM a first touch can wait on the host, from 0.15 to
2 s for 256 MB, and the learner would otherwise wait for it page by page.
"""

from __future__ import annotations

import mmap
import threading

import numpy as np

HUGE_PAGE = 1 << 21
MADV_POPULATE_WRITE = 23  # Linux 5.14; not in the mmap module of Python 3.11
PREFAULT_CHUNK = 16 * HUGE_PAGE
# Below this an array is not worth a mapping of its own (nor a 2 MiB page).
MIN_BYTES = 4 * HUGE_PAGE


def zeros(shape: int | tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """A zero-filled array like ``np.zeros``, backed by huge pages when large enough.

    >>> a = zeros((1 << 20, 4))
    >>> a.shape, a.dtype.name, float(a.sum()), a.flags.writeable
    ((1048576, 4), 'float64', 0.0, True)
    >>> zeros(3, np.int64)
    array([0, 0, 0])
    """
    dt = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    advise = getattr(mmap, "MADV_HUGEPAGE", None)
    if nbytes < MIN_BYTES or advise is None:
        return np.zeros(shape, dtype=dt)
    # One spare huge page so the array can start on a 2 MiB boundary: only aligned 2 MiB
    # ranges can be huge pages.  A fresh anonymous mapping reads as zeros.
    area = mmap.mmap(-1, nbytes + HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        area.madvise(advise)
    except OSError:  # a kernel without transparent huge pages: plain pages still work
        pass
    raw = np.frombuffer(area, dtype=np.uint8)
    skip = -raw.ctypes.data % HUGE_PAGE
    return raw[skip : skip + nbytes].view(dt).reshape(shape)


def prefault(table: np.ndarray) -> threading.Thread | None:
    """Start mapping ``table``'s pages in a daemon thread; its values are not changed, so
    the table may be used meanwhile.  None where the kernel or C library cannot.

    >>> t = zeros((1 << 20, 4)); th = prefault(t)
    >>> _ = th and th.join(); float(t.sum())
    0.0
    """
    import ctypes

    if table.nbytes < MIN_BYTES or not table.flags.c_contiguous:
        return None
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    start = table.ctypes.data - table.ctypes.data % mmap.PAGESIZE
    end = table.ctypes.data + table.nbytes

    def run(keep_alive: np.ndarray) -> None:
        # ctypes lets go of the GIL during the call: parsing goes on meanwhile
        for lo in range(start, end, PREFAULT_CHUNK):
            if madvise(lo, min(PREFAULT_CHUNK, end - lo), MADV_POPULATE_WRITE) != 0:
                return  # an older kernel: the pages fault in on first use, as usual

    thread = threading.Thread(target=run, args=(table,), name="ftrl-prefault", daemon=True)
    thread.start()
    return thread
