"""Borrowed arrays for Numba kernels: views that skip Numba's reference counting.

Numba counts references to every array it holds: binding an array to a variable, passing it to a
function (inlined or not), unpacking it from a tuple adds one with an atomic increment and drops it
with an atomic decrement. In a kernel's innermost loops those pairs are not always pruned; in the
track sampler they were about a tenth of a run's CPU time (measured with perf: the samples in
Numba's ``NRT_incref``/``NRT_decref``, attributed to their callers by the return address on the
stack). A *borrowed* array is the same array (data, shape, strides) without its memory-info
pointer: Numba's reference counting returns at once for it, with no atomic instruction.

The owner must outlive the borrowed view: borrow a kernel's arguments (their caller holds them for
the call), or arrays the kernel allocates and keeps alive with `keep_alive` after the last use of
the view (Numba releases a variable after its last use, which would otherwise free the memory under
the view).

A plain-Python caller never sees a borrowed array: use these inside njit code only.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["borrowed", "keep_alive"]


def _without_memory_info(context, builder, value_type, value):
    """The value with every array in it (at any depth of tuples) stripped of its memory-info pointer."""
    if isinstance(value_type, types.Array):
        view = context.make_array(value_type)(context, builder, value)
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()
    if isinstance(value_type, types.BaseTuple):
        items = [
            _without_memory_info(context, builder, item_type, builder.extract_value(value, i))
            for i, item_type in enumerate(value_type.types)
        ]
        return context.make_tuple(builder, value_type, items)
    return value


@intrinsic
def borrowed(typingctx, value):
    """``value`` (an array, or a tuple or named tuple holding arrays) with its arrays borrowed; any
    other value (a number, a function) is returned as it is."""
    signature = value(value)

    def codegen(context, builder, sig, args):
        return _without_memory_info(context, builder, sig.args[0], args[0])

    return signature, codegen


@intrinsic
def keep_alive(typingctx, values):
    """Nothing, but a use of ``values`` (a tuple): Numba keeps them, and what is borrowed from them, until here."""
    signature = types.void(values)

    def codegen(context, builder, sig, args):
        return context.get_dummy_value()

    return signature, codegen
