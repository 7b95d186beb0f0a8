"""``reprobook`` (or ``python -m reprobook``): list, run and build the book's notebooks.

reprobook list                                  # notebooks and their parameters per preset
reprobook run residual_expansion --preset smoke -p seeds 2
reprobook run all --preset cpu                  # every notebook, continuing past failures
reprobook book                                  # build the HTML book from the executed notebooks
reprobook bench                                 # trainer throughput against a DataLoader loop
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import params


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
    raise SystemExit(
        "error: run this inside a reprobook checkout (a folder with notebooks/ and _toc.yml)"
    )


def cmd_list(args) -> int:
    for name in params.notebooks():
        spec = params.load_spec(name)
        print(f"\n{name}")
        width = max(len(p) for p in spec.parameters)
        for row in spec.describe():
            presets = "  ".join(f"{k}={row[k]!r}" for k in params.PRESETS)
            print(
                f"  {row['name']:<{width}}  {row['type']:<11} {presets}\n  {'':<{width}}  {row['help']}"
            )
    return 0


def cmd_run(args) -> int:
    from .runner import run_notebooks

    names = params.notebooks() if args.notebooks == ["all"] else args.notebooks
    overrides = {key: params.parse_cli_value(value) for key, value in args.p}
    try:
        outcomes = run_notebooks(
            find_repo(),
            names,
            args.preset,
            overrides,
            Path(args.build),
            log_output=args.log_output,
        )
    except params.ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\nnotebook                 seconds  status")
    for o in outcomes:
        print(f"{o.notebook:<24} {o.seconds:7.1f}  {'ok' if o.ok else 'FAILED'}")
    print(f"{'total':<24} {sum(o.seconds for o in outcomes):7.1f}")
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        print(
            f"\nFAILED {o.notebook} (partial output in {o.output}):\n{o.error[-3000:]}",
            file=sys.stderr,
        )
    return 1 if failed else 0


def cmd_book(args) -> int:
    from .book import build_book

    index = build_book(Path(args.build), find_repo())
    print(f"book: {index}")
    return 0


def cmd_bench(args) -> int:
    from .bench import main as bench_main

    return bench_main(steps=args.steps, batch_size=args.batch_size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="reprobook",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list notebooks and their parameters").set_defaults(
        func=cmd_list
    )
    run = sub.add_parser(
        "run", help="execute notebooks with papermill into the build folder"
    )
    run.add_argument("notebooks", nargs="+", help="notebook names, or 'all'")
    run.add_argument(
        "--preset",
        default=params.DEFAULT_PRESET,
        help="smoke | cpu | full (default: cpu)",
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
        "--log-output",
        action="store_true",
        help="stream the notebooks' output to the terminal",
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
    bench.add_argument("--steps", type=int, default=20)
    bench.add_argument("--batch-size", type=int, default=128)
    bench.set_defaults(func=cmd_bench)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
