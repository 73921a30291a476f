"""Software prefetch: start loading a row whose use is near, so cache misses overlap work.

Hashed features land on random rows of a table far larger than the CPU caches; each record's
rows are requested while the record before it is computed.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, arr, row):
    """Hint the CPU to bring ``arr[row]`` (a 1-D item or the start of a 2-D row) into cache,
    for writing. It changes no value; numba kernels only (``cache=True`` works)."""
    if not isinstance(arr, types.Array) or arr.ndim not in (1, 2):
        return None
    sig = types.void(arr, row)

    def codegen(context, builder, signature, args):
        arrty, rowty = signature.args
        ary = context.make_array(arrty)(context, builder, args[0])
        idx = [context.cast(builder, args[1], rowty, types.intp)]
        idx += [context.get_constant(types.intp, 0)] * (arrty.ndim - 1)
        ptr = cgutils.get_item_pointer(context, builder, arrty, ary, idx, wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # (address, 1 = for writing, 3 = keep in all cache levels, 1 = data cache)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen
