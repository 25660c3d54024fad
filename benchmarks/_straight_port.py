"""Baseline for benchmarks/forward.py: DALEC 400 ported statement by statement, no precompute.

Every step evaluates the full ACM (declination, day length, conductance), the phenology sines
and ``pow`` losses, as the reference C code does. It is written here only to measure, in the
same run, what the per-pixel precomputation of :mod:`dalec.models.dalec400` buys.
"""

import math

from numba import njit

PI = 3.1415927


@njit(cache=True)
def acm(lai, tmax, tmin, co2, doy, lat, rad, ceff):
    gc = abs(-2.0) ** 0.789798 / (0.37836 * 1.0 + 0.5 * (tmax - tmin))
    pp = lai * 1.0 / gc * ceff * math.exp(0.011136 * tmax)
    qq = 4.22273 - 208.868
    ci = 0.5 * (co2 + qq - pp + ((co2 + qq - pp) ** 2 - 4 * (co2 * qq - pp * 4.22273)) ** 0.5)
    e0 = 7.19298 * lai**2 / (lai**2 + 2.1001)
    dec = -23.4 * math.cos((360.0 * (doy + 10.0) / 365.0) * PI / 180.0) * PI / 180.0
    mult = math.tan(lat * PI / 180) * math.tan(dec)
    if mult >= 1:
        dayl = 24.0
    elif mult <= -1:
        dayl = 0.0
    else:
        dayl = 24.0 * math.acos(-mult) / PI
    cps = e0 * rad * gc * (co2 - ci) / (e0 * rad + gc * (co2 - ci))
    return cps * (0.0156935 * dayl + 0.0453194)


@njit(cache=True)
def offset(L, w):
    lf = math.log(L - 1)
    c = (2.3599784710e-5, 3.32730053021e-4, 9.01865258885e-4, -5.437736864888e-3,
         -2.0836027517787e-2, 0.126972018064287, -0.188459767342504)
    return (c[0] * lf**6 + c[1] * lf**5 + c[2] * lf**4 + c[3] * lf**3 + c[4] * lf**2
            + c[5] * lf + c[6]) * w


@njit(cache=True)
def run400(met, lat, p, pools, fluxes):
    """met: (N, 7) CARDAMOM MET rows; pools (N+1, 6); fluxes (N, 28)."""
    dt = met[1, 0] - met[0, 0]
    wf = p[15] * math.sqrt(2) / 2
    wl = p[13] * math.sqrt(2) / 2
    ff = (math.log(p[4]) - math.log(p[4] - 1)) / 2
    fl = (math.log(1.001) - math.log(0.001)) / 2
    osf = offset(p[4], wf)
    osl = offset(1.001, wl)
    sf = 365.25 / PI
    cf = (0.1, 0.9, 0.1, 0.1, 0.5, 0.01)
    for i in range(6):
        pools[0, i] = p[17 + i]
    for n in range(met.shape[0]):
        F = fluxes[n]
        P = pools[n]
        X = pools[n + 1]
        lai = P[1] / p[16]
        F[0] = acm(lai, met[n, 2], met[n, 1], met[n, 4], met[n, 5], lat, met[n, 3], p[10])
        F[1] = math.exp(p[9] * 0.5 * (met[n, 2] + met[n, 1]))
        F[2] = p[1] * F[0]
        F[3] = (F[0] - F[2]) * p[2]
        F[4] = (F[0] - F[2] - F[3]) * p[12]
        F[5] = (F[0] - F[2] - F[3] - F[4]) * p[3]
        F[6] = F[0] - F[2] - F[3] - F[5] - F[4]
        F[8] = (2 / math.sqrt(PI)) * (ff / wf) * math.exp(
            -(math.sin((met[n, 0] - p[14] + osf) / sf) * sf / wf) ** 2)
        F[15] = (2 / math.sqrt(PI)) * (fl / wl) * math.exp(
            -(math.sin((met[n, 0] - p[11] + osl) / sf) * sf / wl) ** 2)
        F[7] = P[0] * (1 - (1 - F[15]) ** dt) / dt
        F[9] = P[1] * (1 - (1 - F[8]) ** dt) / dt
        F[10] = P[3] * (1 - (1 - p[5]) ** dt) / dt
        F[11] = P[2] * (1 - (1 - p[6]) ** dt) / dt
        F[12] = P[4] * (1 - (1 - F[1] * p[7]) ** dt) / dt
        F[13] = P[5] * (1 - (1 - F[1] * p[8]) ** dt) / dt
        F[14] = P[4] * (1 - (1 - p[0] * F[1]) ** dt) / dt
        X[0] = P[0] + (F[4] - F[7]) * dt
        X[1] = P[1] + (F[3] - F[9] + F[7]) * dt
        X[2] = P[2] + (F[5] - F[11]) * dt
        X[3] = P[3] + (F[6] - F[10]) * dt
        X[4] = P[4] + (F[9] + F[11] - F[12] - F[14]) * dt
        X[5] = P[5] + (F[14] - F[13] + F[10]) * dt
        for k in range(6):
            F[17 + k] = X[k] * met[n, 6] * cf[k] / dt
        for k in range(5):
            F[23 + k] = X[k] * met[n, 6] * (1 - cf[k]) * 0.5 / dt
        for k in range(4):
            X[k] = X[k] - (F[17 + k] + F[23 + k]) * dt
        X[4] = X[4] + (F[23] + F[24] + F[25] - F[21] - F[27]) * dt
        X[5] = X[5] + (F[26] + F[27] - F[22]) * dt
        F[16] = F[17] + F[18] + F[19] + F[20] + F[21] + F[22]
