"""Calibrate one pixel: start search, warm start, adaptive burn-in, sampling, diagnostics.

The hub of :mod:`mdf`. A run proceeds in blocks of iterations; between blocks Python logs
progress, adapts and writes a checkpoint (atomically), so a killed run resumes from its last
block and finishes with exactly the chains an uninterrupted run with the same seed gives.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .diagnostics import ess_bulk, rhat, summarise
from .posterior import Problem
from .reparam import reparameterise
from .rng import chain_states
from .samplers import get_sampler
from .start import find_start

log = logging.getLogger(__name__)


class ConvergenceWarning(UserWarning):
    """The chains have not converged (R-hat or ESS outside the targets)."""


class CheckpointError(ValueError):
    """A checkpoint that belongs to another run (different settings or pixel)."""


@dataclass(frozen=True)
class Settings:
    """Everything that determines a calibration's chains (stored with every checkpoint).

    A checkpoint is resumed only by a run with equal settings (:class:`CheckpointError`
    otherwise). :func:`default_settings` fills in the defaults.

    Attributes
    ----------
    model : str
        Registered model name.
    sampler : str, default 'demcz'
        Sampler name (:func:`mdf.samplers.get_sampler`).
    chains : int, default 4
        Number of chains (walkers for ``emcee``).
    burn_in : int, default 150000
        Adaptive iterations per chain before sampling.
    max_burn_in : int, default 0
        If larger than ``burn_in``: burn-in goes on past ``burn_in``, in ``block``-long
        windows, while the log-posterior is still rising (:func:`still_rising`), up to this
        many iterations per chain. 0 (or at most ``burn_in``): exactly ``burn_in``.
    iterations : int, default 4000000
        Sampling iterations per chain (a multiple of ``thin``); with ``until_converged`` the
        most that are run.
    thin : int, default 500
        Keep every ``thin``-th state.
    seed : int, default 0
        Seed of ``SeedSequence(seed).spawn(chains)``.
    block : int, default 20000
        Iterations per block between checkpoints (burn-in windows double from 2000 up to it).
    warm_start : bool, default True
        CMA-ES climb from each chain's EDC-consistent start before burn-in.
    scaling : str, default 'none'
        Per-stream cost scaling (``'none'``, ``'n'``, ``'sqrt_n'``, ``'log_n'``).
    edc : bool, default True
        Whether the EDCs are applied.
    start_max_iter : int, default 100000
        Iterations of one start-point search attempt (:func:`mdf.start.find_start`).
    warm_start_evals : int, default 60000
        Log-posterior evaluations of the CMA-ES warm start per chain.
    until_converged : bool, default True
        Stop sampling at the first block after which every parameter and the log-posterior
        meet ``target_rhat`` and ``target_ess``, over all kept draws or, failing that, over
        their later half (the earlier half then counts as extended burn-in and is dropped).
        False: run exactly ``iterations``.
    target_rhat : float, default 1.05
        Largest rank-normalised split R-hat accepted.
    target_ess : float, default 400
        Smallest bulk effective sample size (over all chains) accepted.
    starts : int, default 0
        Independent start searches (EDC search, then the CMA-ES warm start) before
        sampling; the ``chains`` with the highest log-posterior after the climb become the
        chains, each keeping its search's random stream. At most ``chains`` (0): one per
        chain, as before.
    reparam : str, default 'none'
        Coordinates the sampler moves in (:mod:`mdf.reparam`): ``'none'``, the normalised
        box; ``'steady_state'``, initial pools relative to the steady state the rates imply;
        ``'phases'``, circular leaf-onset/fall days; ``'steady_state+phases'``, both.
    """

    model: str
    sampler: str = "demcz"
    chains: int = 4
    burn_in: int = 150_000
    max_burn_in: int = 0
    iterations: int = 4_000_000
    thin: int = 500
    seed: int = 0
    block: int = 20_000
    warm_start: bool = True
    scaling: str = "none"
    edc: bool = True
    start_max_iter: int = 100_000
    warm_start_evals: int = 60_000
    until_converged: bool = True
    target_rhat: float = 1.05
    target_ess: float = 400.0
    reparam: str = "none"
    starts: int = 0

    def resumable_by(self, other: Settings) -> bool:
        """Whether a checkpoint written with these settings may continue under ``other``:
        equal in everything but the number of sampling iterations, which may grow."""
        return replace(self, iterations=other.iterations) == other


def _atomic_savez(path: Path, **arrays) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.npz")
    try:
        np.savez(tmp, **arrays)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class Run:
    """The mutable state of one calibration (sampler state, kept draws, progress).

    Parameters
    ----------
    problem : mdf.Problem
        The log-posterior being sampled.
    settings : Settings
        What determines the chains; saved with every checkpoint and compared on loading.
    sampler : mdf.samplers.base.Sampler
        The sampler instance whose state the run carries.
    """

    def __init__(self, problem: Problem, settings: Settings, sampler):
        self.problem = problem
        self.settings = settings
        self.sampler = sampler
        self.state: dict = {}
        self.done_burn = 0
        self.done_sample = 0
        self.draws = np.empty((settings.chains, 0, problem.space.ndim))
        self.lp = np.empty((settings.chains, 0))
        self.start_iterations = np.zeros(settings.chains, dtype=np.int64)
        self.accept = np.zeros(settings.chains)
        self.rescued = 0
        self.first_kept = 0  # draws before it are extended burn-in (until_converged)
        self.stopped = False  # until_converged: the targets were met
        self.last_failed = 0  # variable that failed the last convergence test (tested first)
        self.window_lp = np.empty(0)  # median log P of each burn-in window (max_burn_in)
        self.burn_ended = False  # max_burn_in: the last burn-in window has run

    # ---------------------------------------------------------------- checkpointing
    def save(self, path: Path) -> None:
        arrays = {f"state_{k}": v for k, v in self.state.items()}
        _atomic_savez(
            path,
            settings=np.array(repr(asdict(self.settings))),
            pixel=np.array(str(self.problem.pixel.attrs.get("source_file", ""))),
            fingerprint=np.array(fingerprint(self.problem)),
            done=np.array([self.done_burn, self.done_sample, self.rescued, self.first_kept,
                           int(self.stopped), int(self.burn_ended)]),
            draws=self.draws,
            lp=self.lp,
            start_iterations=self.start_iterations,
            accept=self.accept,
            window_lp=self.window_lp,
            **arrays,
            **({"reparam_offsets": self.problem.space.offsets}
               if hasattr(self.problem.space, "offsets") else {}),
        )

    def load(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as z:
            saved = str(z["settings"])
            try:
                written = Settings(**_literal(saved))
            except (TypeError, ValueError, SyntaxError):
                written = None
            if written is None or not written.resumable_by(self.settings):
                raise CheckpointError(
                    f"{path}: checkpoint was written with other settings ({saved}); "
                    "delete it or use the same settings (only 'iterations' may grow)"
                )
            if "fingerprint" not in z.files or str(z["fingerprint"]) != fingerprint(self.problem):
                raise CheckpointError(
                    f"{path}: checkpoint was written for other data, model options, EDC "
                    "equilibrium factor or cost scaling; delete it or calibrate the same problem"
                )
            done = [int(v) for v in z["done"]]
            self.done_burn, self.done_sample, self.rescued, self.first_kept = done[:4]
            self.stopped = bool(done[4])
            # checkpoints from before max_burn_in: burn-in ended when it reached burn_in
            self.burn_ended = (bool(done[5]) if len(done) > 5
                               else self.done_burn >= self.settings.burn_in)
            if self.done_sample > self.settings.iterations:
                raise CheckpointError(
                    f"{path}: checkpoint holds {self.done_sample} sampling iterations, more "
                    f"than iterations={self.settings.iterations}"
                )
            self.draws = z["draws"]
            self.lp = z["lp"]
            self.start_iterations = z["start_iterations"]
            self.accept = z["accept"]
            # absent from checkpoints written before max_burn_in existed
            self.window_lp = z["window_lp"] if "window_lp" in z.files else np.empty(0)
            self.state = {k[6:]: z[k].copy() for k in z.files if k.startswith("state_")}
            if "reparam_offsets" in z.files:  # the circular phases' cut (mdf.reparam)
                self.problem.space.offsets[:] = z["reparam_offsets"]


def _literal(text: str) -> dict:
    import ast

    return ast.literal_eval(text)


def fingerprint(problem: Problem) -> str:
    """A digest of everything besides :class:`Settings` that determines a run's chains.

    Parameters
    ----------
    problem : mdf.Problem
        The calibration problem.

    Returns
    -------
    str
        SHA-256 hex digest of the pixel's variables (values and attributes) and attributes
        (its file name and history excluded), the model options, the EDC equilibrium factor
        and whether EDCs apply.
    """
    h = hashlib.sha256()
    pixel = problem.pixel
    for name in sorted(pixel.variables):
        h.update(name.encode())
        values = np.ascontiguousarray(pixel[name].values)
        if values.dtype.kind in "fiub":
            h.update(values.astype(np.float64).tobytes())
        else:
            h.update(repr(values.tolist()).encode())
        h.update(repr(sorted((k, str(v)) for k, v in pixel[name].attrs.items())).encode())
    h.update(repr(sorted((k, str(v)) for k, v in pixel.attrs.items()
                         if k not in ("source_file", "history"))).encode())
    h.update(repr((sorted(problem.options.items()), problem.eqf, problem.use_edc)).encode())
    return h.hexdigest()


def default_settings(model, sampler="demcz", **overrides) -> Settings:
    """The defaults, with ``thin`` chosen to keep 1000 draws per chain of a fixed-length run.

    Parameters
    ----------
    model : str or int
        Registered model name.
    sampler : str, default 'demcz'
        Sampler name.
    **overrides
        Fields of :class:`Settings`; None leaves a default.

    Returns
    -------
    Settings
        With ``thin = max(1, iterations // 1000)`` unless given (``until_converged=False``;
        500 otherwise), and ``iterations`` rounded up to a multiple of ``thin``.
    """
    s = Settings(model=str(model), sampler=sampler)
    values = {**asdict(s), **{k: v for k, v in overrides.items() if v is not None}}
    if overrides.get("thin") is None and not values["until_converged"]:
        values["thin"] = max(1, values["iterations"] // 1000)
    # whole numbers of kept draws
    values["iterations"] = -(-values["iterations"] // values["thin"]) * values["thin"]
    return Settings(**values)


def calibrate(
    pixel,
    model="811",
    *,
    chains: int = 4,
    iterations: int | None = None,
    burn_in: int | None = None,
    max_burn_in: int | None = None,
    thin: int | None = None,
    sampler: str = "demcz",
    seed: int | None = 0,
    checkpoint=None,
    checkpoint_every: float = 60.0,
    threads: int | None = None,
    draws: int = 500,
    scaling: str = "none",
    edc: bool = True,
    eqf: float | None = None,
    options=None,
    warm_start: bool | None = None,
    block: int | None = None,
    progress=None,
    target_rhat: float = 1.05,
    target_ess: float = 400.0,
    until_converged: bool | None = None,
    preset: str | None = None,
    preset_options=None,
    reparam: str = "none",
    starts: int = 0,
):
    """Calibrate a DALEC model against one pixel's observations.

    Parameters
    ----------
    pixel : xarray.Dataset
        Pixel dataset (:func:`drivers.read`).
    model : str
        Registered model name.
    chains : int
        Independent chains, each with its own random stream from
        ``SeedSequence(seed).spawn(chains)``.
    iterations : int, optional
        Sampling iterations per chain after burn-in. Default: run until converged, at most
        4 000 000 (``until_converged``); given: exactly this many, unless ``until_converged``
        is also given, in which case it is the most.
    burn_in : int, optional
        Adaptive iterations per chain before sampling (default 150 000).
    max_burn_in : int, optional
        Let burn-in go on past ``burn_in``, in ``block``-long windows, while the
        log-posterior is still rising (:func:`mdf.calibration.still_rising`), up to this many
        iterations per chain (default 0: exactly ``burn_in``; otherwise at least
        ``burn_in``).
    thin : int, optional
        Keep every ``thin``-th state (default 500 when running until converged, otherwise
        ``iterations // 1000``: 1000 draws per chain).
    sampler : {'demcz', 'am', 'cardamom', 'emcee'} or Sampler
        ``demcz`` (default): differential-evolution chains over a shared archive, which
        converged on every FluxVal site tried (``docs/samplers.md``); ``am``: adaptive
        Metropolis; ``cardamom``: CARDAMOM's MCMCID 119 with its quirks; ``emcee``.
    seed : int
        Seed of the chains' random streams.
    checkpoint : path, optional
        ``.npz`` file written after the start search and then after a block whenever
        ``checkpoint_every`` seconds have passed since the last write; if it exists the run
        resumes from it. A checkpoint written by the same problem and settings with fewer
        ``iterations`` is continued (extending a run in a new session).
    checkpoint_every : float
        Least wall-clock seconds between checkpoint writes (default 60; 0: after every
        block). A write costs about as much as a few thousand iterations (the archive is up
        to 26 MB); the chains do not depend on when they are written.
    threads : int or callable, optional
        Threads for the chains (default: all cores). Results do not depend on it. A callable
        returning an int is asked again before every block (a process pool of
        :func:`mdf.executors.process_pool` lends a pixel its idle workers' cores this way).
    draws : int
        Posterior draws run forward for the flux and pool ensemble.
    scaling : {'none', 'n', 'sqrt_n', 'log_n'}
        Per-stream cost scaling. With a preset, ``none`` means the preset's own (give
        ``preset_options={"scaling": "none"}`` for none).
    edc : bool
        Apply the model's EDCs.
    eqf : float, optional
        EDC equilibrium factor (default: from the file, else 2).
    options : mapping, optional
        Model options.
    warm_start : bool, optional
        CMA-ES climb from each chain's EDC start before burn-in (default: True for ``am``
        and ``demcz``).
    block : int, optional
        Iterations per block between checkpoints and convergence checks (default 20 000).
    progress : callable, optional
        ``progress(phase, done, total, run)`` after each block (the CLI draws a bar).
    target_rhat, target_ess : float
        Convergence targets: R-hat at most ``target_rhat`` and bulk ESS at least
        ``target_ess`` for every parameter (phases wrapped) and the log-posterior.
    until_converged : bool, optional
        Stop at the first block that meets the targets (default: when ``iterations`` is not
        given). The targets are tested on all kept draws, then on their later half; when
        only the later half passes, the earlier half is dropped as extended burn-in.
    preset : {'edinburgh'}, optional
        Run a reference implementation's whole procedure instead (:mod:`mdf.presets`): its
        sampler, default scaling, phases, kept draws and convergence test. ``iterations`` is
        then the proposals per chain over all phases; ``sampler`` must be left at its default
        and ``burn_in``, ``thin``, ``warm_start``, ``checkpoint`` and the targets do not
        apply.
    preset_options : mapping, optional
        Further keyword arguments of the preset's ``calibrate`` (e.g. ``{"start": "mdf"}``).
    reparam : {'none', 'steady_state', 'phases', 'steady_state+phases'}
        Coordinates the sampler moves in (:mod:`mdf.reparam`): ``'steady_state'`` expresses
        each initial carbon pool relative to the steady state the other parameters imply (an
        exact shear: the same posterior; DALEC 400/809/811/1005); ``'phases'`` samples the
        leaf-onset and leaf-fall days on one circular year (the posterior modulo a year,
        exactly; draws in the first year). Draws are reported in model units either way.
    starts : int
        Independent start searches and CMA-ES climbs before sampling; the ``chains`` best by
        log-posterior become the chains (default 0: one per chain). More starts find the
        posterior's main region more often at the cost of their searches.

    Returns
    -------
    mdf.results.CalibrationResult

    Warns
    -----
    ConvergenceWarning
        If any parameter or the log-posterior has R-hat > ``target_rhat`` or bulk ESS <
        ``target_ess``; the result says so and :meth:`CalibrationResult.extend` continues it.
    """
    from .results import CalibrationResult

    if preset is not None:
        if reparam != "none":
            raise ValueError(f"preset {preset!r} runs its own procedure; drop reparam=")
        kwargs = {"scaling": None if scaling == "none" else scaling,
                  **dict(preset_options or {})}
        return _calibrate_preset(preset, pixel, model, sampler, checkpoint, chains=chains,
                                 iterations=iterations, seed=seed,
                                 threads=_threads_now(threads) if threads else None, draws=draws,
                                 edc=edc, eqf=eqf, options=options, progress=progress,
                                 **kwargs)
    problem = reparameterise(
        Problem(pixel, model, options=options, scaling=scaling, edc=edc, eqf=eqf), reparam)
    samp = get_sampler(sampler)
    if until_converged is None:
        until_converged = iterations is None
    settings = default_settings(
        problem.model.name, sampler=samp.name, chains=chains, iterations=iterations,
        burn_in=burn_in, max_burn_in=max_burn_in, thin=thin,
        seed=0 if seed is None else int(seed), block=block,
        warm_start=(samp.name in ("am", "demcz")) if warm_start is None else bool(warm_start),
        scaling=scaling, edc=bool(edc), until_converged=bool(until_converged),
        target_rhat=float(target_rhat), target_ess=float(target_ess), reparam=reparam,
        starts=int(starts),
    )
    if settings.max_burn_in and not settings.burn_in <= settings.max_burn_in:
        raise ValueError(f"max_burn_in ({settings.max_burn_in}) must be 0 (a fixed burn-in) "
                         f"or at least burn_in ({settings.burn_in})")
    threads = threads or os.cpu_count() or 1  # a callable is kept as it is
    run = Run(problem, settings, samp)
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None:
        _remove_stale_temporaries(path)
    if path is not None and path.exists():
        run.load(path)
        log.info("resumed %s: burn-in %d, sampling %d", path, run.done_burn, run.done_sample)
    else:
        _initialise(run, _threads_now(threads))
        if path is not None:
            run.save(path)
    _advance(run, threads, path, progress, checkpoint_every)
    result = CalibrationResult.from_run(run, n_draws=draws, threads=_threads_now(threads))
    result.check_convergence(target_rhat, target_ess)
    return result


def _calibrate_preset(name, pixel, model, sampler, checkpoint, **kwargs):
    """A preset's whole procedure (:mod:`mdf.presets`); it is not checkpointed."""
    from .presets import get_preset

    if sampler not in ("demcz", name):
        raise ValueError(f"preset {name!r} chooses its own sampler; got sampler={sampler!r}")
    if checkpoint is not None:
        raise ValueError(f"preset {name!r} runs are not checkpointed; drop checkpoint=")
    return get_preset(name).calibrate(pixel, model, **kwargs)


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files left by a killed writer (never the checkpoint itself)."""
    for stale in path.parent.glob(f".{path.name}.tmp*"):
        stale.unlink(missing_ok=True)


def _threads_now(threads) -> int:
    """``threads`` itself, or what a callable ``threads`` says now (at least 1)."""
    return max(1, int(threads() if callable(threads) else threads))


def _initialise(run: Run, threads: int) -> None:
    s = run.settings
    problem = run.problem
    rng = chain_states(s.seed, max(s.chains, s.starts))
    x0, lp0, used = find_start(problem, rng, max_iter=s.start_max_iter, threads=threads)
    run.start_iterations = used
    log.info("EDC-consistent starts after %s iterations; log P %s", used.tolist(),
             np.round(lp0, 2).tolist())
    covs = None
    if s.warm_start:
        from .optimise import climb

        covs, evals = climb(problem, x0, lp0, rng, max_evals=s.warm_start_evals,
                            threads=threads)
        log.info("warm start (CMA-ES, %s evaluations): log P %s", evals.tolist(),
                 np.round(lp0, 2).tolist())
    if s.starts > s.chains:  # the best of the searches become the chains, in search order
        keep = np.sort(np.argsort(-lp0, kind="stable")[:s.chains])
        log.info("%d starts: log P after the climb %s; chains from starts %s", s.starts,
                 np.round(np.sort(lp0)[::-1], 1).tolist(), keep.tolist())
        x0, lp0, rng = x0[keep], lp0[keep], rng[keep]
        run.start_iterations = used[keep]
        covs = covs[keep] if covs is not None else None
    if hasattr(problem.space, "recentre"):  # circular phases: the cut away from the mass
        x0 = problem.space.recentre(x0)
    run.state = run.sampler.init_state(problem, x0, lp0, rng)
    if covs is not None and hasattr(run.sampler, "set_covariance"):
        run.sampler.set_covariance(run.state, covs)


def _advance(run: Run, threads, path: Path | None, progress, every: float = 0.0) -> None:
    """Run the remaining burn-in and sampling blocks; checkpoint after a block when ``every``
    seconds have passed since the last write (0: after every block). ``threads``: an int, or
    a callable asked before every block."""
    s = run.settings
    samp = run.sampler
    last = time.monotonic()

    def save():
        nonlocal last
        if path is not None and time.monotonic() - last >= every:
            run.save(path)
            last = time.monotonic()
    extend = s.max_burn_in > s.burn_in
    while run.done_burn < s.burn_in or (extend and not run.burn_ended):
        # windowed adaptation: block lengths double from 2000 up to ``block``
        limit = s.max_burn_in if run.done_burn >= s.burn_in else s.burn_in
        n = min(_window_length(run.done_burn, s.block), limit - run.done_burn)
        # up to _WINDOW_STATES states per chain come back for the window's median log P; the
        # thinning divides n (emcee runs n // thin steps of thin) and the chains do not
        # depend on it
        thin = n // math.gcd(n, _WINDOW_STATES) if extend else max(n, 1)
        _, lp = samp.run_block(run.problem, run.state, n, thin, True, _threads_now(threads))
        run.done_burn += n
        if extend:
            run.window_lp = np.append(run.window_lp, np.median(lp))
        final = run.done_burn >= s.burn_in and not (
            extend and run.done_burn < s.max_burn_in and still_rising(run.window_lp))
        if extend and run.done_burn >= s.burn_in:
            _log_extension(run, final)
        run.burn_ended = final
        samp.end_window(run.state, final=final)
        if run.done_burn <= 0.75 * s.burn_in:  # the last quarter adapts undisturbed
            run.rescued += samp.rescue(run.state)
        _report(run, "burn-in", run.done_burn,
                s.burn_in if final or run.done_burn < s.burn_in else s.max_burn_in, progress)
        save()
    while run.done_sample < s.iterations and not run.stopped:
        n = min(max(s.thin, s.block - s.block % s.thin), s.iterations - run.done_sample)
        x, lp = samp.run_block(run.problem, run.state, n, s.thin, False, _threads_now(threads))
        if run.draws.shape[1] == 0:  # first block fixes the chain count (emcee: walkers)
            run.draws, run.lp = x, lp
        else:
            run.draws = np.concatenate([run.draws, x], axis=1)
            run.lp = np.concatenate([run.lp, lp], axis=1)
        run.done_sample += n
        run.accept = samp.acceptance(run.state)
        if s.until_converged:
            _check_targets(run)
        _report(run, "sampling", run.done_sample, s.iterations, progress)
        save()


# at least this many kept draws per chain before the targets are tested
_MIN_DRAWS = 100
# states per chain a burn-in window returns for its median log P (max_burn_in)
_WINDOW_STATES = 20
# still_rising: windows in each of the two groups compared, and the rise that counts
_RISE_WINDOWS = 3
_RISE_TOL = 2.0


def still_rising(window_lp, windows: int = _RISE_WINDOWS, tol: float = _RISE_TOL) -> bool:
    """Whether burn-in's log-posterior is still rising (``max_burn_in``).

    Parameters
    ----------
    window_lp : array_like
        Median log-posterior over all chains' states of each burn-in window so far.
    windows : int, default 3
        Windows in each of the two groups compared.
    tol : float, default 2.0
        Rise that counts, in log-posterior units.

    Returns
    -------
    bool
        True if the mean of the last ``windows`` medians exceeds the mean of the
        ``windows`` before them by more than ``tol``, or if there are not yet ``2·windows``
        windows to compare. Over the last 50 sampling blocks of 136 FluxVal sites (when
        log P had levelled off), this difference of means exceeded 2 in 4 % of blocks
        with one state per chain per block; the burn-in windows' medians of 20 states per
        chain vary less.
    """
    rise = _rise(window_lp, windows)
    return bool(math.isnan(rise) or rise > tol)


def _rise(window_lp, windows: int = _RISE_WINDOWS) -> float:
    """Mean of the last ``windows`` window medians minus that of the ``windows`` before
    (NaN with fewer than ``2·windows``)."""
    w = np.asarray(window_lp, dtype=float)
    if w.size < 2 * windows:
        return float("nan")
    return float(w[-windows:].mean() - w[-2 * windows:-windows].mean())


def _log_extension(run: Run, final: bool) -> None:
    s = run.settings
    rise = _rise(run.window_lp)
    pid = run.problem.pixel.attrs.get("pixel_id", "pixel")
    if not final:
        if run.done_burn - s.burn_in < s.block:  # the first extension window
            how = (f"{rise:+.1f} over the last {_RISE_WINDOWS} windows" if np.isfinite(rise)
                   else f"fewer than {2 * _RISE_WINDOWS} windows to compare")
            log.info("%s: burn-in extended past %d: log P still rising (%s)", pid, s.burn_in,
                     how)
    elif run.done_burn > s.burn_in:
        why = "log P levelled off" if run.done_burn < s.max_burn_in else "max_burn_in reached"
        log.info("%s: burn-in ended after %d iterations per chain (%s; %+.1f over the last %d "
                 "windows)", pid, run.done_burn, why, rise, _RISE_WINDOWS)


def _check_targets(run: Run) -> None:
    """``until_converged``: stop when all kept draws, or their later half, meet the targets;
    with the later half, the earlier half becomes burn-in (``run.first_kept``)."""
    total = run.draws.shape[1]
    for first in (0, total // 2):
        if total - first < _MIN_DRAWS:
            continue
        if _meets_targets(run, first):
            run.first_kept = first
            run.stopped = True
            log.info("%s: converged after %d sampling iterations per chain (%s kept draws)",
                     run.problem.pixel.attrs.get("pixel_id", "pixel"), run.done_sample,
                     "all" if first == 0 else "the later half of the")
            return


def _target_draws(run: Run, first: int = 0) -> np.ndarray:
    """(chain, draw, parameter + log P) from kept draw ``first`` on, phases wrapped."""
    space = run.problem.space
    pars = space.wrap_circular(space.from_normalised(run.draws[:, first:]))
    return np.concatenate([pars, run.lp[:, first:, None]], axis=2)


def _meets_targets(run: Run, first: int) -> bool:
    """Whether every variable of :func:`target_diagnostics` meets the targets.

    The same answer at a fraction of the cost of computing them all: the variable that
    failed the previous test is tested first, R-hat before ESS, and the first failure ends
    the test (most tests fail, and then after one or two variables).
    """
    s = run.settings
    x = _target_draws(run, first)
    k = x.shape[2]
    worst = run.last_failed if 0 <= run.last_failed < k else 0
    for j in [worst] + [j for j in range(k) if j != worst]:
        if not (rhat(x[:, :, j]) <= s.target_rhat and ess_bulk(x[:, :, j]) >= s.target_ess):
            run.last_failed = j
            return False
    return True


def target_diagnostics(run: Run, first: int = 0, draws: np.ndarray | None = None) -> dict:
    """R-hat and ESS of every parameter (phases wrapped) and the log-posterior.

    Parameters
    ----------
    run : Run
        A run with kept draws.
    first : int, default 0
        First kept draw (per chain) included.
    draws : ndarray (chain, draw, parameter + log P), optional
        ``_target_draws(run, first)`` when the caller has them already.

    Returns
    -------
    dict
        :func:`mdf.diagnostics.summarise` of the draws from ``first`` on: the quantities the
        convergence targets are tested on.
    """
    if draws is None:
        draws = _target_draws(run, first)
    return summarise(draws, run.problem.model.parameter_names + ["log_posterior"])


def _window_length(done: int, block: int) -> int:
    """Burn-in window lengths 2000, 4000, 8000, ... capped at ``block``."""
    length = 2_000
    total = 0
    while total + length <= done:
        total += length
        length = min(2 * length, block)
    return length


def _report(run: Run, phase: str, done: int, total: int, progress) -> None:
    lp_now = run.state["lp"].ravel()
    acc = run.sampler.acceptance(run.state)
    msg = (f"{run.problem.pixel.attrs.get('pixel_id', 'pixel')} {phase} {done}/{total}: "
           f"log P {np.round(lp_now, 1).tolist()} acceptance {np.round(acc, 3).tolist()}")
    if phase == "sampling" and run.draws.shape[1] >= 8:
        diag = summarise(run.lp[:, :, None], ["lp"])
        msg += f" R-hat(log P) {diag['rhat'][0]:.3f}"
    log.info(msg)
    run.sampler.reset_counters(run.state)
    if progress is not None:
        progress(phase, done, total, run)


__all__ = ["calibrate", "Settings", "ConvergenceWarning", "CheckpointError"]
