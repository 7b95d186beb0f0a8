"""Execute notebooks with papermill into a build folder; never write into ``notebooks/``.

What an earlier run of a notebook left in the build folder is moved to ``earlier/`` before it runs
(:func:`set_aside`): a failed run leaves no stale verdict behind, and no run's results are lost. A
failure writes ``results/<name>.failed.json`` (the notebook's own error), which the summary shows as
failed.

``jobs`` > 1 runs notebooks side by side, each kernel with ``cores // jobs`` torch threads: on two
cores, two one-thread runs of the small CIFAR nets train 1.1× (width 32) to 2× (width 4) as many
images a second as one two-thread run (ResNet-8 at 16 px, measured 2026-12-06). A notebook whose
claim has a sub-claim judged on wall-clock times (``timed: true``) still runs alone, with every
core, after the others: a neighbour would slow its clock. Each notebook that runs beside another
runs in a process of its own (:func:`execute_apart`): papermill changes the process's working
directory while it executes a notebook, so two in one process would see each other's.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import data, locks, params
from .data import make_writable_folder
from .units import count


class BuildFolderError(OSError):
    """The build folder cannot hold the run's outputs (a file in its place, or read-only)."""


@dataclass
class RunOutcome:
    notebook: str
    output: Path
    seconds: float
    error: str | None = None
    results: Path | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self) -> dict[str, Any]:
        """The notebook's results file (empty when it failed or wrote none)."""
        if self.results and self.results.is_file():
            return json.loads(self.results.read_text())
        return {}


def notebook_path(repo: Path, name: str) -> Path:
    return repo / "notebooks" / f"{name}.ipynb"


def validate(
    names: list[str], preset: str, overrides: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Resolve every notebook's parameters first, so a typo fails before any notebook runs.
    An override that a notebook does not have is an error unless another selected notebook has it."""
    specs = {name: params.load_spec(name) for name in names}
    if "preset" in overrides:
        raise params.ParameterError(
            f"choose the preset with --preset {overrides['preset']}, not -p preset"
        )
    for key in overrides:
        if not any(key in spec.parameters for spec in specs.values()):
            params.check_value(
                specs[names[0]], key, overrides[key]
            )  # raises 'unknown parameter'
    return {
        name: dict(
            params.resolve(
                name,
                preset,
                {k: v for k, v in overrides.items() if k in spec.parameters},
            )
        )
        for name, spec in specs.items()
    }


def prepare_build(build: Path) -> tuple[Path, Path]:
    """``build/notebooks`` and ``build/results``, created and checked writable before any compute."""
    out_dir, results = build / "notebooks", build / "results"
    for folder in (build, out_dir, results):
        if folder.exists() and not folder.is_dir():
            raise BuildFolderError(
                f"build folder {folder} is a file; pass another --build folder or remove it"
            )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        make_writable_folder(results)
    except OSError as err:
        raise BuildFolderError(
            f"build folder {build} is not writable ({err.strerror or err}); pass a writable --build folder"
        ) from None
    return out_dir, results


def claim_notebooks(build: Path, names: list[str]) -> None:
    """Hold each notebook's lock in the build folder until this process exits (:mod:`.locks`), so
    that a second run of the same notebook into the same folder (another terminal, a forgotten
    background run) fails before any compute, naming the run that holds it, and never moves aside or
    overwrites that run's results. Runs of other notebooks into the same folder go on (the GPU kit runs
    them side by side)."""
    for name in names:
        holder = locks.hold(build, name)
        if holder is not None:
            raise BuildFolderError(
                f"{name} is already running into build folder {build} ({holder}); wait for that "
                "run to end, or pass another --build folder"
            )


def notebook_error(err: Exception) -> str:
    """The notebook's own error in one line (papermill's execution error carries its name and value)."""
    name, value = getattr(err, "ename", None), getattr(err, "evalue", None)
    return one_line(f"{name}: {value}" if name else f"{type(err).__name__}: {err}")


def one_line(text: str) -> str:
    """A message on one line. One that lists where it looked (a missing dataset: the problem, a
    ``  - place`` line per place, the fix) keeps every place, joined by ``;``, before the fix."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= 2:
        return " ".join(lines)
    places = "; ".join(line.removeprefix("- ") for line in lines[1:-1])
    return f"{lines[0]} {places}. {lines[-1]}"


