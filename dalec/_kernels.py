"""Numba building blocks shared by the JPL DALEC kernels (ACM, CDEA phenology, losses).

Private: arrays and floats in, floats out. The per-pixel (driver-only) parts of ACM are split
out into :func:`acm_forcing`, evaluated once per pixel by a model's ``prepare``; what is left
in :func:`_acm_gpp` depends on LAI and the canopy efficiency and runs every step.

References
----------
Williams, M. et al. (1997) Predicting gross primary productivity in terrestrial ecosystems.
Ecol. Appl. 7, 882-894. doi:10.1890/1051-0761(1997)007[0882:PGPPIT]2.0.CO;2
Fox, A. et al. (2009) The REFLEX project. Agric. For. Meteorol. 149, 1597-1615.
doi:10.1016/j.agrformet.2009.05.002
Bloom, A. A. and Williams, M. (2015) Constraining ecosystem carbon dynamics in a data-limited
world. Biogeosciences 12, 1299-1315. doi:10.5194/bg-12-1299-2015
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .models import _vecmath

#: The C code's literal pi (``pi=3.1415927`` in DALEC_400.c and ACM.c). Using numpy.pi moves
#: the phenology factors by ~1e-5 relative, so the literal is kept wherever the reference has it.
PI_C = 3.1415927

#: ACM constants a1..a9 (Williams et al. 1997 as calibrated by Fox et al. 2009); a0 = C_eff
#: is a model parameter. Order as in CARDAMOM's ``constants[10]``.
ACM_A = (0.0156935, 4.22273, 208.868, 0.0453194, 0.37836, 7.19298, 0.011136, 2.1001, 0.789798)
_PSI_D = -2.0  # leaf-soil water potential difference [MPa]
_R_TOT = 1.0  # total hydraulic resistance [MPa s m2 m-1 mmol-1]

#: Coefficients of the phenology offset polynomial in ln(L - 1), highest power first.
OFFSET_C = (
    0.000023599784710,
    0.000332730053021,
    0.000901865258885,
    -0.005437736864888,
    -0.020836027517787,
    0.126972018064287,
    -0.188459767342504,
)


def day_length(doy: np.ndarray, latitude: float) -> np.ndarray:
    """Day length from the REFLEX declination formula [h].

    Notes
    -----
    ``δ = -23.4 cos(2π (doy + 10)/365) [deg]``, ``m = tan φ tan δ``, day length
    ``24 acos(-m)/π`` clipped to 0 or 24 h outside ``|m| < 1``. π is the C literal 3.1415927.
    """
    pi = PI_C
    doy = np.asarray(doy, dtype=np.float64)
    dec = -23.4 * np.cos((360.0 * (doy + 10.0) / 365.0) * pi / 180.0) * pi / 180.0
    mult = np.tan(latitude * pi / 180.0) * np.tan(dec)
    with np.errstate(invalid="ignore"):
        dayl = 24.0 * np.arccos(-mult) / pi
    dayl = np.where(mult >= 1.0, 24.0, dayl)
    return np.where(mult <= -1.0, 0.0, dayl)


def acm_forcing(tmin, tmax, doy, latitude):
    """Driver-only terms of ACM, once per pixel.

    Returns
    -------
    gc : ndarray
        Canopy conductance term ``|ψ_d|^a9 / (a5 R_tot + (Tmax - Tmin)/2)``.
    exp_over_gc : ndarray
        ``exp(a7 Tmax) / gc``, so that ``p = LAI · C_eff · exp_over_gc``.
    dayl_factor : ndarray
        ``a1 · daylength + a4`` [h-equivalent], the multiplier of the canopy rate.
    """
    a = ACM_A
    tmin = np.asarray(tmin, dtype=np.float64)
    tmax = np.asarray(tmax, dtype=np.float64)
    gc = abs(_PSI_D) ** a[8] / (a[4] * _R_TOT + 0.5 * (tmax - tmin))
    exp_over_gc = np.exp(a[6] * tmax) / gc
    dayl_factor = a[0] * day_length(doy, latitude) + a[3]
    return gc, exp_over_gc, dayl_factor


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _acm_gpp(lai, ceff, co2, swrad, gc, exp_over_gc, dayl_factor):
    """ACM GPP for one step [g m-2 d-1] from the per-step and per-pixel terms."""
    qq = 4.22273 - 208.868  # a2 - a3
    pp = lai * ceff * exp_over_gc
    b = co2 + qq - pp
    ci = 0.5 * (b + math.sqrt(b * b - 4.0 * (co2 * qq - pp * 4.22273)))
    lai2 = lai * lai
    e0 = 7.19298 * lai2 / (lai2 + 2.1001)
    pd = gc * (co2 - ci)
    return e0 * swrad * pd / (e0 * swrad + pd) * dayl_factor


@njit(cache=True, nogil=True, error_model="numpy")
def _offset(lifespan, width):
    """Phase offset of the CDEA phenology pulse: a fit to the root of t = f exp(-t^2)."""
    lf = math.log(lifespan - 1.0)
    c = OFFSET_C
    os = (
        c[0] * lf**6
        + c[1] * lf**5
        + c[2] * lf**4
        + c[3] * lf**3
        + c[4] * lf**2
        + c[5] * lf
        + c[6]
    )
    return os * width


@njit(cache=True, nogil=True, error_model="numpy")
def _pulse_constants(lifespan, period, peak):
    """Constants of a CDEA pulse (Bloom & Williams 2015; MODELS.md §3.4).

    Returns ``(amp, sf_over_w, cos_c, sin_c)`` with ``amp = (2/√π)(f/w)``,
    ``f = (ln L - ln(L-1))/2``, ``w = period·√2/2``, ``sf = 365.25/π`` (π = 3.1415927) and
    ``c = (offset - peak)/sf``, so that the pulse argument ``(t - peak + offset)/sf`` is
    ``t/sf + c``.
    """
    w = period * math.sqrt(2.0) / 2.0
    f = (math.log(lifespan) - math.log(lifespan - 1.0)) / 2.0
    amp = (2.0 / math.sqrt(PI_C)) * (f / w)
    sf = 365.25 / PI_C
    c = (_offset(lifespan, w) - peak) / sf
    return amp, sf / w, math.cos(c), math.sin(c)


def phase_forcing(time):
    """``sin(t/sf)`` and ``cos(t/sf)`` of model time, once per pixel (sf = 365.25/π)."""
    phase = np.asarray(time, dtype=np.float64) / (365.25 / PI_C)
    return np.sin(phase), np.cos(phase)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _pulse(sin_t, cos_t, amp, sf_over_w, cos_c, sin_c, normal=False):
    """Phenology factor Φ(t) = amp · exp(-[sin(t/sf + c) · sf/w]^2) [d-1].

    The sine of the sum is expanded with the per-pixel ``sin(t/sf)``, ``cos(t/sf)`` and the
    per-run ``cos c``, ``sin c``; this differs from evaluating ``sin((t - peak + os)/sf)``
    directly by rounding only (< 1e-13 relative in Φ over the reference cases). The ``exp`` is
    :func:`dalec.models._vecmath.exp` (vectorisable, within 1 ulp of the library's), or with
    ``normal`` (a literal) its in-range form :func:`~dalec.models._vecmath.exp_normal`, the
    same bits when ``sf_over_w² <= 700``.
    """
    s = (sin_t * cos_c + cos_t * sin_c) * sf_over_w
    if normal:
        return amp * _vecmath.exp_normal(-(s * s))
    return amp * _vecmath.exp(-(s * s))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _loss(k, deltat, mid=False):
    """Mean daily rate of a daily fractional loss k compounded over deltat days.

    ``(1 - (1 - k)^Δt)/Δt`` keeps first-order losses consistent between daily and monthly steps.
    The power is taken as ``exp(Δt ln(1 - k))`` (the same rounded ``1 - k`` as the reference's
    ``pow``), with :mod:`dalec.models._vecmath`'s ``exp`` and ``log``, so that a loop of
    losses vectorises; NaN for ``k > 1`` as with ``pow``. With ``mid`` (a literal) their
    in-range forms, the same bits when ``0 <= k <= 0.49`` and ``0 < Δt <= 1000`` (then
    ``1 - k`` lies in ``[0.5, √2]`` and ``Δt ln(1 - k)`` above -708).
    """
    if mid:
        return (1.0 - _vecmath.exp_normal(deltat * _vecmath.log_mid(1.0 - k))) / deltat
    return (1.0 - _vecmath.exp(deltat * _vecmath.log(1.0 - k))) / deltat
