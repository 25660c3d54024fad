"""Executors for :func:`mdf.calibrate_many`: a local process pool, dask, MPI.

Any :class:`concurrent.futures.Executor` works; these helpers set the workers up so that
``workers x threads`` never exceeds the cores (numba and BLAS limited in each worker,
:func:`mdf.batch.limit_threads`) and so that the workers' per-pixel and per-block log lines
reach the batch log.

- :func:`process_pool`: all cores of one machine or one array task (the default of
  ``dalec-mdf calibrate --pixels``).
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
from concurrent.futures import ProcessPoolExecutor
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


def exit_with_parent(interval: float = 1.0) -> threading.Thread:
    """End this worker process once the process that started it has gone.

    A pool's workers outlive a parent killed with SIGKILL (or by the out-of-memory killer):
    they would go on calibrating pixels nobody collects, holding their claims. A daemon
    thread polls the parent id every ``interval`` seconds and ends the process with
    ``os._exit`` when it changes. The pixel it was running is left as a killed task leaves
    it: ``interrupted``, resumed from its last checkpoint by the next run.

    Parameters
    ----------
    interval : float
        Seconds between checks.

    Returns
    -------
    threading.Thread
        The watching thread (a daemon; started).
    """
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(70)  # EX_SOFTWARE: no cleanup handlers, as for a killed task

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


def worker_setup(threads: int = 1, log_level: int | None = None,
                 log_format: str = LOG_FORMAT, busy=None, cores: int = 0,
                 watch_parent: bool = False) -> None:
    """Prepare a worker process: thread limits, a stderr log handler at ``log_level``, and,
    given the pool's shared ``busy`` counter and ``cores``, the lending of idle workers' cores
    (:func:`mdf.batch.lend_cores`); with ``watch_parent``, :func:`exit_with_parent`.

    Parameters
    ----------
    threads : int
        Threads per pixel.
    log_level : int, optional
        Level of a stderr handler for the ``mdf`` logger; None adds none.
    log_format : str
        Format of that handler.
    busy : multiprocessing.Value, optional
        The pool's count of running pixels.
    cores : int
        Cores of the pool (for lending).
    watch_parent : bool
        End the worker when its parent process has gone.
    """
    from .batch import lend_cores, limit_threads

    if watch_parent:
        exit_with_parent()
    limit_threads(threads)
    if busy is not None:
        lend_cores(busy, cores)
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


def process_pool(workers: int | None = None, threads: int = 1,
                 log_level: int | None = None, lend_idle: bool = True) -> ProcessPoolExecutor:
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
    lend_idle : bool
        When workers run out of pixels, the pixels still running take over their cores
        (``workers x threads // running`` threads each, re-read before every block;
        :func:`mdf.batch.lend_cores`). The results do not change; the tail of a run, where
        the last pixels would otherwise run alone, shortens.

    Notes
    -----
    Spawned workers share no numba thread pool or lock state with the parent (forking a
    process whose numba threads have started is unsafe); each compiles or loads the
    kernels once, then keeps them for every pixel it runs. A worker whose parent has gone
    (killed with SIGKILL) ends itself within a second (:func:`exit_with_parent`).
    """
    workers = workers or max(1, available_cores() // max(1, threads))
    level = _parent_log_level() if log_level is None else log_level
    context = multiprocessing.get_context("spawn")
    busy = context.Value("i", 0) if lend_idle else None
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=worker_setup,
        initargs=(threads, level, LOG_FORMAT, busy, workers * max(1, threads), True),
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


__all__ = ["available_cores", "dask_executor", "exit_with_parent", "mpi_executor",
           "process_pool", "worker_setup"]
