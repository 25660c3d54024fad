"""glibc's ``exp`` and ``pow``, compiled inline: the same bits as the C library's calls,
without the calls.

Private to the Edinburgh kernels (DALEC.C1, DALEC.4). The daily soil-water loop of DALEC.4
evaluates the Saxton conductivity (an ``exp``) six times a day; as a library call each one
makes the compiled loop spill and reload every live floating-point register and serialises
the calls. These are the algorithms of glibc 2.28+ (``sysdeps/ieee754/dbl-64/e_exp.c`` and
``e_pow.c``, from ARM's optimized-routines: ``exp(x) = 2^(k/128) exp(r)`` with a 128-entry
table and a degree-5 polynomial; ``pow(x, y) = exp(y log x)`` with a 128-entry log table and
an extra-precise tail), with the fused multiply-adds of their x86-64 FMA build (``__exp_fma``,
``__pow_fma``, which glibc selects on CPUs with FMA), so the results are those of
``math.exp`` and ``x ** y`` bit for bit on such machines (checked against the library over
10^8 arguments; ``tests/dalec/test_libm.py``). ``exp`` handles its special cases inline too
(tiny, overflow, subnormal results, inf, NaN; errno is not set), so no call is left in a loop
around it; ``pow`` leaves signs, zeros, infinities, NaN and results near over- or underflow
to the library. Elsewhere (other C libraries, no FMA) the results are within an ulp of the
library's. Without numba's JIT, :func:`exp` is ``math.exp`` and :func:`pow` is ``x ** y``.

References
----------
Szabolcs Nagy (2018) ARM optimized-routines ``math/exp.c``, ``math/pow.c``; glibc 2.28 NEWS
("new exp, exp2, log, log2, pow ... implementations").
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
INVLN2N = float.fromhex("0x1.71547652b82fep+7")  # N / ln 2
NEGLN2HIN = float.fromhex("-0x1.62e42fefa0000p-8")  # -ln 2 / N, high part
NEGLN2LON = float.fromhex("-0x1.cf79abc9e3b3ap-47")  # and low part
SHIFT = float.fromhex("0x1.8p52")
C2 = float.fromhex("0x1.ffffffffffdbdp-2")
C3 = float.fromhex("0x1.555555555543cp-3")
C4 = float.fromhex("0x1.55555cf172b91p-5")
C5 = float.fromhex("0x1.1111167a4d017p-7")


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

# pow: log(x) = k ln2 + log(c) + log1p(z/c - 1) with 1/c = j/256 (glibc's __pow_log_data)
LN2HI = float.fromhex("0x1.62e42fefa3800p-1")
LN2LO = float.fromhex("0x1.ef35793c76730p-45")
A0 = -0.5
A1 = float.fromhex("-0x1.5555555555560p-1")  # (the coefficients carry glibc's scaling)
A2 = float.fromhex("0x1.0000000000006p-1")
A3 = float.fromhex("0x1.999999959554ep-1")
A4 = float.fromhex("-0x1.555555529a47ap-1")
A5 = float.fromhex("-0x1.2495b9b4845e9p+0")
A6 = float.fromhex("0x1.0002b8b263fc3p+0")
POW_OFF = 0x3FE6955500000000
#: 256/c of the 128 subintervals (glibc's invc = j/256)
POW_J = (
    362, 360, 358, 356, 354, 352, 350, 348, 346, 344, 342, 342, 340, 338, 336, 334, 332, 330,
    330, 328, 326, 324, 322, 320, 320, 318, 316, 314, 314, 312, 310, 308, 308, 306, 304, 304,
    302, 300, 300, 298, 296, 294, 294, 292, 292, 290, 288, 288, 286, 284, 284, 282, 282, 280,
    278, 278, 276, 276, 274, 272, 272, 270, 270, 268, 268, 266, 266, 264, 264, 262, 260, 260,
    258, 258, 256, 256, 254, 252, 250, 248, 246, 244, 242, 241, 239, 237, 235, 234, 232, 230,
    229, 227, 226, 224, 223, 221, 220, 218, 217, 215, 214, 213, 211, 210, 208, 207, 206, 205,
    203, 202, 201, 200, 198, 197, 196, 195, 194, 193, 191, 190, 189, 188, 187, 186, 185, 184,
    183, 182,
)


def _log_table():
    """``invc = j/256``; ``logc`` = -ln(invc) rounded to a multiple of 2^-43 (so that
    ``k ln2hi + logc`` is exact) and ``logctail`` the rest, rounded (glibc's construction)."""
    invc = np.array([j / 256.0 for j in POW_J])
    logc = np.empty(N)
    logctail = np.empty(N)
    grid = Decimal(2) ** -43
    with localcontext() as ctx:
        ctx.prec = 80
        for i, j in enumerate(POW_J):
            exact = -(Decimal(j) / Decimal(256)).ln()
            hi = (exact / grid).to_integral_value() * grid  # round half even
            logc[i] = float(hi)
            logctail[i] = float(exact - hi)
    return invc, logc, logctail


INVC, LOGC, LOGCTAIL = _log_table()


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

    def pow(x, y):  # noqa: A001 - the C name
        return x**y

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

    @njit(cache=True, nogil=True, inline="always", error_model="numpy")
    def pow(x, y):  # noqa: A001 - the C name
        """``x ** y``, inline for ``x`` positive and normal, ``2^-65 <= |y| < 2^63`` and a
        result away from over- and underflow (glibc's ``__pow_fma``, operation for operation);
        everything else (signs, zeros, infinities, NaN, integer ``y`` of negative ``x``) is
        the library's."""
        ix = _bits(x)
        iy = _bits(y)
        topx = (ix >> 52) & 0xFFF
        topy = (iy >> 52) & 0x7FF
        if topx < 1 or topx > 0x7FE or topy < 0x3BE or topy > 0x43D:
            return x**y
        # log_inline: log(x) = hi + tail
        tmp = ix - POW_OFF
        i = (tmp >> 45) & 0x7F
        kd = float(tmp >> 52)
        z = _float(ix - (tmp & -4503599627370496))  # ix - (tmp & 0xfff << 52)
        t1 = _fma(kd, LN2HI, LOGC[i])
        lo1 = _fma(kd, LN2LO, LOGCTAIL[i])
        r = _fma(z, INVC[i], -1.0)
        ar = r * A0
        t2 = r + t1
        ar2 = r * ar
        ar3 = r * ar2
        lo3 = _fma(ar, r, -ar2)
        lo2 = (t1 - t2) + r
        hi = t2 + ar2
        lo4 = (t2 - hi) + ar2
        q = _fma(ar2, _fma(ar2, _fma(r, A6, A5), _fma(r, A4, A3)), _fma(r, A2, A1))
        lo = _fma(ar3, q, ((lo1 + lo2) + lo3) + lo4)
        lhi = hi + lo
        ltail = (hi - lhi) + lo
        # y log(x) = ehi + elo
        ehi = y * lhi
        elo = _fma(y, ltail, _fma(lhi, y, -ehi))
        abstop = (_bits(ehi) >> 52) & 0x7FF
        if abstop < 969 or abstop > 1031:  # tiny, or over/underflow near: the library
            return x**y
        # exp_inline(ehi, elo), sign bias 0
        kd = _fma(ehi, INVLN2N, SHIFT)
        ki = _bits(kd)
        kd = kd - SHIFT
        r = _fma(kd, NEGLN2HIN, ehi)
        r = _fma(kd, NEGLN2LON, r)
        r = elo + r
        idx = ki & 0x7F
        r2 = r * r
        tmp2 = _fma(_fma(r, C3, C2), r2, r + TAIL[idx])
        tmp2 = _fma(r2 * r2, _fma(r, C5, C4), tmp2)
        scale = _float(SBITS[idx] + (ki << 45))
        return _fma(scale, tmp2, scale)
