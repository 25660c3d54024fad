"""Many pixels: per-pixel seeds, shards of a pixel list, and :func:`calibrate_many`.

Each pixel is calibrated by :func:`run_pixel`, which claims it in the run folder
(:mod:`mdf.runfolder`), resumes its checkpoint if an earlier attempt was killed, and writes its
result atomically. A pixel's chains depend only on the run's seed and the pixel's id
(:func:`pixel_seed`), never on the shard, worker or thread count that ran it, so a run split
into any number of array tasks, or spread over a dask cluster, gives the same files as a
serial run.

>>> pixels = mdf.pixels.open_pixels("fluxval/cbf")                       # doctest: +SKIP
>>> mdf.calibrate_many(pixels, "run", model="811", seed=1)               # doctest: +SKIP
>>> with mdf.executors.process_pool(8) as pool:                          # doctest: +SKIP
...     mdf.calibrate_many(pixels, "run", model="811", seed=1, executor=pool)
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field

import numpy as np

from .pixels import PixelSet, PixelSpec, open_pixels
from .runfolder import RunFolder

log = logging.getLogger(__name__)

#: keyword options of :func:`mdf.calibrate` that a batch passes on (and records in run.json)
CALIBRATE_OPTIONS = ("chains", "iterations", "burn_in", "max_burn_in", "reparam", "starts",
                     "thin", "sampler", "draws", "scaling", "edc", "eqf", "options",
                     "warm_start", "block", "target_rhat", "target_ess", "until_converged")


def pixel_seed(seed: int, pixel_id: str) -> int:
    """The calibration seed of one pixel: ``SeedSequence([seed, blake2b-64(pixel_id)])``.

    Parameters
    ----------
    seed : int
        Run seed (>= 0).
    pixel_id : str

    Returns
    -------
    int
        A 63-bit seed, the same on every machine and Python version (no ``hash()``), and
        independent of the other pixels of the run.
    """
    digest = hashlib.blake2b(pixel_id.encode("utf-8"), digest_size=8).digest()
    entropy = [int(seed), int.from_bytes(digest, "little")]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> np.uint64(1))


class ShardError(ValueError):
    """Shard numbers that cannot be used (missing, or out of range)."""


def shard_from_environment(environ=None) -> tuple[int | None, int | None]:
    """``(shard, n_shards)`` of this array task from the scheduler's environment (0-based).

    SLURM: ``SLURM_ARRAY_TASK_ID``, ``SLURM_ARRAY_TASK_COUNT`` (and ``SLURM_ARRAY_TASK_MIN``,
    ``SLURM_ARRAY_TASK_STEP``, so ``--array=1-100`` works); SGE/UGE: ``SGE_TASK_ID``,
    ``SGE_TASK_FIRST``, ``SGE_TASK_LAST``, ``SGE_TASK_STEPSIZE``; PBS Pro ``PBS_ARRAY_INDEX``,
    Torque ``PBS_ARRAYID`` and LSF ``LSB_JOBINDEX`` (these give no count: pass
    ``n_shards``). ``(None, None)`` outside an array job.

    Parameters
    ----------
    environ : mapping, optional
        Environment to read; default ``os.environ``.

    Returns
    -------
    (int or None, int or None)
        ``(shard, n_shards)``; ``n_shards`` is None for PBS and LSF.
    """
    env = os.environ if environ is None else environ

    def num(name, default=None):
        value = env.get(name, "")
        return int(value) if value.strip().lstrip("-").isdigit() else default

    if num("SLURM_ARRAY_TASK_ID") is not None:
        first, step = num("SLURM_ARRAY_TASK_MIN", 0), num("SLURM_ARRAY_TASK_STEP", 1) or 1
        return (num("SLURM_ARRAY_TASK_ID") - first) // step, num("SLURM_ARRAY_TASK_COUNT")
    if num("SGE_TASK_ID") is not None:  # 'undefined' outside array jobs
        first, step = num("SGE_TASK_FIRST", 1), num("SGE_TASK_STEPSIZE", 1) or 1
        last = num("SGE_TASK_LAST")
        count = (last - first) // step + 1 if last is not None else None
        return (num("SGE_TASK_ID") - first) // step, count
    for name, first in (("PBS_ARRAY_INDEX", 0), ("PBS_ARRAYID", 0), ("LSB_JOBINDEX", 1)):
        if num(name) is not None and not (name == "LSB_JOBINDEX" and num(name) == 0):
            return num(name) - first, None
    return None, None


def resolve_shard(shard: int | None, n_shards: int | None, environ=None) -> tuple[int, int]:
    """Explicit shard numbers, else the array task's, else ``(0, 1)`` (the whole list).

    Parameters
    ----------
    shard : int or None
        0-based shard index (``--shard``); None: from the environment.
    n_shards : int or None
        Number of shards (``--n-shards``); None: from the environment.
    environ : mapping, optional
        Environment to read (default ``os.environ``); see :func:`shard_from_environment`.

    Returns
    -------
    (int, int)
        ``(shard, n_shards)``.

    Raises
    ------
    ShardError
        An index without a count, or an index outside ``0 .. n_shards - 1``.
    """
    env_shard, env_n = shard_from_environment(environ)
    shard = env_shard if shard is None else shard
    n_shards = env_n if n_shards is None else n_shards
    if shard is None and n_shards is None:
        return 0, 1
    if shard is None or n_shards is None:
        raise ShardError(
            f"shard {shard} of {n_shards}: give both --shard and --n-shards (PBS and LSF array "
            "jobs do not export the array size: pass --n-shards)"
        )
    if not 0 <= shard < n_shards:
        raise ShardError(f"shard {shard} is outside 0..{n_shards - 1}; for SLURM use a "
                         "contiguous --array range (e.g. --array=0-99)")
    return shard, n_shards


@dataclass
class PixelOutcome:
    """What happened to one pixel in one call.

    Attributes
    ----------
    pixel_id : str
    status : {'done', 'skipped', 'busy', 'failed', 'not_retried'}
        ``skipped``: its result already existed; ``busy``: another live process holds it;
        ``not_retried``: an earlier attempt failed and ``retry_failed`` was not set.
    seconds : float
        Wall time of this attempt [s].
    cpu_seconds : float
        CPU time of the process over the attempt [s] (the pixel's own where one process runs
        one pixel at a time: the cost on a dedicated core when the machine is shared).
    resumed : bool
        The attempt continued a checkpoint.
    summary : dict
        :meth:`CalibrationResult.summary` of a done pixel.
    message : str
        The error of a failed pixel; warnings of a done one.
    max_threads : int
        Most threads its chains ran on in one block (0 if it did not run): more than the
        run's ``threads`` when a process pool lent it the cores of workers left without
        pixels (:func:`lend_cores`).
    """

    pixel_id: str
    status: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    resumed: bool = False
    summary: dict = field(default_factory=dict)
    message: str = ""
    max_threads: int = 0


_THREADS_LIMITED: int | None = None
#: in a pool worker, set by :func:`lend_cores`: (pixels busy in the pool, the pool's cores)
_POOL_CORES: tuple | None = None


def lend_cores(busy, cores: int) -> None:
    """Let this pool worker's pixels use the cores of workers that have run out of pixels.

    ``busy`` is a ``multiprocessing.Value`` shared by the pool's workers that counts the
    pixels being calibrated, ``cores`` the cores of the whole pool. Before every block a pixel
    then runs its chains on ``max(threads, cores // busy)`` threads (at most one per chain):
    while the pool is full nothing changes, and at the end of a run, when the last pixels
    run alone, they take over the idle cores instead of leaving them idle until they finish.
    The chains do not depend on the thread count (:mod:`mdf.samplers.demcz`), so the results
    are the same.

    Parameters
    ----------
    busy : multiprocessing.Value
        Integer counter shared by the pool's workers (:func:`mdf.executors.process_pool`
        makes it): pixels being calibrated in the pool now.
    cores : int
        Cores of the whole pool (workers x threads).
    """
    global _POOL_CORES
    _POOL_CORES = (busy, max(1, int(cores)))


class _LentThreads:
    """``threads`` for :func:`mdf.calibrate`: asked before every block; records the most."""

    def __init__(self, threads: int, busy, cores: int):
        self.threads, self.busy, self.cores = threads, busy, cores
        self.most = threads

    def __call__(self) -> int:
        now = max(self.threads, self.cores // max(1, self.busy.value))
        self.most = max(self.most, now)
        return now


def limit_threads(threads: int) -> None:
    """Keep numba and BLAS to ``threads`` threads in this (worker) process.

    Sets ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and friends for
    libraries loaded later, numba's thread count, and, if ``threadpoolctl`` is installed, the
    BLAS pools already loaded; so ``workers x threads`` never exceeds the cores.

    Parameters
    ----------
    threads : int
        Threads per process (at least 1).
    """
    global _THREADS_LIMITED
    if _THREADS_LIMITED == threads:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(threads)
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:
        pass
    _THREADS_LIMITED = threads


def run_pixel(spec: PixelSpec, run_dir: str, config: dict) -> PixelOutcome:
    """Calibrate one pixel of a run folder (the unit of work every executor runs).

    Parameters
    ----------
    spec : PixelSpec
    run_dir : str
        Run folder (:class:`mdf.runfolder.RunFolder`), prepared by :func:`calibrate_many`.
    config : dict
        ``model``, ``seed``, ``calibrate`` (options), ``threads``, ``limit_threads``,
        ``stale_after``, ``checkpoint_every``, ``read_options``, ``claim`` (extra claim
        fields).

    Returns
    -------
    PixelOutcome
        Never raises for a pixel's own failure: the error goes to ``failed/<id>.txt``.
    """
    import dalec

    from .calibration import calibrate

    threads = config.get("threads")
    if config.get("limit_threads") and threads:
        limit_threads(threads)
    folder = RunFolder(run_dir)
    pid = spec.pixel_id
    if folder.result_path(pid).exists():
        return PixelOutcome(pid, "skipped")
    if not folder.claim(pid, config.get("stale_after", 3600.0), **config.get("claim", {})):
        log.info("pixel %s: held by another live process, left to it", pid)
        return PixelOutcome(pid, "busy")
    start, cpu_start = time.perf_counter(), time.process_time()
    checkpoint = folder.checkpoint_path(pid)
    resumed = checkpoint.exists()
    lent = None
    if _POOL_CORES is not None and threads:
        lent = _LentThreads(threads, *_POOL_CORES)
        with lent.busy.get_lock():
            lent.busy.value += 1
    try:
        if folder.result_path(pid).exists():  # finished by another process since we looked
            return PixelOutcome(pid, "skipped")
        folder.remove_partial(pid)
        model = dalec.get_model(config["model"])
        pixel = spec.read(require=model.drivers, **config.get("read_options", {}))
        if resumed:
            log.info("pixel %s: resuming %s", pid, checkpoint)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = calibrate(
                pixel, model.name, seed=pixel_seed(config["seed"], pid), checkpoint=checkpoint,
                threads=lent or threads, progress=lambda *_: folder.heartbeat(pid),
                checkpoint_every=config.get("checkpoint_every", 60.0),
                **config.get("calibrate", {}),
            )
        result.to_netcdf(folder.result_path(pid))
        checkpoint.unlink(missing_ok=True)
        folder.clear_failed(pid)
        summary = result.summary()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        log.info(
            "pixel %s: done in %.1f s (%.1f s CPU)%s: P(NBE<0) %.3f (%s), %s: max R-hat %.3f, "
            "min bulk ESS %.0f, acceptance %s", pid, seconds, cpu,
            " (resumed)" if resumed else "", summary["p_sink"], summary["class"],
            "converged" if summary["converged"] else "NOT converged", summary["max_rhat"],
            summary["min_ess_bulk"],
            np.round(np.asarray(result.acceptance, dtype=float), 3).tolist(),
        )
        return PixelOutcome(pid, "done", seconds, cpu, resumed, summary,
                            "; ".join(str(w.message) for w in caught),
                            lent.most if lent else threads or os.cpu_count() or 1)
    except Exception as err:
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        folder.mark_failed(pid, f"{type(err).__name__}: {err}\n\n{traceback.format_exc()}")
        log.error("pixel %s: failed after %.1f s: %s: %s", pid, seconds, type(err).__name__, err)
        return PixelOutcome(pid, "failed", seconds, cpu, resumed,
                            message=f"{type(err).__name__}: {err}")
    finally:
        if lent is not None:
            with lent.busy.get_lock():
                lent.busy.value -= 1
        folder.release(pid)


def run_settings(model, seed: int, options: dict) -> dict:
    """The run.json record: what every pixel's chains depend on (options off their defaults).

    Parameters
    ----------
    model : str or dalec.Model
        Model name.
    seed : int
        The run's seed (>= 0).
    options : dict
        Keyword options of :func:`mdf.calibrate` (``CALIBRATE_OPTIONS``); those equal to
        its defaults, and None, are left out so equal effective settings compare equal.

    Returns
    -------
    dict
        ``{"model", "seed", "calibrate", "pixel_seed"}``, JSON-serialisable.

    Raises
    ------
    TypeError
        An option :func:`mdf.calibrate` does not take.
    ValueError
        A negative seed.
    """
    import dalec

    unknown = sorted(set(options) - set(CALIBRATE_OPTIONS))
    if unknown:
        raise TypeError(f"calibrate_many got unknown option(s) {unknown}; "
                        f"known: {', '.join(CALIBRATE_OPTIONS)}")
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    # only the options that differ from mdf.calibrate's defaults, so that the same effective
    # settings (from the CLI or from Python, given or left out) make the same run.json; the
    # result files record every resolved setting
    import inspect

    from .calibration import calibrate

    defaults = {k: p.default for k, p in inspect.signature(calibrate).parameters.items()
                if k in CALIBRATE_OPTIONS}
    calib = {k: (dict(v) if isinstance(v, dict) else v) for k, v in sorted(options.items())
             if v is not None and not (k in defaults and v == defaults[k])}
    return {"model": dalec.get_model(model).name, "seed": int(seed), "calibrate": calib,
            "pixel_seed": "SeedSequence([seed, blake2b-64(pixel_id)]) >> 1"}


def task_pixels(pixels: PixelSet, shard: int | None = None, n_shards: int | None = None,
                select=None) -> PixelSet:
    """The pixels one call of :func:`calibrate_many` is given: shard ``shard`` of
    ``n_shards`` (the whole list if neither is given), then only the ids in ``select``.

    Parameters
    ----------
    pixels : PixelSet
        The run's whole pixel list.
    shard, n_shards : int, optional
        This task's shard (0-based) and the number of shards (:meth:`PixelSet.shard`).
    select : iterable of str, optional
        Pixel ids to keep (of the shard).

    Returns
    -------
    PixelSet
        The pixels, in list order.

    Raises
    ------
    ValueError
        ``select`` names ids that are not in the list.
    """
    if shard is not None or n_shards is not None:
        part = pixels.shard(0 if shard is None else shard, 1 if n_shards is None else n_shards)
    else:
        part = pixels
    if select is not None:
        want = set(select)
        unknown = sorted(want - set(pixels.ids()))
        if unknown:
            raise ValueError(f"select: {len(unknown)} id(s) not in the pixel list, e.g. "
                             f"{unknown[:5]}")
        part = part.select(want & set(part.ids()))
    return part


def calibrate_many(
    pixels,
    run_dir,
    model="811",
    *,
    seed: int = 0,
    executor: Executor | None = None,
    threads: int | None = None,
    shard: int | None = None,
    n_shards: int | None = None,
    select=None,
    retry_failed: bool = False,
    stale_after: float = 3600.0,
    checkpoint_every: float = 60.0,
    on_outcome: Callable[[PixelOutcome], None] | None = None,
    **options,
) -> list[PixelOutcome]:
    """Calibrate many pixels into a run folder; restartable, any executor.

    Parameters
    ----------
    pixels : PixelSet, path or iterable of PixelSpec
        The full pixel list (:func:`mdf.pixels.open_pixels`); every shard of a run must be
        given the same list.
    run_dir : path
        Run folder (:mod:`mdf.runfolder`). A second call with the same list and settings
        skips the done pixels and resumes the interrupted ones.
    model : str
    seed : int
        Run seed; pixel ``p`` is calibrated with ``pixel_seed(seed, p.pixel_id)``.
    executor : concurrent.futures.Executor, optional
        Where pixels run: ``None`` (in this process, one after the other), a process pool
        (:func:`mdf.executors.process_pool`), a dask client's ``client.get_executor()``
        (:func:`mdf.executors.dask_executor`), or mpi4py's ``MPIPoolExecutor``.
    threads : int, optional
        Threads per pixel (chains in parallel). Default: all cores without an executor, 1 with
        one (workers then keep numba and BLAS to that many threads, :func:`limit_threads`).
    shard, n_shards : int, optional
        Calibrate only shard ``shard`` (0-based) of ``n_shards`` (:meth:`PixelSet.shard`).
    select : iterable of str, optional
        Calibrate only these pixel ids (of the shard): a subset first, or again. The run
        folder still belongs to the whole list.
    retry_failed : bool
        Attempt pixels whose last attempt failed (default: leave them failed).
    stale_after : float
        Seconds without a heartbeat after which another process's claim is taken over [s].
    checkpoint_every : float
        Least seconds between a pixel's checkpoint writes (:func:`mdf.calibrate`); not part of
        the run's settings (the chains do not depend on it).
    on_outcome : callable, optional
        Called in this process with each :class:`PixelOutcome` as it arrives (progress bars).
    **options
        :func:`mdf.calibrate` options shared by every pixel (``chains``, ``iterations``,
        ``burn_in``, ``thin``, ``sampler``, ``draws``, ``warm_start``, ``edc``, ...); recorded
        in ``run.json`` and checked on every restart.

    Returns
    -------
    list of PixelOutcome
        One per pixel of the shard, in list order.

    Raises
    ------
    mdf.runfolder.RunFolderError
        The folder belongs to a run with other settings or another pixel list.
    """
    if isinstance(pixels, (str, os.PathLike)):
        pixels = open_pixels(pixels)
    elif not isinstance(pixels, PixelSet):
        pixels = PixelSet(pixels)
    settings = run_settings(model, seed, options)
    part = task_pixels(pixels, shard, n_shards, select)
    folder = RunFolder.prepare(run_dir, pixels, settings)
    states = folder.states(part.ids(), stale_after)
    wanted = {"pending", "interrupted"} | ({"failed"} if retry_failed else set())
    todo = [p for p in part if states[p.pixel_id] in wanted]
    counts = {s: sum(1 for v in states.values() if v == s) for s in set(states.values())}
    label = f"shard {shard}/{n_shards}" if n_shards else "run"
    log.info("%s of %s: %d pixels (%s); calibrating %d", label, folder.path, len(part),
             ", ".join(f"{n} {s}" for s, n in sorted(counts.items())), len(todo))
    outcomes: dict[str, PixelOutcome] = {}
    for p in part:
        if states[p.pixel_id] not in wanted:
            status = {"done": "skipped", "running": "busy"}.get(states[p.pixel_id],
                                                                "not_retried")
            outcomes[p.pixel_id] = PixelOutcome(p.pixel_id, status)
            if on_outcome is not None:
                on_outcome(outcomes[p.pixel_id])
    config = {
        "model": settings["model"], "seed": settings["seed"], "calibrate": settings["calibrate"],
        "threads": threads if executor is None else (threads or 1),
        "limit_threads": executor is not None, "stale_after": stale_after,
        "checkpoint_every": checkpoint_every,
        "read_options": pixels.read_options,
        "claim": {"shard": shard} if shard is not None else {},
    }
    run_dir = str(folder.path)
    if executor is None:
        for p in todo:
            outcomes[p.pixel_id] = out = run_pixel(p, run_dir, config)
            if on_outcome is not None:
                on_outcome(out)
    else:
        futures = {executor.submit(run_pixel, p, run_dir, config): p.pixel_id for p in todo}
        for future in as_completed(futures):
            pid = futures[future]
            try:
                out = future.result()
            except Exception as err:  # the worker itself died (killed, out of memory)
                out = PixelOutcome(pid, "failed", message=f"worker lost: {type(err).__name__}: "
                                   f"{err}")
                log.error("pixel %s: %s", pid, out.message)
            outcomes[pid] = out
            if on_outcome is not None:
                on_outcome(out)
    result = [outcomes[p.pixel_id] for p in part]
    tally = {s: sum(1 for o in result if o.status == s) for s in ("done", "skipped", "busy",
                                                                  "failed", "not_retried")}
    log.info("%s finished: %s", label, ", ".join(f"{n} {s}" for s, n in tally.items()))
    return result


__all__ = [
    "PixelOutcome",
    "ShardError",
    "calibrate_many",
    "limit_threads",
    "pixel_seed",
    "resolve_shard",
    "run_pixel",
    "shard_from_environment",
    "task_pixels",
]
