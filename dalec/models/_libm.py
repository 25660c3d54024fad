"""glibc's ``exp``, compiled inline: the same bits as the C library's call, without the call.

Private to the DALEC.4 kernels. The daily soil-water loop evaluates the Saxton conductivity
(an ``exp``) six times a day; as a library call each one makes the compiled loop spill and
reload every live floating-point register and serialises the two calls of a layer. This is
the algorithm of glibc 2.28+ (``sysdeps/ieee754/dbl-64/e_exp.c``, from ARM's
optimized-routines: ``exp(x) = 2^(k/128) exp(r)`` with a 128-entry table and a degree-5
polynomial), with the fused multiply-adds of its x86-64 FMA build (``__exp_fma``, the one
glibc selects on CPUs with FMA), so the results are those of ``math.exp`` bit for bit on
such machines (checked against the library over 10^8 arguments, see
``tests/dalec/test_libm.py``), special cases (tiny, overflow, subnormal results, inf, NaN)
included, so no call is left in the loop (errno is not set). Without numba's JIT, :func:`exp`
is ``math.exp``.

References
----------
Szabolcs Nagy (2018) ARM optimized-routines ``math/exp.c``; glibc 2.28 NEWS ("new exp, exp2,
log, log2, pow ... implementations").
"""

from __future__ import annotations

import math
import platform
import struct
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
from llvmlite import ir
from numba import config, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

N = 128  # table entries (EXP_TABLE_BITS = 7)
INVLN2N = 184.6649652337873  # 0x1.71547652b82fep0 * N
NEGLN2HIN = -0.005415212348111709  # -0x1.62e42fefa0000p-8
NEGLN2LON = -1.2864023111638346e-14  # -0x1.cf79abc9e3b3ap-47
SHIFT = 6755399441055744.0  # 0x1.8p52
C2 = 0.49999999999996786  # 0x1.ffffffffffdbdp-2
C3 = 0.16666666666665886  # 0x1.555555555543cp-3
C4 = 0.0416666808410674  # 0x1.55555cf172b91p-5
C5 = 0.008333335853059549  # 0x1.1111167a4d017p-7


def _table():
    """glibc's ``__exp_data.tab``: for i < 128, the bits of ``2^(i/128)`` rounded to double,
    minus ``i << 45``, and the relative rounding error ``tail`` of that double."""
    tail = np.empty(N)
    sbits = np.empty(N, dtype=np.int64)
    with localcontext() as ctx:
        ctx.prec = 60
        for i in range(N):
            exact = Decimal(2) ** (Decimal(i) / Decimal(N))
            scale = float(exact)
            tail[i] = float((exact - Decimal(scale)) / Decimal(scale))
            sbits[i] = struct.unpack("<q", struct.pack("<d", scale))[0] - (i << 45)
    return tail, sbits


TAIL, SBITS = _table()


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (``llvm.fma.f64``)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        double = ir.DoubleType()
        fnty = ir.FunctionType(double, [double, double, double])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f64")
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def _bits(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _float(typingctx, i):
    """The float64 with the bits of an int64."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def _opaque(typingctx, x):
    """``x``, through an empty inline-assembly statement the optimiser cannot see into."""
    sig = types.float64(types.float64)

    def codegen(context, builder, signature, args):
        if platform.machine().lower() not in ("x86_64", "amd64"):
            return args[0]
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()])
        return builder.asm(fnty, "", "=x,0", [args[0]], False)

    return sig, codegen


if config.DISABLE_JIT:  # pragma: no cover - the intrinsics exist only in compiled code
    exp = math.exp

    def opaque(x):
        return x

    def fma(a, b, c):
        """``a * b + c`` rounded once (exact rational arithmetic, then one rounding)."""
        if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
            return a * b + c
        return float(Fraction(a) * Fraction(b) + Fraction(c))
else:

    @njit(cache=True, nogil=True, inline="always", error_model="numpy")
    def opaque(x):
        """``x``, hidden from the optimiser: keeps a rarely taken branch a branch (LLVM would
        turn ``c ? a/x : b/x`` into ``(c ? a : b)/x``, a division that waits for ``c``)."""
        return _opaque(x)

    @njit(cache=True, nogil=True, inline="always", error_model="numpy")
    def fma(a, b, c):
        """``a * b + c`` rounded once (the ``vfmadd`` instruction where the CPU has it)."""
        return _fma(a, b, c)

    @njit(cache=True, nogil=True, inline="always", error_model="numpy")
    def exp(x):
        """``math.exp(x)``, inline (glibc's ``__exp_fma``, operation for operation, special
        cases included, so that the compiled loop around it holds no call)."""
        abstop = (_bits(x) >> 52) & 0x7FF
        if abstop < 969:  # |x| < 2^-54
            return 1.0 + x
        if abstop > 1032:  # |x| >= 1024, inf, NaN
            if x == -math.inf:
                return 0.0
            if abstop == 0x7FF:
                return 1.0 + x
            return 0.0 if x < 0.0 else math.inf
        kd = _fma(x, INVLN2N, SHIFT)
        ki = _bits(kd)
        kd = kd - SHIFT
        r = _fma(kd, NEGLN2HIN, x)
        r = _fma(kd, NEGLN2LON, r)
        idx = ki & 0x7F
        r2 = r * r
        tmp = _fma(_fma(r, C3, C2), r2, r + TAIL[idx])
        tmp = _fma(r2 * r2, _fma(r, C5, C4), tmp)
        sbits = SBITS[idx] + (ki << 45)
        if abstop < 1032:
            scale = _float(sbits)
            return _fma(scale, tmp, scale)
        # 512 <= |x| < 1024: the scale's exponent may over- or underflow (``specialcase``)
        if ki & 0x80000000 == 0:
            scale = _float(sbits - (1009 << 52))
            return _fma(scale, tmp, scale) * 5.486124068793689e303  # 2^1009
        scale = _float(sbits + (1022 << 52))
        st = scale * tmp
        y = scale + st
        if 1.0 > y:
            # round in the normal range first: no double rounding into the subnormals
            hi = y + 1.0
            lo = (scale - y) + st
            y = ((((1.0 - hi) + y) + lo) + hi) - 1.0
            if y == 0.0:
                return 0.0
        return y * 2.2250738585072014e-308  # 2^-1022
