"""Run independent jobs locally or on a Ray cluster, with identical results.

Ensemble members, benchmark realisations, seeds of a simulated campaign and
chunks of a huge pool are independent jobs. Each job carries its own seed, so
the backend changes where the work runs, never the numbers.

* :func:`map_jobs` applies a function to every job and returns the results in
  job order; :func:`imap_jobs` yields them as they finish and can stop
  starting new jobs after a time budget.
* :func:`run_jobs` is the benchmark runner on top of them: jobs are keyed,
  each finished job is written to one JSON file (so an interrupted run
  resumes where it stopped), and every record carries its CPU seconds, wall
  seconds and the hash of the library source it ran on (:func:`source_hash`).
* :func:`parse_range` reads ``"1-10,12"``-style lists of realisations or seeds.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "BACKENDS",
    "JobRecord",
    "RunReport",
    "add_runner_arguments",
    "imap_jobs",
    "load_records",
    "map_jobs",
    "parse_range",
    "run_jobs",
    "runner_options",
    "source_hash",
]

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("local", "ray")
"""``"local"``: this process (``workers = 1``) or a pool of worker processes; ``"ray"``: Ray tasks."""

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


def _check_backend(backend: str, workers: int) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}.")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}.")


def _start_context() -> Any:
    """``spawn`` where torch is loaded and CUDA is present, else the platform's default.

    A forked child can neither use a CUDA context its parent made nor run autograd
    once the parent's autograd engine has started its device threads, which it does
    at the first backward pass whenever a CUDA device exists, even on CPU tensors.
    """
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return multiprocessing.get_context("spawn")
    return None


def _call(fn: Callable[[T], R], job: T) -> R:
    """``fn(job)``: the one function Ray runs, so that ``fn`` may be any callable object."""
    return fn(job)


def imap_jobs(
    fn: Callable[[T], R],
    jobs: Iterable[T],
    *,
    backend: str = "local",
    workers: int = 1,
    time_budget_s: float | None = None,
    ray_address: str | None = None,
    ray_options: dict[str, Any] | None = None,
) -> Iterator[tuple[int, R]]:
    """Yield ``(index, fn(job))`` as jobs finish; start no job after ``time_budget_s``.

    Jobs start in order, at most ``workers`` at a time.

    Parameters
    ----------
    fn : callable
        A function of one job that gets all of its randomness from the job;
        with ``workers > 1`` or Ray it must be picklable (a module-level function).
    jobs : iterable
        The jobs.
    backend : {"local", "ray"}
        ``"local"``: this process when ``workers = 1``, else a pool of
        ``workers`` processes; ``"ray"``: Ray tasks (``pip install knowable[ray]``).
    workers : int
        Jobs running at once.
    time_budget_s : float, optional
        Seconds after the first start after which no new job starts (the
        running ones finish).
    ray_address, ray_options
        See :func:`map_jobs`.

    Yields
    ------
    (int, result)
        The job's position in ``jobs`` and its result, in order of completion.
    """
    _check_backend(backend, workers)
    job_list: Sequence[T] = list(jobs)
    start = time.perf_counter()

    def may_start() -> bool:
        return time_budget_s is None or time.perf_counter() - start <= time_budget_s

    if backend == "local" and workers == 1:
        for i, job in enumerate(job_list):
            if not may_start():
                return
            yield i, fn(job)
        return
    if backend == "local":
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        with ProcessPoolExecutor(max_workers=workers, mp_context=_start_context()) as pool:
            queue = list(enumerate(job_list))
            running: dict[Any, int] = {}
            while queue or running:
                while queue and len(running) < workers and may_start():
                    i, job = queue.pop(0)
                    running[pool.submit(fn, job)] = i
                if not may_start():
                    queue = []
                if not running:
                    return
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield running.pop(fut), fut.result()
        return
    try:
        import ray
    except ImportError as err:
        raise ImportError("backend='ray' needs Ray: pip install 'knowable[ray]'.") from err
    if not ray.is_initialized():
        ray.init(address=ray_address)
    # ray.remote takes functions only; ``fn`` may be any picklable callable (run_jobs
    # passes a timing wrapper object), so it travels once through the object store
    remote = ray.remote(**ray_options)(_call) if ray_options else ray.remote(_call)
    fn_ref = ray.put(fn)
    queue = list(enumerate(job_list))
    pending: dict[Any, int] = {}
    while queue or pending:
        while queue and len(pending) < workers and may_start():
            i, job = queue.pop(0)
            pending[remote.remote(fn_ref, job)] = i
        if not may_start():
            queue = []
        if not pending:
            return
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            yield pending.pop(ref), ray.get(ref)


def map_jobs(
    fn: Callable[[T], R],
    jobs: Iterable[T],
    *,
    backend: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
    ray_options: dict[str, Any] | None = None,
) -> list[R]:
    """Apply ``fn`` to every job and return the results in job order.

    Parameters
    ----------
    fn : callable
        A function of one job; it must get all of its randomness from the job
        (e.g. a seed inside it), never from global state.
    jobs : iterable
        The jobs.
    backend : {"local", "ray"}
        ``"local"`` runs the jobs in this process (``workers = 1``, one after
        another) or in a pool of ``workers`` processes; ``"ray"`` submits them
        as Ray tasks (``pip install knowable[ray]``).
    workers : int
        Jobs running at once (``"local"``); Ray tasks in flight (``"ray"``).
    ray_address : str, optional
        Address passed to ``ray.init`` when Ray is not yet initialised
        (``None`` starts a local Ray instance, ``"auto"`` joins a cluster).
    ray_options : dict, optional
        Options for ``ray.remote`` (e.g. ``{"num_cpus": 1, "num_gpus": 0.25}``).

    Returns
    -------
    list
        ``[fn(job) for job in jobs]``.

    Examples
    --------
    >>> map_jobs(abs, [-2, 3, -1])
    [2, 3, 1]
    """
    job_list = list(jobs)
    if backend == "ray" and workers == 1:
        workers = max(1, len(job_list))  # Ray schedules all tasks at once, as before
    out: dict[int, R] = dict(
        imap_jobs(
            fn,
            job_list,
            backend=backend,
            workers=workers,
            ray_address=ray_address,
            ray_options=ray_options,
        )
    )
    return [out[i] for i in range(len(job_list))]


def parse_range(text: str) -> list[int]:
    """Integers from a comma-separated list of numbers and inclusive ranges.

    Parameters
    ----------
    text : str
        For example ``"1-3,7,10-11"``.

    Returns
    -------
    list of int
        ``[1, 2, 3, 7, 10, 11]`` (in the order written).

    Examples
    --------
    >>> parse_range("1-3,7")
    [1, 2, 3, 7]
    """
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            if sep:
                first, last = int(lo), int(hi)
                if last < first:
                    raise ValueError
                out.extend(range(first, last + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise ValueError(
                f"cannot read {part!r} in {text!r}; write numbers and ranges like '1-10,12'."
            ) from None
    return out


def source_hash(root: str | Path | None = None) -> str:
    """First 12 hex digits of the SHA-256 of a package's Python sources.

    Parameters
    ----------
    root : path, optional
        The package folder (default: the installed ``knowable``). Every
        ``*.py`` file below it counts, by relative path and content.

    Returns
    -------
    str
    """
    base = Path(__file__).resolve().parent if root is None else Path(root)
    digest = hashlib.sha256()
    for path in sorted(base.rglob("*.py")):
        digest.update(path.relative_to(base).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class JobRecord:
    """One finished job of :func:`run_jobs`.

    Attributes
    ----------
    key : str
        The job's key.
    result : object
        What the job function returned (read back from JSON when resumed).
    cpu_seconds : float
        CPU time of the worker process during the job (all its threads).
    wall_seconds : float
        Wall time of the job.
    library : str
        :func:`source_hash` of the library the job ran on.
    resumed : bool
        Read from the job store instead of run by this call.
    """

    key: str
    result: Any
    cpu_seconds: float
    wall_seconds: float
    library: str
    resumed: bool = False


@dataclass
class RunReport:
    """What :func:`run_jobs` did.

    Attributes
    ----------
    records : dict of str to JobRecord
        Finished jobs (resumed or run now), in job order.
    not_run : list of str
        Keys not started (time budget) or skipped.
    library : str
        The current library hash.
    wall_seconds : float
        Wall time of this call.
    """

    records: dict[str, JobRecord] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    library: str = ""
    wall_seconds: float = 0.0

    @property
    def results(self) -> list[Any]:
        """The finished jobs' results, in job order."""
        return [r.result for r in self.records.values()]

    def library_hashes(self) -> dict[str, int]:
        """How many finished jobs ran on each library hash."""
        out: dict[str, int] = {}
        for r in self.records.values():
            out[r.library] = out.get(r.library, 0) + 1
        return dict(sorted(out.items()))


