"""Stage and build the Jupyter Book from executed notebooks.

The book is never built from the repository directly. :func:`stage_book` assembles
``<build_dir>/book-src/`` from the book configuration, the pages in ``book/``, the executed
notebooks in ``<build_dir>/notebooks/`` (at the same relative path as in the repository, so
launch buttons point at ``notebooks/<name>.ipynb`` there) and a summary page rendered from
``<build_dir>/results/``. :func:`build_book` then runs Jupyter Book 1.x on it with warnings as
errors. Nothing is executed during the build (``execute_notebooks: "off"``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from . import locks
from .pages import reader_page
from .summary import (
    NO_RESULTS,
    load_records,
    load_results,
    render_summary,
    status_grid,
)

LOG_TAIL_LINES = 60
GRID_MARKER = (
    "<!-- status grid -->"  # where book/intro.md shows the status grid of this build
)
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # Sphinx colours its output even when piped


class BookError(RuntimeError):
    """The book could not be staged or built."""


def toc_files(toc_path: Path) -> list[str]:
    """Every document named in a jb-book ``_toc.yml`` (the root first), without suffix."""
    toc = yaml.safe_load(Path(toc_path).read_text(encoding="utf-8")) or {}
    files: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    files.append(re.sub(r"\.(md|ipynb|rst)$", "", node[key]))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return files


def _bib_keys(book_dir: Path) -> set[str]:
    """Citation keys defined in the ``*.bib`` files of ``book_dir``."""
    keys: set[str] = set()
    for bib in book_dir.glob("*.bib"):
        keys.update(
            re.findall(
                r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", bib.read_text(encoding="utf-8"), re.M
            )
        )
    return keys


def stage_book(
    build_dir: Path, repo_root: Path, records_dir: Path | None = None
) -> Path:
    """Assemble the book sources in ``build_dir/book-src/`` (wiped first) and return that path.
    ``records_dir`` (default ``repo_root/records``) holds the committed results of record.

    Raises :class:`BookError` if a notebook listed in ``_toc.yml`` has no executed copy in
    ``build_dir/notebooks/``, or is still being run into ``build_dir`` (:mod:`.locks`).
    """
    build_dir, repo_root = Path(build_dir).resolve(), Path(repo_root).resolve()
    notebooks = [
        f for f in toc_files(repo_root / "_toc.yml") if f.startswith("notebooks/")
    ]
    running = locks.holders(build_dir, [Path(f).name for f in notebooks])
    if running:  # its page would be built from a notebook that is half executed
        names, holder = ", ".join(running), next(iter(running.values()))
        raise BookError(
            f"{names} {'is' if len(running) == 1 else 'are'} still running into {build_dir} "
            f"({holder}): its page would show a half-executed notebook; build the book when the "
            "run has ended"
        )
    missing = [f for f in notebooks if not (build_dir / f"{f}.ipynb").is_file()]
    if missing:
        names = ", ".join(Path(f).name for f in missing)
        raise BookError(
            f"no executed notebook for {names} in {build_dir / 'notebooks'}; "
            f"run `reprobook run <name>` for each (e.g. `reprobook run {Path(missing[0]).name}`) "
            "or `make book` before building the book"
        )

    src = build_dir / "book-src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(repo_root / name, src / name)
    shutil.copytree(
        repo_root / "book",
        src / "book",
        ignore=shutil.ignore_patterns(
            "_build", ".ipynb_checkpoints", "summary.md", "_static"
        ),
    )
    (src / "notebooks").mkdir()
    results = load_results(build_dir / "results")
    latest = {r["notebook"]: r for r in results if not r.get("failed")}
    of_record = load_records(records_dir or repo_root / "records")
    for path in sorted((build_dir / "notebooks").glob("*.ipynb")):
        own = latest.get(path.stem)
        others = [
            r
            for preset, recorded in of_record.items()
            for r in recorded
            if r["notebook"] == path.stem
            and not r.get("failed")
            and preset != (own or {}).get("preset")
        ]
        page = reader_page(nbformat.read(path, as_version=4), own, others)
        nbformat.write(page, src / "notebooks" / path.name)
    static = repo_root / "book" / "_static"
    if static.is_dir():
        shutil.copytree(static, src / "_static")

    summary = render_summary(
        results,
        bib_keys=_bib_keys(src / "book"),
        notebook_docs={Path(f).name for f in notebooks},
        records=of_record,
    )
    (src / "book" / "summary.md").write_text(summary, encoding="utf-8")
    intro = src / "book" / "intro.md"
    if intro.is_file() and GRID_MARKER in intro.read_text(encoding="utf-8"):
        docs = {Path(f).name for f in notebooks}
        grid = status_grid(results, docs, link_prefix="../") if results else NO_RESULTS
        block = f"```{{raw}} html\n{grid}\n```" if results else grid
        intro.write_text(
            intro.read_text(encoding="utf-8").replace(GRID_MARKER, block),
            encoding="utf-8",
        )
    return src


def _jupyter_book() -> list[str]:
    """The jupyter-book command of the running interpreter's environment."""
    exe = Path(sys.executable).parent / "jupyter-book"
    if exe.is_file():
        return [str(exe)]
    # No console script (e.g. an unusual install): call the click entry point directly.
    return [sys.executable, "-c", "from jupyter_book.cli.main import main; main()"]


def build_book(build_dir: Path, repo_root: Path) -> Path:
    """Stage the book and build its HTML with warnings as errors; return ``index.html``.

    The output lands in ``build_dir/book-src/_build/html/``; the full log in
    ``build_dir/book-build.log``. On failure :class:`BookError` carries the log's tail.
    """
    src = stage_book(build_dir, repo_root)
    cmd = _jupyter_book() + [
        "build",
        str(src),
        "--builder",
        "html",
        "-W",
        "-n",
        "--keep-going",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=src)
    log = ANSI_ESCAPE.sub("", proc.stdout + proc.stderr)
    log_path = Path(build_dir).resolve() / "book-build.log"
    log_path.write_text(log, encoding="utf-8")
    index = src / "_build" / "html" / "index.html"
    if proc.returncode != 0 or not index.is_file():
        tail = "\n".join(log.splitlines()[-LOG_TAIL_LINES:])
        raise BookError(
            f"jupyter-book build failed (exit code {proc.returncode}); full log: {log_path}\n{tail}"
        )
    return index