def times_itself(name: str) -> bool:
    """Whether the notebook's claim has a sub-claim judged on wall-clock times (``timed: true``)."""
    subclaims = params.load_spec(name).raw.get("claim", {}).get("subclaims", [])
    return any(s.get("timed") for s in subclaims)


def expected_seconds(name: str, preset: str) -> float:
    """The run time the spec records for ``preset`` (0 where it records none)."""
    return 60.0 * params.load_spec(name).raw.get("expected_minutes", {}).get(preset, 0)


def measured_on(names: list[str]) -> str:
    """Where the specs' recorded run times were measured (``measured_on`` in each preset file), the
    distinct ones joined; "" where none says."""
    places = [params.load_spec(n).raw.get("measured_on") for n in names]
    return "; ".join(dict.fromkeys(p for p in places if p))


def phases(names: list[str], preset: str, jobs: int) -> list[tuple[list[str], int]]:
    """The order of a run with ``jobs`` notebooks at a time, as ``(notebooks, at once)`` phases: first
    every notebook that does not time itself, side by side, the longest expected first (so the last
    to start are short); then those that time themselves, one at a time. ``jobs`` 1 keeps ``names``'
    order, one at a time."""
    if jobs <= 1:
        return [(list(names), 1)]
    shared = sorted(
        (n for n in names if not times_itself(n)),
        key=lambda n: -expected_seconds(n, preset),
    )
    alone = [n for n in names if times_itself(n)]
    return [
        (group, at_once)
        for group, at_once in ((shared, min(jobs, len(shared))), (alone, 1))
        if group
    ]


