"""Two-lane float math that the scalar kernels ask for by name.

Numba leaves LLVM's SLP vectorizer off, so two independent square roots stay two scalar
instructions, and on x86 both queue for the same divide/square-root unit: the busiest unit
of the FTRL update. One two-lane instruction does both in about the time of one.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I32 = ir.IntType(32)
_V2F64 = ir.VectorType(ir.DoubleType(), 2)


@intrinsic
def sqrt_pair(typingctx, a, b):
    """``(math.sqrt(a), math.sqrt(b))`` in one instruction, for float64 or float32 arguments.

    IEEE square roots are correctly rounded, so a float64 lane equals the scalar result bit
    for bit. A float32 argument is widened, and its root rounded back: rounding twice is
    exact for square roots when the wide format has at least 2 * 24 + 2 bits (it has 53).
    """
    floats = (types.float32, types.float64)
    if a not in floats or b not in floats:
        return None

    def codegen(context, builder, signature, args):
        v = ir.Constant(_V2F64, ir.Undefined)
        for i, (arg, ty) in enumerate(zip(args, signature.args)):
            wide = builder.fpext(arg, ir.DoubleType()) if ty == types.float32 else arg
            v = builder.insert_element(v, wide, ir.Constant(_I32, i))
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V2F64, [_V2F64]),
                                            "llvm.sqrt.v2f64")
        r = builder.call(fn, [v])
        lanes = []
        for i, ty in enumerate(signature.args):
            lane = builder.extract_element(r, ir.Constant(_I32, i))
            lanes.append(builder.fptrunc(lane, ir.FloatType()) if ty == types.float32 else lane)
        return context.make_tuple(builder, signature.return_type, lanes)

    return types.Tuple((a, b))(a, b), codegen
