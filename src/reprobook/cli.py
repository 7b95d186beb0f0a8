"""``reprobook`` (or ``python -m reprobook``): list, run and build the book's notebooks.

    reprobook list [NOTEBOOK]                       # notebooks, their parameters per preset, run times
    reprobook run residual_expansion --preset smoke -p seeds 2
    reprobook run all --preset cpu                  # every notebook, continuing past failures
    reprobook run all --jobs 2                      # two side by side, a core each (how `make book` runs)
    reprobook run all --jobs 2 --dry-run            # check parameters, build folder and data; run nothing
    reprobook book                                  # build the HTML book from the executed notebooks
    reprobook bench                                 # trainer throughput against a DataLoader loop

Every failure before any compute (a bad parameter, preset, build folder or missing data) ends in one
``error:`` line that names the problem and the fix, and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from . import __version__, allocator, params, units
from .runner import measured_on, phases, side_by_side_env

SMOKE_NOTE = "smoke preset: a plumbing check, not a verdict"


def find_repo() -> Path:
    """The checkout holding ``notebooks/`` and ``_toc.yml``: the current folder or one above it."""
    from .provenance import repo_root

    for candidate in [Path.cwd(), *Path.cwd().parents, repo_root()]:
        if (
            candidate
            and (candidate / "notebooks").is_dir()
            and (candidate / "_toc.yml").is_file()
        ):
            return candidate
    raise CliError(
        "run this inside a reprobook checkout (a folder with notebooks/ and _toc.yml)"
    )


class CliError(Exception):
    """A problem the user can fix; printed as one ``error:`` line."""


def expected_minutes(name: str, preset: str) -> str:
    """The measured (or, for ``gpu``/``full``, estimated) run time the spec records, as text."""
    raw = params.load_spec(name).raw
    times, estimated = raw.get("expected_minutes", {}), raw.get("estimated", [])
    if preset not in times:
        return "not measured"
    m = times[preset]
    text = f"~{m:g} min" if m < 120 else f"~{m / 60:.0f} h"
    return text + (" (estimated)" if preset in estimated else "")


def cmd_list(args) -> int:
    names = args.notebooks or params.notebooks()
    for name in names:
        spec = params.load_spec(name)
        times = ", ".join(f"{p} {expected_minutes(name, p)}" for p in spec.presets)
        where = measured_on([name])
        print(
            f"\n{name}  (run time: {times}{f'; measured on {where}' if where else ''})"
        )
        width = max(len(p) for p in spec.parameters)
        for row in spec.describe():
            presets = "  ".join(f"{k}={row[k]!r}" for k in spec.presets)
            print(
                f"  {row['name']:<{width}}  {row['type']:<11} {presets}\n  {'':<{width}}  {row['help']}"
            )
    return 0


def plan_line(group: list[str], at_once: int) -> str:
    """One phase of a ``--jobs`` run, in words."""
    if at_once > 1:
        threads = side_by_side_env(at_once)["REPROBOOK_THREADS"]
        return f"{', '.join(group)}: {at_once} at a time, {units.count(int(threads), 'torch thread')} each"
    return f"then {', '.join(group)}: one at a time, every core (judged on wall-clock times)"


def cmd_run(args) -> int:
    from .runner import (
        earlier_note,
        expected_seconds,
        expected_wall_seconds,
        preflight,
        run_notebooks,
    )

    names = params.notebooks() if args.notebooks == ["all"] else args.notebooks
    for name in names:
        params.load_spec(
            name
        )  # an unknown notebook fails here, with the known ones listed
    overrides = {key: params.parse_cli_value(value) for key, value in args.p}
    if args.preset in ("gpu", "full"):
        import torch

        if not torch.cuda.is_available():
            times = ", ".join(f"{n} {expected_minutes(n, args.preset)}" for n in names)
            print(
                f"warning: preset {args.preset!r} is sized for a GPU and none is available here ({times} "
                "on one GPU); it will run on the CPU, far slower",
                file=sys.stderr,
            )

    def report(o) -> None:
        record = o.record()
        if o.ok:
            note = f"  [{SMOKE_NOTE}]" if record.get("preset") == "smoke" else ""
            print(
                f"✓ {o.notebook} ({o.seconds:.0f} s): {record.get('verdict', 'no verdict')}{note}",
                flush=True,
            )
            print(
                f"  notebook: {_short(o.output)}  results: {_short(o.results)}",
                flush=True,
            )
        else:
            print(
                f"✗ {o.notebook} failed after {o.seconds:.0f} s: {o.error}", flush=True
            )
            print(f"  partial notebook: {_short(o.output)}", flush=True)

    # a bad preset or parameter, an unusable build folder or missing data fail here, before the plan
    checked = preflight(names, args.preset, overrides, Path(args.build))
    print(
        f"{'would run' if args.dry_run else 'running'} {', '.join(names)} at preset "
        f"{args.preset!r} into {_short(Path(args.build))}/",
        flush=True,
    )
    plan = phases(names, args.preset, args.jobs)
    for group, at_once in plan if args.jobs > 1 else ():
        print(f"  {plan_line(group, at_once)}", flush=True)
    expected = {name: expected_seconds(name, args.preset) for name in names}
    # the wall time the presets' recorded times give this plan; none where one is missing, or
    # where -p changes what runs
    planned = (
        expected_wall_seconds(plan, expected)
        if all(expected.values()) and not overrides
        else None
    )
    timed_on = (
        measured_on(names) or "an unrecorded machine"
    )  # where those times were measured
    if args.dry_run:
        for name in names:
            print(f"  {name}: {expected_minutes(name, args.preset)}")
        if planned:
            print(
                f"  in all: ~{planned / 60:.0f} min of wall clock as planned above (from the times the presets "
                f"record, measured on {timed_on})"
            )
        print(
            "dry run: the parameters, the build folder and the data are in order; nothing ran"
        )
        return 0
    started = time.time()
    outcomes = run_notebooks(
        find_repo(),
        names,
        args.preset,
        overrides,
        Path(args.build),
        log_output=args.log_output,
        on_done=report,
        jobs=args.jobs,
        checked=checked,
    )
    print(f"\n{'notebook':<20} {'seconds':>8}  verdict")
    for o in outcomes:
        verdict = o.record().get("verdict", "") if o.ok else f"FAILED: {o.error}"
        print(f"{o.notebook:<20} {o.seconds:8.1f}  {verdict}")
    took = time.time() - started
    print(
        f"{'total':<20} {took:8.1f}  (wall clock, from the first start to the last end)"
    )
    if planned and all(o.ok for o in outcomes):
        # e.g. 1.12×: this machine, or this day, runs the book 12% slower than the one that set the times
        print(
            f"{'as planned':<20} {planned:8.1f}  (from the times the presets record, measured on "
            f"{timed_on}: this run took {took / planned:.2f}× that)"
        )
    if any(o.record().get("preset") == "smoke" for o in outcomes):
        print("(smoke runs are plumbing checks, not verdicts)")
    if note := earlier_note(Path(args.build)):
        print(note)
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        print(
            f"error: {o.notebook} failed: {o.error} (see {_short(o.output)})",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _short(path: Path | None) -> str:
    """A path relative to the current folder when it is inside it (no machine-specific prefix)."""
    if path is None:
        return "-"
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def cmd_book(args) -> int:
    from .book import BookError, build_book

    try:
        index = build_book(Path(args.build), find_repo())
    except BookError as err:
        raise CliError(str(err)) from None
    print(f"book: {_short(index)}")
    return 0


def cmd_bench(args) -> int:
    from .bench import main as bench_main

    return bench_main(steps=args.steps, batch_size=args.batch_size, epoch=args.epoch)


def record_module(notebook: str):
    """A paper's model of record, where it has one: ``reprobook.papers.<notebook>.record``
    (``fit``, ``describe``, ``paths``, ``FOLDER``)."""
    import importlib

    try:
        return importlib.import_module(f"reprobook.papers.{notebook}.record")
    except ModuleNotFoundError:
        raise CliError(
            f"{notebook} has no model of record; only {', '.join(RECORDS)} do"
        ) from None


RECORDS = ("zeroq",)  # the notebooks with a committed model of record


def cmd_train_record(args) -> int:
    """Train a candidate beside the model of record; it replaces the record only where it is more
    accurate (or none is there), so a retraining never loses a better committed model."""
    import dataclasses
    import json
    import shutil

    record = record_module(args.notebook)
    changes = {}
    for item in args.set or ():
        key, sep, text = item.partition("=")
        if not sep:
            raise CliError(
                f"--set takes FIELD=VALUE (e.g. --set cutout=8), got {item!r}"
            )
        changes[key.strip()] = params.parse_cli_value(text)
    try:
        recipe = record.recipe_with(changes)
    except (TypeError, ValueError) as err:
        raise CliError(f"{err}; see `reprobook train-record --help`") from None
    from . import train

    slow = train.slow_precision(recipe.precision, train.pick_device())
    if slow:
        raise CliError(f"{slow}; add --set precision=fp32, or train on a GPU")
    folder = Path(args.out) if args.out else record.FOLDER
    candidate = folder.with_name(folder.name + ".candidate")
    from .data import load

    # missing data fails here, before the hours of training (fit then reads the decoded cache)
    load("cifar10")
    kept = _set_aside(candidate)
    _writable(candidate)
    if kept:
        print(f"an earlier candidate moved to {kept}", flush=True)
    print(
        f"training {record.NAME} for {units.count(recipe.epochs, 'epoch')} ({record.recipe_text(dataclasses.asdict(recipe))}) "
        f"into {candidate}; it replaces the model of record in {folder} only if more accurate. "
        f"A line every {train.PROGRESS_EVERY_S / 60:g} min or so gives its progress.",
        flush=True,
    )
    try:
        meta = record.fit(candidate, recipe=recipe)
    except BaseException:  # stopped or failed: the weights are written only at the end
        if not any(candidate.iterdir()):
            candidate.rmdir()
        raise
    print(record.describe(meta))
    committed = record.paths(folder)[1]
    if committed.is_file():
        before = json.loads(committed.read_text())["test_accuracy"]["mean"]
        if meta["test_accuracy"]["mean"] <= before:
            print(
                f"not more accurate than the committed {before:.2%}: kept in {candidate}, "
                f"the model of record in {folder} is unchanged",
                file=sys.stderr,
            )
            return 1
    folder.mkdir(parents=True, exist_ok=True)
    for path in candidate.iterdir():
        path.replace(folder / path.name)
    shutil.rmtree(candidate)
    print(f"model of record written to {folder}")
    return 0


def _set_aside(candidate: Path) -> Path | None:
    """Move an earlier run's candidate (one that was not more accurate than the record) to
    ``<candidate>-<its time>/`` so that this run never overwrites it; returns where, or None."""
    if not candidate.is_dir() or not any(candidate.iterdir()):
        return None
    from .data import first_free, stamp

    ended = max(path.stat().st_mtime for path in candidate.iterdir())
    kept = first_free(candidate.with_name(f"{candidate.name}-{stamp(ended)}"))
    candidate.replace(kept)
    return kept


def _writable(folder: Path) -> None:
    """Fail before training, with the fix, where the candidate folder cannot be written."""
    from .data import make_writable_folder

    try:
        make_writable_folder(folder)
    except OSError as err:
        raise CliError(
            f"cannot write {folder} ({err.strerror}); pass a writable --out folder"
        ) from None


def whole_number(of: str):
    """An option's type: a whole number of ``of``, at least 1 (e.g. ``--jobs``, ``--steps``)."""

    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < 1:
            raise argparse.ArgumentTypeError(
                f"takes a whole number of {of}, 1 or more, got {text!r}"
            )
        return int(text)

    return parse


