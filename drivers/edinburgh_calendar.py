"""The time axis of Edinburgh (GCEL) CARDAMOM inputs: calendar months and run days.

Edinburgh files carry no year. They give either the day of year of the LAST day of each
step (31, 59, ..., 365 or 366: calendar months) or, in older site files, mid-step run days
and days of year on a 365.25/12-day grid. This module turns either into the pixel's time
axis [days since 2001-01-01], the step lengths ``deltat`` [d], ``run_day`` (end of step,
Edinburgh met column 1) and the end-of-step and mid-step days of year.

The start year is needed for ``time``. When it is not given it is inferred from the leap
years the days of year reveal (a February ending on day 60 or a December on day 366) as
the one year in 1999-2002 with that leap pattern; a shift by 4 years moves ``time`` by
1461 days = 4 x 365.25, which leaves every phase of a 365.25-day year (the JPL phenology)
unchanged. Without leap information, 2001 is assumed. The attribute ``start_year_source``
says which of these happened.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import numpy as np

from .errors import DriverError

#: the one 4-year window a start year is inferred into when the file does not say
INFER_WINDOW = (1999, 2002)


@dataclass(frozen=True)
class EdinburghTime:
    """Time axis of an Edinburgh input (all arrays per step)."""

    time: np.ndarray  # mid-step [days since 2001-01-01]
    deltat: np.ndarray  # [d]
    run_day: np.ndarray  # end of step, from the start of the run [d]
    doy_end: np.ndarray  # day of year of the last day of the step
    doy: np.ndarray  # mid-step day of year (doy_end - deltat/2)
    start_year: int
    start_year_source: str


def days_since_2001(year: int) -> float:
    """Days from 2001-01-01 to 1 January of ``year`` (Gregorian calendar)."""
    return float((np.datetime64(f"{year:04d}-01-01") - np.datetime64("2001-01-01")).astype(int))


def _year_index(doy_end: np.ndarray) -> np.ndarray:
    """0-based year of each step: a new year starts where the day of year decreases."""
    wraps = np.concatenate([[0], (np.diff(doy_end) < 0).astype(int)])
    return np.cumsum(wraps)


def _infer_start_year(doy_end: np.ndarray, given: int | None, source: str):
    if given is not None:
        return int(given), "given"
    year = _year_index(doy_end)
    leap_rows = np.flatnonzero((np.round(doy_end) == 366) | (np.round(doy_end) == 60))
    if leap_rows.size == 0:
        return 2001, "assumed (no leap year in the file tells the year)"
    k = int(year[leap_rows[0]])
    for candidate in range(INFER_WINDOW[0], INFER_WINDOW[1] + 1):
        if calendar.isleap(candidate + k):
            return candidate, (
                f"inferred from leap years ({source}): the year in "
                f"{INFER_WINDOW[0]}-{INFER_WINDOW[1]} with that leap pattern"
            )
    raise AssertionError("every 4-year window holds a leap year")


def from_doy_end(doy_end, src: str, start_year: int | None = None, run_day=None) -> EdinburghTime:
    """Time axis from end-of-step days of year (and optionally the run days of the file).

    Parameters
    ----------
    doy_end : array_like
        Day of year of the last day of each step (Edinburgh met column 6).
    src : str
        File name for error messages.
    start_year : int, optional
        Calendar year of the first step (inferred when omitted; see the module docstring).
    run_day : array_like, optional
        Edinburgh met column 1; when given, ``deltat`` is taken from it exactly as the Fortran
        does (``deltat[0] = run_day[0]``, ``deltat[n] = run_day[n] - run_day[n-1]``).

    Raises
    ------
    DriverError
        Days of year outside [1, 366], or steps that are not positive.
    """
    doy_end = np.asarray(doy_end, dtype=np.float64)
    bad = ~np.isfinite(doy_end) | (doy_end < 1) | (doy_end > 366)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DriverError(
            f"{src}: 'doy' is {doy_end[i]!r} at step {i}; an end-of-step day of year lies in "
            "[1, 366]"
        )
    year0, how = _infer_start_year(doy_end, start_year, "end-of-step days of year")
    if run_day is not None:
        run_day = np.asarray(run_day, dtype=np.float64)
        deltat = np.diff(run_day, prepend=0.0)
    else:
        year = _year_index(doy_end)
        length = np.array(
            [366.0 if calendar.isleap(year0 + y) else 365.0 for y in range(year[-1] + 1)]
        )
        deltat = np.diff(doy_end, prepend=0.0)
        wrap = np.flatnonzero(np.diff(doy_end) < 0) + 1
        deltat[wrap] = doy_end[wrap] + length[year[wrap] - 1] - doy_end[wrap - 1]
        if doy_end[0] > 31 and doy_end.size > 1:  # the run does not start on 1 January
            deltat[0] = deltat[1]
        run_day = np.cumsum(deltat)
    if (deltat <= 0).any():
        i = int(np.flatnonzero(deltat <= 0)[0])
        raise DriverError(
            f"{src}: time is not increasing at step {i} (step length {deltat[i]!r} days from "
            "the run days / days of year)"
        )
    start = days_since_2001(year0) + (doy_end[0] - deltat[0])
    time = start + run_day - run_day[0] + deltat[0] - deltat / 2
    return EdinburghTime(time, deltat, run_day, doy_end, doy_end - deltat / 2, year0, how)


def from_mid_step(day, doy, src: str, start_year: int | None = None) -> EdinburghTime:
    """Time axis from mid-step run days and days of year (older Edinburgh site files).

    The run days count from 1 January of the start year (2001 unless given).
    """
    day = np.asarray(day, dtype=np.float64)
    doy = np.asarray(doy, dtype=np.float64)
    step = np.diff(day)
    if day.size < 2 or (step <= 0).any():
        i = int(np.flatnonzero(step <= 0)[0]) + 1 if day.size >= 2 else 0
        raise DriverError(f"{src}: 'day' is not increasing at step {i}")
    if np.allclose(step, step[0], rtol=1e-9, atol=0):
        deltat = np.full(day.size, step[0])
    else:
        edges = np.concatenate(
            [[day[0] - step[0] / 2], (day[:-1] + day[1:]) / 2, [day[-1] + step[-1] / 2]]
        )
        deltat = np.diff(edges)
    year0 = 2001 if start_year is None else int(start_year)
    how = "given" if start_year is not None else "assumed (mid-step run days carry no year)"
    time = days_since_2001(year0) + day
    return EdinburghTime(time, deltat, day + deltat / 2, doy + deltat / 2, doy, year0, how)
