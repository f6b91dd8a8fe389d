"""log and exp that compiled loops can vectorize: the inner loop of every money term.

Expected utility over value nodes spends its time in one log and one exp per node. The C
library's scalar calls keep those loops scalar; these branch-free versions (bit manipulation,
polynomials, one division each) let LLVM run 4 nodes per AVX2 instruction, about twice as fast
per node here, within a few units in the last place (relative error below 1e-15, checked against
numpy in the tests).

They are numba functions for use inside other numba functions; call sites keep their own
fastmath flags, and these stay strict (``contract`` only) so that no reassociation can undo the
range reduction.
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["exp_expm1", "fast_log"]

_LN2_HI = 6.93147180369123816490e-01  # ln 2 with its low bits split off (exact n * LN2_HI)
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.4426950408889634
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it leaves an integer in the low mantissa bits
_SHIFT_BITS = 0x4338000000000000
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # bits of sqrt(1/2)
_MANTISSA = 0x000FFFFFFFFFFFFF
#: exp's argument is clamped to this range, where 2**n stays a normal double.
EXP_MIN = -708.0
EXP_MAX = 709.0


def _bits_of_float(typingctx: Any, x: Any) -> Any:
    """The IEEE-754 bits of a float64 as an int64 (a bit cast, no conversion)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


def _float_of_bits(typingctx: Any, x: Any) -> Any:
    """The float64 whose IEEE-754 bits are the int64 ``x``."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_bits: Any = intrinsic(_bits_of_float)
_from_bits: Any = intrinsic(_float_of_bits)


@nb.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def fast_log(x: float) -> float:
    """Natural log of a positive normal float64 (x >= 2.3e-308, finite); no checks.

    x = 2**e * m with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(f), f = (m - 1) / (m + 1),
    |f| <= 0.172, from its series to f**23 (truncation below 1e-18).
    """
    b = _bits(x) - _SQRT_HALF_BITS
    e = b >> 52
    m: float = _from_bits((b & _MANTISSA) + _SQRT_HALF_BITS)
    ef: float = _from_bits(e + _SHIFT_BITS) - _SHIFT  # float(e) without a scalar conversion
    f = (m - 1.0) / (m + 1.0)
    f2 = f * f
    p = 1.0 / 23.0
    p = p * f2 + 1.0 / 21.0
    p = p * f2 + 1.0 / 19.0
    p = p * f2 + 1.0 / 17.0
    p = p * f2 + 1.0 / 15.0
    p = p * f2 + 1.0 / 13.0
    p = p * f2 + 1.0 / 11.0
    p = p * f2 + 1.0 / 9.0
    p = p * f2 + 1.0 / 7.0
    p = p * f2 + 1.0 / 5.0
    p = p * f2 + 1.0 / 3.0
    p = p * f2 + 1.0
    return ef * _LN2_HI + (2.0 * f * p + ef * _LN2_LO)


@nb.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def exp_expm1(a: float) -> tuple[float, float]:
    """(exp(a), exp(a) - 1) for finite a, both to full relative accuracy (expm1 too, near 0).

    a is clamped to [EXP_MIN, EXP_MAX] (exp(-708) = 3e-308 stands in for anything smaller).
    a = n ln 2 + r with |r| <= ln(2) / 2; exp(r) - 1 from its Taylor series to r**14.
    """
    a = min(max(a, EXP_MIN), EXP_MAX)
    n = math.floor(a * _LOG2E + 0.5)
    r = (a - n * _LN2_HI) - n * _LN2_LO
    q = 1.0 / 87178291200.0
    q = q * r + 1.0 / 6227020800.0
    q = q * r + 1.0 / 479001600.0
    q = q * r + 1.0 / 39916800.0
    q = q * r + 1.0 / 3628800.0
    q = q * r + 1.0 / 362880.0
    q = q * r + 1.0 / 40320.0
    q = q * r + 1.0 / 5040.0
    q = q * r + 1.0 / 720.0
    q = q * r + 1.0 / 120.0
    q = q * r + 1.0 / 24.0
    q = q * r + 1.0 / 6.0
    q = q * r + 0.5
    q = q * r * r + r  # exp(r) - 1
    k = _bits(n + _SHIFT) - _SHIFT_BITS  # n as an int64, from the bits
    p = _from_bits(_bits(1.0 + q) + (k << 52))  # 2**n * exp(r)
    em1 = q if n == 0.0 else p - 1.0  # |a| > ln(2) / 2 when n != 0: no cancellation
    return p, em1