class Parser(argparse.ArgumentParser):
    """Usage errors as one ``error:`` line, like every other error of the CLI (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="reprobook",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--version",
        action="version",
        version=f"reprobook {__version__}",  # also from an uninstalled source tree
    )
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="list notebooks, their parameters and run times")
    ls.add_argument("notebooks", nargs="*", help="only these notebooks")
    ls.set_defaults(func=cmd_list)
    run = sub.add_parser(
        "run", help="execute notebooks with papermill into the build folder"
    )
    run.add_argument("notebooks", nargs="+", help="notebook names, or 'all'")
    run.add_argument(
        "--preset",
        default=params.DEFAULT_PRESET,
        help="smoke | cpu | gpu | full (default: cpu)",
    )
    run.add_argument(
        "-p",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override a parameter (YAML value: 3, 0.1, true, '[1, 2]')",
    )
    run.add_argument("--build", default="build", help="build folder (default: build)")
    run.add_argument(
        "--jobs",
        type=whole_number("notebooks at a time"),
        default=1,
        metavar="N",
        help="run up to N notebooks side by side, the cores split between them; a notebook judged "
        "on wall-clock times still runs alone (default: 1; `make book` uses 2)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="check the parameters, the build folder (created if missing) and the data, print the "
        "plan with each notebook's expected run time, and stop",
    )
    run.add_argument(
        "--log-output",
        action="store_true",
        help="print each cell as it starts and what it prints, every line under its notebook's name",
    )
    run.set_defaults(func=cmd_run)
    book = sub.add_parser(
        "book", help="build the HTML book from the executed notebooks"
    )
    book.add_argument("--build", default="build", help="build folder (default: build)")
    book.set_defaults(func=cmd_book)
    bench = sub.add_parser(
        "bench",
        help="trainer throughput against a DataLoader + torchvision transforms loop",
    )
    bench.add_argument(
        "--steps", type=whole_number("timed steps"), default=20, help="default: 20"
    )
    bench.add_argument(
        "--batch-size",
        type=whole_number("images a step"),
        default=128,
        help="default: 128",
    )
    bench.add_argument(
        "--epoch",
        action="store_true",
        help="also time one full ResNet-20 epoch with the trainer (for GPUs: ~5 min on 2 cores)",
    )
    bench.set_defaults(func=cmd_bench)
    record = sub.add_parser(
        "train-record",
        help="retrain a committed model of record (ZeroQ's CIFAR-10 ResNet-20: 2-6 h on 2 CPU cores)",
    )
    record.add_argument("notebook", choices=RECORDS)
    record.add_argument(
        "--out", help="folder for the weights and provenance (default: the package's)"
    )
    record.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="train with one field of the recipe changed (repeatable), e.g. --set cutout=8 "
        "--set label_smoothing=0.1; the provenance records the whole recipe",
    )
    record.set_defaults(func=cmd_train_record)
    return p


def main(argv: list[str] | None = None) -> int:
    from .data import MissingDataError
    from .runner import BuildFolderError, one_line

    params.CALLER = "cli"
    allocator.keep_freed_memory()  # train-record, bench: no page faults per step
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (params.ParameterError, BuildFolderError, MissingDataError, CliError) as err:
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        return 2
    except (
        BrokenPipeError
    ):  # `reprobook list | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
