"""Raw memory access for the hot loops: unaligned word loads and software prefetch.

Numba indexes arrays with signed integers and guards every access against negative
indices; where the caller knows the bytes are there, these intrinsics load directly.
"""

import sys

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I8P = ir.IntType(8).as_pointer()
_I32 = ir.IntType(32)


def _address(context, builder, arrty, arr, index, indexty):
    """Pointer to ``arr[index]`` (1-D) or ``arr[index, 0]`` (2-D), without wraparound."""
    ary = context.make_array(arrty)(context, builder, arr)
    idx = [context.cast(builder, index, indexty, types.intp)]
    idx += [context.get_constant(types.intp, 0)] * (arrty.ndim - 1)
    return cgutils.get_item_pointer(context, builder, arrty, ary, idx, wraparound=False)


def _load_le(bits: int, doc: str):
    """An intrinsic loading ``buf[i:i+bits/8]`` of a uint8 array as a little-endian word."""
    word_t = ir.IntType(bits)
    result = types.uint32 if bits == 32 else types.uint64

    def load(typingctx, buf, i):
        if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.dtype == types.uint8):
            return None

        def codegen(context, builder, signature, args):
            ptr = _address(context, builder, signature.args[0], args[0], args[1],
                           signature.args[1])
            word = builder.load(builder.bitcast(ptr, word_t.as_pointer()), align=1)
            if sys.byteorder == "big":
                fnty = ir.FunctionType(word_t, [word_t])
                bswap = cgutils.get_or_insert_function(builder.module, fnty,
                                                       f"llvm.bswap.i{bits}")
                word = builder.call(bswap, [word])
            return word

        return result(buf, i), codegen

    load.__name__ = load.__qualname__ = f"load_u{bits}le"
    load.__doc__ = doc
    return intrinsic(load)


load_u32le = _load_le(32, """The four bytes ``buf[i:i+4]`` of a uint8 array as a little-endian
uint32: one unaligned load instead of four byte loads; the caller guarantees ``i + 4 <= len``.""")

load_u64le = _load_le(64, """The eight bytes ``buf[i:i+8]`` of a uint8 array as a little-endian
uint64; the caller guarantees ``i + 8 <= len``.""")


@intrinsic
def trailing_zeros(typingctx, x):
    """Number of trailing zero bits of an unsigned 64-bit integer (64 for zero)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return types.uint64(x), codegen


@intrinsic
def prefetch(typingctx, arr, row):
    """Hint the CPU to bring ``arr[row]`` (a 1-D item or the start of a 2-D row) into cache
    for writing, so that the miss overlaps other work. It changes no value."""
    if not isinstance(arr, types.Array) or arr.ndim not in (1, 2):
        return None

    def codegen(context, builder, signature, args):
        ptr = _address(context, builder, signature.args[0], args[0], args[1], signature.args[1])
        fnty = ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # (address, 1 = for writing, 3 = keep in all cache levels, 1 = data cache)
        builder.call(fn, [builder.bitcast(ptr, _I8P), _I32(1), _I32(3), _I32(1)])
        return context.get_dummy_value()

    return types.void(arr, row), codegen
