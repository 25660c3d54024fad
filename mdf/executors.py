"""Executors for :func:`mdf.calibrate_many`: a local process pool, dask, MPI.

Any :class:`concurrent.futures.Executor` works; these helpers set the workers up so that
``workers x threads`` never exceeds the cores (numba and BLAS limited in each worker,
:func:`mdf.batch.limit_threads`) and so that the workers' per-pixel and per-block log lines
reach the batch log.

- :class:`SharedThreads`: all cores of one machine or one array task, as threads of this
  process; several pixels at once, and every pixel's chains on one shared pool of threads, so
  no core idles while another pixel still runs (the default of ``dalec-mdf calibrate
  --pixels``).
- :func:`process_pool`: one pixel per process (``--executor process``).
- :func:`dask_executor`: a ``dask.distributed`` cluster, local (``LocalCluster``) or remote
  (a scheduler address or scheduler file, e.g. one started by ``dask-jobqueue``'s
  ``SLURMCluster``). Needs the ``dask`` extra.
- :func:`mpi_executor`: mpi4py's ``MPIPoolExecutor`` (``mpiexec -n 65 python -m
  mpi4py.futures script.py``). Needs the ``mpi`` extra.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager

#: log line format of workers (the CLI's, so that batch logs read as one)
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def available_cores() -> int:
    """Cores this process may use: ``SLURM_CPUS_PER_TASK``, else the CPU affinity mask."""
    for var in ("SLURM_CPUS_PER_TASK", "NSLOTS", "PBS_NUM_PPN", "NCPUS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def worker_setup(threads: int = 1, log_level: int | None = None,
                 log_format: str = LOG_FORMAT) -> None:
    """Prepare a worker process: thread limits, and a stderr log handler at ``log_level``."""
    from .batch import limit_threads

    limit_threads(threads)
    if log_level is not None:
        root = logging.getLogger()
        if not root.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter(log_format))
            root.addHandler(handler)
        logging.getLogger("mdf").setLevel(log_level)


def _parent_log_level() -> int | None:
    mdf_log = logging.getLogger("mdf")
    return mdf_log.getEffectiveLevel() if logging.getLogger().handlers else None


class SharedThreads(Executor):
    """Pixels in threads of this process, their chains on one shared pool of ``threads``.

    A process pool runs one pixel per core, so when fewer pixels than cores are left (the
    end of every task) cores idle. Here up to ``pixels`` pixels run at once, each in its own
    thread, and every chain segment of every pixel (the numba kernels, which release the
    GIL) goes to one pool of ``threads`` threads: while any pixel still runs, its chains keep
    up to ``threads`` cores busy. The chains are the same as on any other executor (each
    chain's arithmetic and random stream are its own).

    Parameters
    ----------
    threads : int, optional
        Threads the chains share (default :func:`available_cores`).
    pixels : int, optional
        Pixels calibrated at once (default ``threads``; at least 2 keeps the pool fed while
        a pixel does its serial parts: start, convergence tests, writing its result).

    Notes
    -----
    :func:`mdf.calibrate_many` recognises this executor and hands each pixel a *lane*
    (:meth:`lane`) as its ``threads``: the lane's ``map`` runs the pixel's chains on the
    shared pool and adds up the CPU time they take, so each pixel still reports its own CPU
    seconds. A crash of the process (out of memory, a signal) stops every pixel in it; their
    checkpoints resume them. :meth:`interrupt` (Ctrl-C in :func:`mdf.calibrate_many`) stops
    the running pixels at their next block and leaves them interrupted, not failed.
    """

    def __init__(self, threads: int | None = None, pixels: int | None = None):
        self.threads = int(threads or available_cores())
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.pixels = int(pixels or max(2, self.threads))
        self._chains = ThreadPoolExecutor(self.threads, thread_name_prefix="mdf-chain")
        self._drivers = ThreadPoolExecutor(self.pixels, thread_name_prefix="mdf-pixel")
        self._stop = threading.Event()

    def submit(self, fn, /, *args, **kwargs):
        return self._drivers.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._drivers.shutdown(wait=wait, cancel_futures=cancel_futures)
        self._chains.shutdown(wait=wait, cancel_futures=cancel_futures)

    def interrupt(self) -> None:
        """Stop: pixels not started are cancelled, running ones raise :class:`Interrupted` at
        their next block (their claims are released; their checkpoints resume them)."""
        self._stop.set()
        self._drivers.shutdown(wait=False, cancel_futures=True)

    def lane(self) -> _Lane:
        """A pixel's handle on the shared chain pool (what its ``threads`` argument gets)."""
        return _Lane(self._chains, self.threads, self._stop)


class Interrupted(BaseException):
    """A pixel stopped by :meth:`SharedThreads.interrupt` (a BaseException, like
    KeyboardInterrupt, so that it is not recorded as the pixel's failure)."""


class _Lane:
    """One pixel's view of a :class:`SharedThreads` pool: ``map`` and the CPU time it used."""

    def __init__(self, pool: ThreadPoolExecutor, threads: int, stop: threading.Event):
        self._pool = pool
        self.threads = threads
        self.cpu_seconds = 0.0
        self._lock = threading.Lock()
        self._stop = stop

    def check(self) -> None:
        """Raise :class:`Interrupted` if the pool was interrupted."""
        if self._stop.is_set():
            raise Interrupted("interrupted")

    def map(self, fn, iterable):
        def timed(arg):
            start = time.thread_time()
            try:
                return fn(arg)
            finally:
                spent = time.thread_time() - start
                with self._lock:
                    self.cpu_seconds += spent

        return self._pool.map(timed, iterable)


def process_pool(workers: int | None = None, threads: int = 1,
                 log_level: int | None = None) -> ProcessPoolExecutor:
    """A pool of ``workers`` fresh Python processes (spawned, not forked), each on ``threads``.

    Parameters
    ----------
    workers : int, optional
        Default: :func:`available_cores` // ``threads``.
    threads : int
        Threads per pixel (numba and BLAS limited to it in each worker).
    log_level : int, optional
        Level of the workers' stderr log handler; default: this process's level for the
        ``mdf`` logger if logging is configured, else no handler.

    Notes
    -----
    Spawned workers share no numba thread pool or lock state with the parent (forking a
    process whose numba threads have started is unsafe); each compiles or loads the
    kernels once, then keeps them for every pixel it runs.
    """
    workers = workers or max(1, available_cores() // max(1, threads))
    level = _parent_log_level() if log_level is None else log_level
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_setup, initargs=(threads, level),
    )


@contextmanager
def dask_executor(address: str | None = None, workers: int | None = None, threads: int = 1,
                  log_level: int | None = None):
    """A ``dask.distributed`` executor (``client.get_executor()``) for the ``with`` block.

    Parameters
    ----------
    address : str, optional
        Scheduler address (``tcp://host:8786``) or scheduler file (``.json``); default: a
        ``LocalCluster`` of ``workers`` processes with one task slot each.
    workers : int, optional
        LocalCluster size (default :func:`available_cores` // ``threads``).
    threads : int
        Threads per pixel.
    log_level : int, optional
        Workers' log level for the ``mdf`` logger (as :func:`process_pool`).

    Yields
    ------
    concurrent.futures.Executor
    """
    try:
        from distributed import Client, LocalCluster
        from distributed.diagnostics.plugin import WorkerPlugin
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("dask.distributed is not installed: pip install 'dalec-mdf[dask]'") \
            from None

    level = _parent_log_level() if log_level is None else log_level

    class _Setup(WorkerPlugin):
        name = "dalec-mdf-setup"

        def setup(self, worker):  # also runs on workers that join later (adaptive clusters)
            worker_setup(threads, level)

    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers or max(1, available_cores() // max(1, threads)),
                               threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    elif address.endswith(".json"):
        client = Client(scheduler_file=address)
    else:
        client = Client(address)
    try:
        register = getattr(client, "register_plugin", None) or client.register_worker_plugin
        register(_Setup())
        yield client.get_executor()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def mpi_executor():
    """mpi4py's ``MPIPoolExecutor`` (run under ``mpiexec ... python -m mpi4py.futures``)."""
    try:
        from mpi4py.futures import MPIPoolExecutor
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("mpi4py is not installed: pip install 'dalec-mdf[mpi]'") from None
    return MPIPoolExecutor()


__all__ = ["Interrupted", "SharedThreads", "available_cores", "dask_executor", "mpi_executor",
           "process_pool", "worker_setup"]
