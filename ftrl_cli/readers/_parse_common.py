"""Numba building blocks shared by the format kernels: state layout, numbers, outputs.

Every kernel has the same contract.  It parses records from ``buf[st[POS]:end]`` and appends
them to preallocated output arrays, keeping its cursor in the int64 array ``st`` so that a
call can stop anywhere and the next one resumes.  It stops with one of the statuses below;
``NEED_MORE`` leaves ``st[POS]`` at the start of the first incomplete record so the caller
can carry those bytes over to the next chunk.

Numbers follow ``[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?``.  Values with at most
18 significant digits whose decimal exponent is small are converted exactly (one correctly
rounded operation on exact operands); the rare rest are reported as "fixups" that Python
re-converts with ``float()`` so that every value is the correctly rounded double.
"""

from __future__ import annotations

import math

import numpy as np
from numba.core import cgutils
from numba.extending import intrinsic

from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.memory import load_u64le, trailing_zeros

# layout of the state array; NUMERIC_LABELS is set by the caller: 1 reads labels as the
# numbers they are (regression), 0 as the classes 0/1
(POS, LINE, ROWS, NNZ, NFIX, MAXROWS, ERR, ERR_LINE, ERR_START, ERR_END, ERR_ARG,
 NUMERIC_LABELS) = range(12)
STATE_SIZE = 12

# kernel statuses
DONE, NEED_MORE, ROWS_FULL, NNZ_FULL, FIX_FULL, ERROR = range(6)
# what a fixup re-converts
FIX_DATA, FIX_WEIGHT, FIX_BASE, FIX_LABEL = 0, 1, 2, 3

# error codes (messages live in the Python readers)
(
    E_LABEL,
    E_WEIGHT,
    E_VALUE,
    E_INDEX,
    E_HEADER_TOKEN,
    E_NO_BAR,
    E_SCALE,
    E_COLUMNS,
    E_UNTERMINATED,
    E_AFTER_QUOTE,
    E_INTEGER,
    E_BASE,
    E_NUMBER_LABEL,
) = range(1, 14)

NL = 10
CR = 13
SPACE = 32
TAB = 9

_POW10 = np.array([10.0**i for i in range(23)])
_EXACT_MANTISSA = 1 << 53
_MAX_DIGITS = 18
_MAX_DOUBLE = 1.7976931348623157e308

# number kinds returned by parse_float
BAD, EXACT, INEXACT = 0, 1, 2


@intrinsic
def borrow(typingctx, arr):
    """The same array without reference counting, for passing to helpers in hot loops.

    Numba increfs and decrefs (atomically) every array handed to a function, even an
    inlined one: per token that costs more than the parsing.  A view whose meminfo is NULL
    makes those no-ops.  Only valid while ``arr`` itself is alive, so use it for kernel
    arguments and never return or store it.
    """

    def codegen(context, builder, sig, args):
        view = cgutils.create_struct_proxy(sig.return_type)(context, builder, value=args[0])
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()

    return arr(arr), codegen


@njit(nogil=True, cache=True, inline="always")
def at(buf, i):
    """``buf[i]`` for ``i >= 0``.  An unsigned index spares numba's negative-index check,
    which it does not remove from the scan loops of the big kernels: about a tenth of their
    time went into it."""
    return buf[np.uint64(i)]


ONES = np.uint64(0x0101010101010101)
HIGHS = np.uint64(0x8080808080808080)


@njit(nogil=True, cache=True, inline="always")
def zero_bytes(x):
    """The high bit of every zero byte of ``x`` and maybe of bytes above the first one, so
    the lowest set bit is exactly the first zero byte's (0 when there is none)."""
    return (x - ONES) & ~x & HIGHS


