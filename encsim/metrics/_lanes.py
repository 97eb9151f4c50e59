"""Eight float64 lanes held in one vector register inside a Numba kernel, and unchecked loads.

Numba has no vector type, and LLVM's vectorizers leave a loop of eight scalar running sums (one
per column, each a chain of dependent adds) as eight scalar adds per step. `Float64x8` is one LLVM
``<8 x double>`` value: a kernel can keep it in a local variable across a loop, so eight sums move
with one vector multiply and one vector add per step, in a register. Each lane's operations are the
IEEE operations the scalar code would do (no fused multiply-add, no reassociation), so the sums are
the same bits.

Every function here takes a 1-D C-contiguous array and an element index, and reaches the element by
plain address arithmetic: no negative-index wrap-around, no bounds check, no stride multiply. The
index must lie in the array (for lanes, index .. index + 7); nothing is checked. That is the point:
in the bootstrap's inner loop, Numba's checked 2-D indexing cost more instructions than the sums,
and its stride multiplies competed with the random generator's for the one 64-bit multiplier port.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

__all__ = ["float64x8", "lanes_add_scaled", "lanes_load", "lanes_store", "load", "prefetch"]

_LANES = 8
_VECTOR = ir.VectorType(ir.DoubleType(), _LANES)


class Float64x8(types.Type):
    """Numba's type of eight float64 lanes (an LLVM ``<8 x double>``)."""

    def __init__(self):
        super().__init__(name="Float64x8")


float64x8 = Float64x8()


@register_model(Float64x8)
class _Float64x8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VECTOR)


def _element_pointer(context, builder, array_type, array, index):
    """Address of element ``index`` of a 1-D C-contiguous array: its data pointer plus index elements."""
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [builder.sext(index, ir.IntType(64)) if index.type.width < 64 else index])


def _check_flat(array) -> None:
    if not (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"):
        raise TypeError(f"a 1-D C-contiguous array is needed, not {array}")


@intrinsic
def load(typingctx, array, index):
    """``array[index]``, unchecked."""
    _check_flat(array)
    signature = array.dtype(array, index)

    def codegen(context, builder, sig, args):
        return builder.load(_element_pointer(context, builder, sig.args[0], args[0], args[1]))

    return signature, codegen


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the CPU to bring ``array[index]`` into cache (no effect on results)."""
    _check_flat(array)
    signature = types.void(array, index)

    def codegen(context, builder, sig, args):
        pointer = _element_pointer(context, builder, sig.args[0], args[0], args[1])
        byte_pointer = ir.IntType(8).as_pointer()
        function_type = ir.FunctionType(ir.VoidType(), [byte_pointer] + [ir.IntType(32)] * 3)
        function = cgutils.get_or_insert_function(builder.module, function_type, "llvm.prefetch.p0i8")
        # read access, locality 2 (keep in the outer caches), data cache
        hints = [ir.Constant(ir.IntType(32), value) for value in (0, 2, 1)]
        builder.call(function, [builder.bitcast(pointer, byte_pointer)] + hints)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def lanes_load(typingctx, array, index):
    """The eight values ``array[index:index + 8]`` of a float64 array."""
    _check_flat(array)
    signature = float64x8(array, index)

    def codegen(context, builder, sig, args):
        pointer = _element_pointer(context, builder, sig.args[0], args[0], args[1])
        return builder.load(builder.bitcast(pointer, _VECTOR.as_pointer()), align=8)

    return signature, codegen


@intrinsic
def lanes_store(typingctx, array, index, lanes):
    """``array[index:index + 8] = lanes`` for a float64 array."""
    _check_flat(array)
    signature = types.void(array, index, lanes)

    def codegen(context, builder, sig, args):
        pointer = _element_pointer(context, builder, sig.args[0], args[0], args[1])
        builder.store(args[2], builder.bitcast(pointer, _VECTOR.as_pointer()), align=8)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def lanes_add_scaled(typingctx, total, scale, lanes):
    """``total + scale * lanes``, lane by lane: a multiply, then an add (rounded separately, as in scalar code)."""
    signature = float64x8(float64x8, types.float64, float64x8)

    def codegen(context, builder, sig, args):
        total, scale, lanes = args
        index_type = ir.IntType(32)
        one_lane = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), scale, ir.Constant(index_type, 0))
        every_lane = ir.Constant(ir.VectorType(index_type, _LANES), [0] * _LANES)
        splat = builder.shuffle_vector(one_lane, ir.Constant(_VECTOR, ir.Undefined), every_lane)
        return builder.fadd(total, builder.fmul(splat, lanes))

    return signature, codegen
