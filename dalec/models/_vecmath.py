"""``exp`` and ``log`` as straight-line code, so that a loop over time steps vectorises.

Private to the JPL kernels (DALEC 400, 809/811, 1005). Most of their per-step work is thirteen
``exp``/``log`` of driver and parameter terms (the decomposition factor, the two phenology
pulses and five compounded losses), none of which depends on the pools. As library calls
they cost ~5 ns each and keep the loop scalar; written without calls, tables or branches,
LLVM evaluates four steps at once in AVX2 registers (``benchmarks/forward.py``).

Algorithms (both public, from Sun's fdlibm 5.3, ``e_exp.c`` and ``e_log.c``; the minimax
coefficients are theirs):

- ``exp(x) = 2^k exp(r)``, ``k = round(x / ln 2)``, ``r = x - k ln 2`` in two parts, and
  ``exp(r) = 1 + r + r c/(2 - c)`` with ``c = r - r²(P1 + ... + P5 r⁸)``; ``2^k`` is built
  from its bits in two halves, so subnormal results are kept;
- ``log(x) = k ln 2 + log(m)``, ``x = 2^k m`` with ``m`` in ``[√2/2, √2)``, and
  ``log(1 + f) = f - f²/2 + s (f²/2 + R(s²))``, ``s = f/(2 + f)``, ``R`` of degree 14.

Both are within 1 ulp of the C library over the whole double range, special values included
(``exp``: overflow to inf, underflow to 0, NaN; ``log``: ``log 0 = -inf``, negative -> NaN,
inf, NaN, subnormal arguments), checked in ``tests/dalec/test_vecmath.py``. They are not the
library's bits: a kernel that used ``math.exp`` before moves by rounding only (< 1e-13
relative in the reference cases, whose tolerance is 1e-10). Without numba's JIT
(``NUMBA_DISABLE_JIT=1``) the same operations run as Python floats, with the same bits.

References
----------
Sun Microsystems (1993) fdlibm 5.3, ``e_exp.c`` and ``e_log.c``, http://www.netlib.org/fdlibm/
Cody, W. J. and Waite, W. (1980) Software Manual for the Elementary Functions. Prentice-Hall.
"""

from __future__ import annotations

import math
import struct

from numba import config, njit

from ._libm import _bits, _float

LN2_HI = 6.93147180369123816490e-01  # ln 2, upper 32 bits
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
INV_LN2 = 1.44269504088896338700e00
SHIFT = 6755399441055744.0  # 0x1.8p52: adding it rounds to an integer kept in the low bits
SHIFT_BITS = 0x4338000000000000
SQRT2 = 1.4142135623730951
TWO54 = 18014398509481984.0
DBL_MIN = 2.2250738585072014e-308
EXP_MAX = 709.782712893384  # above: inf
EXP_MIN = -745.1332191019412  # below: 0
# exp: rational approximation on [-ln2/2, ln2/2]
P1 = 1.66666666666666019037e-01
P2 = -2.77777777770155933842e-03
P3 = 6.61375632143793436117e-05
P4 = -1.65339022054652515390e-06
P5 = 4.13813679705723846039e-08
# log: R(z) on z = s², |s| <= 0.1716
LG1 = 6.666666666666735130e-01
LG2 = 3.999999999940941908e-01
LG3 = 2.857142874366239149e-01
LG4 = 2.222219843214978396e-01
LG5 = 1.818357216161805012e-01
LG6 = 1.531383769920937332e-01
LG7 = 1.479819860511658591e-01

if config.DISABLE_JIT:  # pragma: no cover - exercised by tests/dalec/test_nojit.py

    def _bits(x):  # noqa: F811 - the intrinsics exist only in compiled code
        return struct.unpack("<q", struct.pack("<d", x))[0]

    def _float(i):  # noqa: F811
        return struct.unpack("<d", struct.pack("<Q", i & 0xFFFFFFFFFFFFFFFF))[0]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _exp_reduced(x):
    """``(y, k)`` with ``e^x = y·2^k`` for finite ``x`` of at most about 746 in size:
    ``k = round(x / ln 2)``, ``y = exp(r)`` of the reduced argument (fdlibm's ``e_exp.c``)."""
    kd = x * INV_LN2 + SHIFT
    k = _bits(kd) - SHIFT_BITS
    kd = kd - SHIFT
    hi = x - kd * LN2_HI
    lo = kd * LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
    return 1.0 - ((lo - (r * c) / (2.0 - c)) - hi), k


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _log_reduced(m, dk):
    """``dk·ln 2 + ln m`` for ``m`` in ``[√2/2, √2]`` (fdlibm's ``e_log.c``; ``dk`` an integer
    as a float)."""
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))) + w * (LG2 + w * (LG4 + w * LG6))
    hfsq = 0.5 * f * f
    return dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def exp(x):
    """``e^x`` within 1 ulp, branch-free (see the module docstring)."""
    y, k = _exp_reduced(min(max(x, -746.0), 710.0))
    half = k >> 1
    y = y * _float((half + 1023) << 52) * _float((k - half + 1023) << 52)
    y = 0.0 if x < EXP_MIN else y
    y = math.inf if x > EXP_MAX else y
    return x if x != x else y


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def log(x):
    """``ln x`` within 1 ulp, branch-free (see the module docstring)."""
    tiny = x < DBL_MIN
    b = _bits(x * TWO54 if tiny else x)
    k = ((b >> 52) & 0x7FF) - (1023 + 54 if tiny else 1023)
    m = _float((b & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)
    high = m > SQRT2
    m = m * 0.5 if high else m
    k = k + 1 if high else k
    y = _log_reduced(m, float(k))
    y = math.nan if x < 0.0 else y
    y = -math.inf if x == 0.0 else y
    return x if not x < math.inf else y  # inf and NaN are their own log


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def exp_normal(x):
    """``e^x`` for ``-708 <= x <= 709``, the same bits as :func:`exp` there.

    Inside that range :func:`exp`'s clamp and special-value selects do nothing and its
    result is a normal number, so its two-step scaling by ``2^k`` (kept for subnormal
    results) equals one exact multiplication; this form leaves out those operations.
    Outside the range the result is meaningless: callers check their arguments.
    """
    y, k = _exp_reduced(x)
    return y * _float((k + 1023) << 52)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def log_mid(x):
    """``ln x`` for ``0.5 <= x <= √2``, the same bits as :func:`log` there.

    In that range :func:`log`'s reduction ``x = 2^k m`` gives ``k = 0, m = x`` or, for
    ``x <= √2/2``, ``k = -1, m = 2x``; this form makes that choice directly instead of
    taking the exponent from the bits (whose integer-to-double conversion has no AVX2
    instruction), and leaves out the special-value selects. Outside the range the result is
    meaningless: callers check their arguments.
    """
    twice = x + x
    low = not twice > SQRT2
    return _log_reduced(twice if low else x, -1.0 if low else 0.0)
