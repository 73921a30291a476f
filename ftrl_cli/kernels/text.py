"""Predictions as text, written straight into a byte buffer (no Python float per line).

A value ``v`` is printed with 9 decimals when ``1e-4 <= |v| < 1e9`` (or ``v == 0``),
otherwise in scientific notation with 9 significant digits, so probabilities near 0 keep
their relative precision.  Python's ``float()`` reads every form back.
"""

import math

import numpy as np

from ftrl_cli.kernels.jit import njit

LINE_BYTES = 24  # the longest line: "-d.dddddddde-308\n" or "-999999999.999999999\n"


@njit(nogil=True, cache=True, inline="always")
def _digits(out, pos, value, width):
    # ``value`` (>= 0) as exactly ``width`` digits, zero-padded; returns the new position.
    for i in range(width - 1, -1, -1):
        out[pos + i] = 48 + value % 10
        value //= 10
    return pos + width


@njit(nogil=True, cache=True, inline="always")
def _int(out, pos, value):
    n = 1
    v = value
    while v >= 10:
        v //= 10
        n += 1
    return _digits(out, pos, value, n)


@njit(nogil=True, cache=True, error_model="numpy")
def format_values(values, out):
    """Write one line per value into ``out`` (>= LINE_BYTES per value); return bytes used.

    >>> buf = np.empty(3 * LINE_BYTES, np.uint8)
    >>> n = format_values(np.array([0.25, 1.5e-7, -3.0]), buf)
    >>> bytes(buf[:n]).decode().split()
    ['0.250000000', '1.50000000e-07', '-3.000000000']
    """
    pos = 0
    for i in range(values.shape[0]):
        v = values[i]
        if v != v:
            out[pos] = 110  # "nan"
            out[pos + 1] = 97
            out[pos + 2] = 110
            pos += 3
        else:
            if v < 0.0:
                out[pos] = 45
                pos += 1
                v = -v
            if math.isinf(v):
                out[pos] = 105  # "inf"
                out[pos + 1] = 110
                out[pos + 2] = 102
                pos += 3
            elif v == 0.0 or 1e-4 <= v < 1e9:
                scaled = np.int64(round(v * 1e9))
                pos = _int(out, pos, scaled // 1000000000)
                out[pos] = 46
                pos = _digits(out, pos + 1, scaled % 1000000000, 9)
            else:
                e = int(math.floor(math.log10(v)))
                if e < -300:
                    # 10**e underflows for the smallest doubles: scale in two steps.
                    mant = np.int64(round(v * 1e300 / 10.0 ** (e + 300) * 1e8))
                else:
                    mant = np.int64(round(v / 10.0**e * 1e8))
                if mant >= 1000000000:
                    mant //= 10
                    e += 1
                elif mant < 100000000:
                    mant *= 10
                    e -= 1
                out[pos] = 48 + mant // 100000000
                out[pos + 1] = 46
                pos = _digits(out, pos + 2, mant % 100000000, 8)
                out[pos] = 101
                out[pos + 1] = 45 if e < 0 else 43
                pos = _digits(out, pos + 2, abs(e), 3 if abs(e) >= 100 else 2)
        out[pos] = 10
        pos += 1
    return pos