@njit(nogil=True, cache=True, inline="always")
def field_end(buf, q, end, delim):
    """Index of the first ``delim`` or ``\\n`` in ``buf[q:end]``, or ``end``.

    Eight bytes at a time: a field is a few bytes long, and a loop over single bytes paid a
    mispredicted branch at the end of each one.
    """
    seps = ONES * np.uint64(delim)
    nls = ONES * np.uint64(NL)
    while q + 8 <= end:
        w = load_u64le(buf, q)
        hits = zero_bytes(w ^ seps) | zero_bytes(w ^ nls)
        if hits != 0:
            return q + np.int64(trailing_zeros(hits) >> np.uint64(3))
        q += 8
    while q < end and at(buf, q) != delim and at(buf, q) != NL:
        q += 1
    return q


@njit(nogil=True, cache=True, inline="always")
def is_space(c):
    return c == SPACE or c == TAB


@njit(nogil=True, cache=True)
def find_newline(buf, pos, end):
    """Index of the first ``\\n`` in ``buf[pos:end]``, or ``end``.

    ``field_end`` with the newline as the separator too (its two tests fold into one): the
    vw and libsvm kernels find each record's end before parsing it, so this scan sees every
    byte of their input, eight at a time.
    """
    return field_end(buf, pos, end, NL)


@njit(nogil=True, cache=True)
def _scale_pow10(v, e):
    # only for the inexact path: avoid spurious overflow/underflow of 10**e alone
    while e > 300:
        v *= 1e300
        e -= 300
    while e < -300:
        v *= 1e-300
        e += 300
    return v * 10.0**e


@njit(nogil=True, cache=True)
def scan_float(buf, s, e):
    """Read the longest number at ``buf[s:e]``: ``(kind, value, stop)``, kind BAD/EXACT/INEXACT.

    ``stop`` is where the number ends; callers check that a separator follows.
    """
    if s >= e:
        return BAD, 0.0, s
    p = s
    neg = False
    c = buf[p]
    if c == 45:  # '-'
        neg = True
        p += 1
    elif c == 43:  # '+'
        p += 1
    # fast path: a plain integer of at most 15 digits is exact as it stands
    q = p
    small = np.int64(0)
    while q < e:
        d = np.int64(buf[q]) - 48
        if d < 0 or d > 9:
            break
        small = small * 10 + d
        q += 1
    if 0 < q - p <= 15 and (q == e or (buf[q] != 46 and (buf[q] | 32) != 101)):
        v = float(small)
        return EXACT, -v if neg else v, q
    mant = np.int64(0)
    nsig = 0
    ndig = 0
    exp10 = 0
    dropped = False
    while p < e:
        d = np.int64(buf[p]) - 48
        if d < 0 or d > 9:
            break
        ndig += 1
        if nsig < _MAX_DIGITS:
            if mant != 0 or d != 0:
                mant = mant * 10 + d
                nsig += 1
        else:
            exp10 += 1
            if d != 0:
                dropped = True
        p += 1
    if p < e and buf[p] == 46:  # '.'
        p += 1
        while p < e:
            d = np.int64(buf[p]) - 48
            if d < 0 or d > 9:
                break
            ndig += 1
            if nsig < _MAX_DIGITS:
                if mant != 0 or d != 0:
                    mant = mant * 10 + d
                    nsig += 1
                exp10 -= 1
            elif d != 0:
                dropped = True
            p += 1
    if ndig == 0:
        return BAD, 0.0, p
    if p < e and (buf[p] == 101 or buf[p] == 69):  # 'e' / 'E'
        p += 1
        eneg = False
        if p < e and (buf[p] == 45 or buf[p] == 43):
            eneg = buf[p] == 45
            p += 1
        ev = 0
        nexp = 0
        while p < e:
            d = np.int64(buf[p]) - 48
            if d < 0 or d > 9:
                break
            if ev < 100000:
                ev = ev * 10 + d
            nexp += 1
            p += 1
        if nexp == 0:
            return BAD, 0.0, p
        exp10 += -ev if eneg else ev
    if mant == 0 or nsig + exp10 < -323:
        # below 1e-324 every decimal rounds to zero
        return EXACT, -0.0 if neg else 0.0, p
    kind = INEXACT
    v = float(mant)
    if not dropped and mant <= _EXACT_MANTISSA:
        if 0 <= exp10 <= 22:
            v *= _POW10[exp10]
            kind = EXACT
        elif -22 <= exp10 < 0:
            v /= _POW10[-exp10]
            kind = EXACT
        elif 22 < exp10 <= 22 + 15:
            # move the excess into the mantissa while it stays exact ("1e30")
            m2 = mant
            k = exp10 - 22
            while k > 0 and m2 <= _EXACT_MANTISSA:
                m2 *= 10
                k -= 1
            if k == 0 and m2 <= _EXACT_MANTISSA:
                v = float(m2) * _POW10[22]
                kind = EXACT
    if kind == INEXACT:
        v = _scale_pow10(v, exp10)
        if math.isinf(v):
            if nsig + exp10 > 309:
                return BAD, math.inf, p  # at least 1e309: beyond any double
            # may still be a finite double near the top: the fixup decides
            v = _MAX_DOUBLE
    return kind, -v if neg else v, p