class _Timed:
    """``fn`` wrapped to return ``(result, cpu_seconds, wall_seconds)``; picklable if ``fn`` is."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, job: Any) -> tuple[Any, float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        result = self.fn(job)
        return result, time.process_time() - cpu, time.perf_counter() - wall


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"a job result holds a {type(value).__name__}, which JSON cannot store.")


def _record_path(store: Path, key: str) -> Path:
    return store / f"{key}.json"


def _write_record(store: Path, record: JobRecord) -> None:
    payload = {
        "key": record.key,
        "library": record.library,
        "cpu_seconds": record.cpu_seconds,
        "wall_seconds": record.wall_seconds,
        "result": record.result,
    }
    path = _record_path(store, record.key)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, default=_jsonable))
    tmp.replace(path)  # atomic: a killed run never leaves half a record


def _read_record(path: Path) -> JobRecord | None:
    try:
        payload = json.loads(path.read_text())
        keys = ("key", "result", "cpu_seconds", "wall_seconds", "library")
        if not isinstance(payload, dict) or any(k not in payload for k in keys):
            return None
    except (OSError, json.JSONDecodeError):
        return None  # unreadable: run the job again
    return JobRecord(
        payload["key"],
        payload["result"],
        float(payload["cpu_seconds"]),
        float(payload["wall_seconds"]),
        str(payload["library"]),
        resumed=True,
    )


def load_records(store: str | Path) -> dict[str, JobRecord]:
    """Every readable job record in a :func:`run_jobs` store, by key (sorted by file name).

    Parameters
    ----------
    store : path
        The folder given to :func:`run_jobs`.

    Returns
    -------
    dict of str to JobRecord
    """
    folder = Path(store)
    out: dict[str, JobRecord] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = _read_record(path)
        if record is not None:
            out[record.key] = record
    return out


def run_jobs(
    fn: Callable[[Any], Any],
    jobs: Mapping[str, Any],
    store: str | Path | None = None,
    *,
    workers: int = 1,
    backend: str = "local",
    time_budget_s: float | None = None,
    fresh: bool = False,
    mix_library: bool = False,
    library: str | None = None,
    log: Callable[[str], None] | None = print,
    describe: Callable[[JobRecord], str] | None = None,
    ray_address: str | None = None,
    ray_options: dict[str, Any] | None = None,
) -> RunReport:
    """Run keyed jobs, one JSON file per finished job, resuming what is already done.

    Parameters
    ----------
    fn : callable
        ``fn(job) -> result``; the result must be JSON-serialisable (NumPy
        scalars and arrays are converted). Module-level for ``workers > 1``.
    jobs : mapping of str to job
        Key -> job, in the order to start them. A key names everything that
        defines the job (it is the file name: letters, digits, ``._=+-``).
    store : path, optional
        Folder of the job records (created). Without it nothing is written and
        nothing resumes.
    workers : int
        Jobs running at once.
    backend : {"local", "ray"}
        See :func:`imap_jobs`.
    time_budget_s : float, optional
        Start no job after this many seconds; the keys not started are in
        ``RunReport.not_run``.
    fresh : bool
        Delete the store's records first.
    mix_library : bool
        Also resume records that ran on another library hash (default: such
        jobs run again, so that a report never mixes library versions unasked).
    library : str, optional
        The hash recorded with each job; default :func:`source_hash`.
    log : callable or None
        Progress lines (``print`` by default; None: silent).
    describe : callable, optional
        ``describe(record) -> str``: the progress line of a finished job.
    ray_address, ray_options
        See :func:`map_jobs`.

    Returns
    -------
    RunReport
    """
    for key in jobs:
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(
                f"job key {key!r} cannot be a file name; use letters, digits and ._=+- only."
            )
    say = log or (lambda _line: None)
    lib = library or source_hash()
    report = RunReport(library=lib)
    start = time.perf_counter()
    done: dict[str, JobRecord] = {}
    folder = None if store is None else Path(store)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        if fresh:
            for path in folder.glob("*.json"):
                path.unlink()
        other = 0
        for key in jobs:
            path = _record_path(folder, key)
            record = _read_record(path) if path.exists() else None
            if record is None:
                continue
            if record.library != lib and not mix_library:
                other += 1
                continue
            done[key] = record
        if other:
            say(
                f"{other} finished jobs ran on other library code and run again "
                "(mix_library=True / --mix-library keeps them)"
            )
        mixed = sum(r.library != lib for r in done.values())
        if mixed:
            say(f"warning: {mixed} resumed jobs ran on other library code")
    pending = [key for key in jobs if key not in done]
    say(f"{len(done)} jobs already done, {len(pending)} to run")
    for i, (result, cpu_s, wall_s) in imap_jobs(
        _Timed(fn),
        [jobs[k] for k in pending],
        backend=backend,
        workers=workers,
        time_budget_s=time_budget_s,
        ray_address=ray_address,
        ray_options=ray_options,
    ):
        record = JobRecord(pending[i], result, cpu_s, wall_s, lib)
        if folder is not None:
            _write_record(folder, record)
        done[record.key] = record
        line = describe(record) if describe else f"{record.key} done"
        say(f"[{(time.perf_counter() - start) / 60:5.1f} min] {line}  ({cpu_s:.0f} CPU s)")
    report.records = {k: done[k] for k in jobs if k in done}
    report.not_run = [k for k in jobs if k not in done]
    if report.not_run:
        say(f"time budget reached; not run: {', '.join(report.not_run)}")
    report.wall_seconds = time.perf_counter() - start
    return report


def add_runner_arguments(parser: Any, *, workers: int = 1) -> None:
    """Add the runner's command-line options to an ``argparse`` parser.

    ``--workers``, ``--backend``, ``--time-budget-min``, ``--fresh`` and
    ``--mix-library``; :func:`runner_options` turns the parsed values into
    keyword arguments of :func:`run_jobs`.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The benchmark's parser.
    workers : int
        Default of ``--workers``.
    """
    parser.add_argument("--workers", type=int, default=workers, help="jobs running at once")
    parser.add_argument(
        "--backend", default="local", choices=BACKENDS, help="local processes or a Ray cluster"
    )
    parser.add_argument(
        "--time-budget-min",
        type=float,
        default=None,
        help="start no new job after this many minutes (finished jobs are kept)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="forget finished jobs and run everything again"
    )
    parser.add_argument(
        "--mix-library",
        action="store_true",
        help="resume jobs that ran on other library code (default: run them again)",
    )


def runner_options(args: Any) -> dict[str, Any]:
    """Keyword arguments of :func:`run_jobs` from options added by :func:`add_runner_arguments`.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    dict
        ``workers``, ``backend``, ``time_budget_s``, ``fresh``, ``mix_library``.
    """
    budget = args.time_budget_min
    return {
        "workers": args.workers,
        "backend": args.backend,
        "time_budget_s": None if budget is None else 60.0 * budget,
        "fresh": args.fresh,
        "mix_library": args.mix_library,
    }