def expected_wall_seconds(
    plan: list[tuple[list[str], int]], seconds: dict[str, float]
) -> float:
    """The wall time of ``plan`` (see :func:`phases`) if each notebook takes ``seconds[name]``: in each
    phase the next notebook starts on the first of ``at_once`` lanes to come free, as the runner does."""
    total = 0.0
    for group, at_once in plan:
        lanes = [0.0] * at_once
        for name in group:
            lanes[lanes.index(min(lanes))] += seconds[name]
        total += max(lanes)
    return total


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def side_by_side_env(at_once: int) -> dict[str, str | None]:
    """The environment of kernels that run ``at_once`` at a time: their torch and OpenMP threads split
    the cores (a thread count the user set is kept), and their provenance says how many runs shared the
    machine (``runs_alongside``). One at a time: the environment as it is."""
    if at_once <= 1:
        return {}
    threads = os.environ.get("REPROBOOK_THREADS") or str(max(1, cores() // at_once))
    return {
        "REPROBOOK_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "REPROBOOK_RUNS_ALONGSIDE": str(at_once - 1),
    }


def _set_environment(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextmanager
def environment(changes: dict[str, str | None]):
    """``os.environ`` with ``changes`` (``None`` removes a variable) inside the block; the kernels
    papermill starts inherit it."""
    old = {key: os.environ.get(key) for key in changes}
    _set_environment(changes)
    try:
        yield
    finally:
        _set_environment(old)


# Variables that name a folder. A kernel starts in notebooks/, so a relative one (``REPROBOOK_DATA=
# ../shared/data``) would point elsewhere there than where :func:`preflight` found the data.
PATH_VARIABLES = ("REPROBOOK_DATA", "REPROBOOK_CACHE", "REPROBOOK_IMAGENET")


def absolute_paths() -> dict[str, str]:
    """The :data:`PATH_VARIABLES` that are set, made absolute against this process's folder (``~``
    expanded), as the kernels are to see them."""
    return {
        key: os.path.abspath(os.path.expanduser(value))
        for key in PATH_VARIABLES
        if (value := os.environ.get(key))
    }


def load_datasets(names: list[str], resolved: dict[str, dict[str, Any]]) -> None:
    """Load (and cache, decoded) every dataset the notebooks need, before any of them starts: a missing
    one fails the run here, naming the notebooks that need it, instead of in each notebook's first
    cell; notebooks side by side then read the cache instead of each decoding it."""
    users: dict[str, list[str]] = {}
    for name in names:
        for dataset in params.load_spec(name).needed_datasets(resolved[name]):
            users.setdefault(dataset, []).append(name)
    for dataset, needing in users.items():
        try:
            data.load(dataset)
        except data.MissingDataError as err:
            raise data.MissingDataError(f"{', '.join(needing)}: {err}") from None


def preflight(
    names: list[str], preset: str, overrides: dict[str, Any], build: Path
) -> tuple[dict[str, dict[str, Any]], Path, Path]:
    """Everything that can fail before a notebook runs, in one place: the parameters, the build folder
    (writable, and no other run of these notebooks writing there) and the datasets. Returns the
    resolved parameters and the build's notebooks and results folders; raises ``ParameterError``,
    ``BuildFolderError`` or ``MissingDataError`` with a one-line problem and fix."""
    resolved = validate(names, preset, overrides)
    notebooks, results = (folder.resolve() for folder in prepare_build(build))
    claim_notebooks(build, names)
    load_datasets(names, resolved)
    return resolved, notebooks, results


@dataclass(frozen=True)
class Job:
    """One notebook's run: what :func:`execute` needs, in this process or, as JSON, in another."""

    repo: Path
    name: str
    values: dict[str, Any]
    notebooks: Path  # the build's folder of executed notebooks
    results: Path  # the build's folder of results files
    preset: str
    log_output: bool = False

    @property
    def output(self) -> Path:
        return self.notebooks / f"{self.name}.ipynb"

    def to_json(self) -> str:
        return json.dumps(
            {
                **self.__dict__,
                "repo": str(self.repo),
                "notebooks": str(self.notebooks),
                "results": str(self.results),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Job:
        fields = json.loads(text)
        for key in ("repo", "notebooks", "results"):
            fields[key] = Path(fields[key])
        return cls(**fields)


class PrefixedLines(logging.Handler):
    """Writes each log record to standard output, every line prefixed with ``[name]``: the output of
    notebooks that run side by side stays readable where it interleaves."""

    def __init__(self, name: str):
        super().__init__(logging.INFO)
        self.prefix = f"[{name}] "

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Ending Cell"):  # the next line says as much
            return
        if message.startswith("Executing Cell"):  # "Executing Cell 3-----…"
            message = message.rstrip("-")
        lines = message.rstrip("\n").splitlines() or [""]
        sys.stdout.write("".join(f"{self.prefix}{line}\n" for line in lines))
        sys.stdout.flush()


@contextmanager
def streamed(job: Job):
    """With ``job.log_output``: papermill's log (the cells it starts and their printed output) on
    standard output while the notebook runs. papermill logs it at INFO level to its own logger, which
    nothing shows unless the caller sets up logging."""
    if not job.log_output:
        yield
        return
    logger = logging.getLogger("papermill")
    handler, old = PrefixedLines(job.name), (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # once, not again through a handler the caller may have
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old[0])
        logger.propagate = old[1]


def set_aside(job: Job) -> Path | None:
    """Move what an earlier run of this notebook left in the build (executed notebook, results file,
    failure marker) into ``<build>/earlier/<its time>-<name>/``, so that the new run replaces what the
    book shows, never what the earlier run measured, and a failed run leaves no stale verdict behind.
    Returns that folder, or None when there was nothing to move."""
    found = [
        path
        for path in (
            job.output,
            job.results / f"{job.name}.json",
            job.results / f"{job.name}.failed.json",
        )
        if path.exists()
    ]
    if not found:
        return None
    ended = max(path.stat().st_mtime for path in found)
    folder = data.first_free(
        job.results.parent / "earlier" / f"{data.stamp(ended)}-{job.name}"
    )
    folder.mkdir(parents=True)
    for path in found:
        path.replace(folder / path.name)  # one build folder: one file system
    return folder


def earlier_note(build: Path) -> str | None:
    """One line on what ``<build>/earlier/`` holds (runs kept by :func:`set_aside`, never deleted by a
    run), or None when it holds nothing: the folder grows by one run per rerun of a notebook."""
    earlier = build / "earlier"
    runs = [f for f in earlier.iterdir() if f.is_dir()] if earlier.is_dir() else []
    if not runs:
        return None
    size = sum(f.stat().st_size for run in runs for f in run.rglob("*") if f.is_file())
    return (
        f"{earlier}/ keeps {count(len(runs), 'earlier run')}, {size / 1e6:.1f} MB: "
        "delete the ones you no longer need (no run deletes them)"
    )


def execute(job: Job) -> RunOutcome:
    """Run one notebook into its build folders; a failure is an outcome."""
    record = job.results / f"{job.name}.json"
    kept = set_aside(job)
    if kept:
        where = (
            kept.relative_to(Path.cwd()) if kept.is_relative_to(Path.cwd()) else kept
        )
        print(f"{job.name}: the previous run's files are kept in {where}/", flush=True)
    import papermill as pm

    start = time.time()
    try:
        with streamed(job):
            pm.execute_notebook(
                str(notebook_path(job.repo, job.name)),
                str(job.output),
                parameters=job.values,
                cwd=str(job.repo / "notebooks"),
                log_output=job.log_output,
                progress_bar=False,
                kernel_name="python3",
                extra_arguments=[
                    "--IPKernelApp.log_level=ERROR"
                ],  # no transport warnings
                # At shutdown jupyter_client interrupts the kernel first; a graceful shutdown then
                # let it log "KeyboardInterrupt caught in kernel", or, after a Ctrl-C, a zmq
                # traceback from a reply sent on a closed socket. Every result is written by then.
                shutdown_kernel="immediate",
            )
        return RunOutcome(job.name, job.output, time.time() - start, results=record)
    # Ctrl-C: the book shows this run as failed, not as never run
    except KeyboardInterrupt:
        # The cell nbclient was awaiting ends later in DeadKernelError, which nobody retrieves:
        # asyncio would log it, traceback and all, as the process exits (CI saw it once, 2026-12-07).
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        seconds = time.time() - start
        error = f"interrupted (Ctrl-C) after {seconds:.0f} s"
        failure(
            RunOutcome(job.name, job.output, seconds, error), job.results, job.preset
        )
        print(f"{job.name}: {error}; marked failed in the build's results/", flush=True)
        raise
    except Exception as err:  # noqa: BLE001 - reported at the end, the other notebooks still run
        outcome = RunOutcome(
            job.name, job.output, time.time() - start, notebook_error(err)
        )
        return failure(outcome, job.results, job.preset)


def failure(outcome: RunOutcome, results: Path, preset: str) -> RunOutcome:
    """Mark a failed run in ``results``: no results file, and ``<name>.failed.json`` with its error
    (which the summary shows)."""
    (results / f"{outcome.notebook}.json").unlink(missing_ok=True)
    (results / f"{outcome.notebook}.failed.json").write_text(
        json.dumps(
            dict(
                notebook=outcome.notebook,
                preset=preset,
                failed=True,
                error=outcome.error,
            )
        )
    )
    return outcome


def execute_apart(job: Job) -> RunOutcome:
    """:func:`execute` in a Python process of its own, which inherits this one's environment, working
    directory and standard output, and writes its outcome to a file."""
    handle, path = tempfile.mkstemp(prefix=f"reprobook-{job.name}-", suffix=".json")
    os.close(handle)
    outcome_file = Path(path)
    start = time.time()
    code = "import sys; from reprobook.runner import execute_job; execute_job(*sys.argv[1:])"
    child = subprocess.run(
        [sys.executable, "-c", code, job.to_json(), str(outcome_file)]
    )
    try:
        fields = json.loads(outcome_file.read_text())
    except (OSError, ValueError):
        error = f"the process that ran it ended with exit status {child.returncode} and no outcome"
        outcome = RunOutcome(job.name, job.output, time.time() - start, error)
        return failure(outcome, job.results, job.preset)
    finally:
        outcome_file.unlink(missing_ok=True)
    return RunOutcome(
        job.name,
        Path(fields["output"]),
        fields["seconds"],
        fields["error"],
        Path(fields["results"]) if fields["results"] else None,
    )


def execute_job(job_json: str, outcome_file: str) -> None:
    """The child's side of :func:`execute_apart`."""
    outcome = execute(Job.from_json(job_json))
    fields = dict(
        output=str(outcome.output),
        seconds=outcome.seconds,
        error=outcome.error,
        results=str(outcome.results) if outcome.results else None,
    )
    Path(outcome_file).write_text(json.dumps(fields))


def run_notebooks(
    repo: Path,
    names: list[str],
    preset: str,
    overrides: dict[str, Any],
    build: Path,
    log_output: bool = False,
    on_done=None,
    jobs: int = 1,
    checked: tuple[dict[str, dict[str, Any]], Path, Path] | None = None,
) -> list[RunOutcome]:
    """Run each notebook at ``preset`` with ``overrides``, up to ``jobs`` at a time (see
    :func:`phases`); keep going past failures, report them all. ``on_done(outcome)`` is called after
    each notebook (the CLI prints its verdict there). Outcomes come back in ``names``' order.
    ``checked``: what :func:`preflight` returned for these arguments, when the caller ran it first
    (the CLI, to fail before it prints the plan); otherwise it runs here."""
    resolved, notebooks, results = checked or preflight(names, preset, overrides, build)
    plan = phases(names, preset, jobs)
    env = {
        **absolute_paths(),
        "REPROBOOK_RESULTS": str(results),
        "REPROBOOK_PROGRESS": "0" if not log_output else "1",
    }
    done: dict[str, RunOutcome] = {}
    with environment(env):  # the kernels inherit this process's environment
        for group, at_once in plan:
            with environment(side_by_side_env(at_once)):
                run = execute if at_once == 1 else execute_apart
                for outcome in run_group(
                    group,
                    at_once,
                    lambda name: run(
                        Job(
                            repo,
                            name,
                            resolved[name],
                            notebooks,
                            results,
                            preset,
                            log_output,
                        )
                    ),
                ):
                    done[outcome.notebook] = outcome
                    if on_done:
                        on_done(outcome)
    return [done[name] for name in names]


def run_group(names: list[str], at_once: int, run) -> Iterator[RunOutcome]:
    """``run(name)`` for every name, ``at_once`` at a time, in that order of starting; yields each
    outcome as it ends. One at a time runs in this thread; more run in daemon threads, so that Ctrl-C
    stops the run at once (papermill's kernels exit when this process does)."""
    if at_once <= 1:
        yield from map(run, names)
        return
    todo, ended = queue.SimpleQueue(), queue.SimpleQueue()
    for name in names:
        todo.put(name)

    def worker() -> None:
        while True:
            try:
                name = todo.get_nowait()
            except queue.Empty:
                return
            try:
                ended.put(run(name))
            except BaseException as err:  # noqa: BLE001 - raised again in the caller's thread
                ended.put(err)

    for _ in range(at_once):
        threading.Thread(target=worker, daemon=True).start()
    for _ in names:
        while True:
            try:
                item = ended.get(timeout=0.5)  # a timeout keeps the wait interruptible
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                raise item
            yield item
            break