@njit(nogil=True, cache=True)
def parse_float(buf, s, e):
    """Parse all of ``buf[s:e]`` as a number: ``(kind, value)``."""
    kind, v, p = scan_float(buf, s, e)
    if p != e:
        return BAD, v
    return kind, v


@njit(nogil=True, cache=True, inline="always")
def parse_int(buf, s, e):
    """Parse ``buf[s:e]`` as ``[+-]?digits`` (at most 18 digits): ``(ok, value)``."""
    p = s
    neg = False
    if p < e and (buf[p] == 45 or buf[p] == 43):
        neg = buf[p] == 45
        p += 1
    if p >= e or e - p > 18:
        return False, 0
    v = np.int64(0)
    while p < e:
        d = np.int64(buf[p]) - 48
        if d < 0 or d > 9:
            return False, 0
        v = v * 10 + d
        p += 1
    return True, -v if neg else v


@njit(nogil=True, cache=True)
def parse_label(buf, s, e, numeric):
    """``(label, inexact)``: a class, ``-1``/``0`` -> 0.0 and ``1`` -> 1.0 (any numeric
    spelling), or with ``numeric`` any finite number as it is; NaN if anything else.

    ``inexact`` (numeric only) means the value must be re-converted by a fixup.
    """
    kind, v = parse_float(buf, s, e)
    if kind != BAD:
        if numeric:
            if math.isfinite(v):
                return v, kind == INEXACT
        elif v == 1.0:
            return 1.0, False
        elif v == 0.0 or v == -1.0:
            return 0.0, False
    return math.nan, False


@njit(nogil=True, cache=True)
def label_error(numeric):
    """The error code of a bad label: the wording differs for numbers and classes."""
    return E_NUMBER_LABEL if numeric else E_LABEL


@njit(nogil=True, cache=True, inline="always")
def row_fix(fix_idx, fix_kind, fix_s, fix_e, fix_mult, nfix, row, kind, s, e):
    """Have Python convert ``buf[s:e]`` into row ``row``'s ``kind`` value; returns ``nfix``."""
    fix_idx[nfix] = row
    fix_kind[nfix] = kind
    fix_s[nfix] = s
    fix_e[nfix] = e
    fix_mult[nfix] = 1.0
    return nfix + 1


@njit(nogil=True, cache=True)
def set_error(st, code, line, s, e, arg):
    st[ERR] = code
    st[ERR_LINE] = line
    st[ERR_START] = s
    st[ERR_END] = e
    st[ERR_ARG] = arg


@njit(nogil=True, cache=True)
def save(st, pos, line, rows, nnz, nfix):
    st[POS] = pos
    st[LINE] = line
    st[ROWS] = rows
    st[NNZ] = nnz
    st[NFIX] = nfix
