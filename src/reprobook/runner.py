"""Execute notebooks with papermill into a build folder; never write into ``notebooks/``.

Each notebook's previous results file is removed before it runs, so a failed run leaves no stale
verdict behind; a failure writes ``results/<name>.failed.json`` (the notebook's own error), which the
summary shows as failed.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import params
from .data import make_writable_folder


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


def notebook_error(err: Exception) -> str:
    """The notebook's own error in one line (papermill's execution error carries its name and value).
    A message that lists where it looked (a missing dataset) keeps its first and its last line, the fix."""
    name, value = getattr(err, "ename", None), getattr(err, "evalue", None)
    text = f"{name}: {value}" if name else f"{type(err).__name__}: {err}"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"


def run_notebooks(
    repo: Path,
    names: list[str],
    preset: str,
    overrides: dict[str, Any],
    build: Path,
    log_output: bool = False,
    on_done=None,
) -> list[RunOutcome]:
    """Run each notebook at ``preset`` with ``overrides``; keep going past failures, report them all.
    ``on_done(outcome)`` is called after each notebook (the CLI prints its verdict there)."""
    import papermill as pm

    resolved = validate(names, preset, overrides)
    out_dir, results = prepare_build(build)
    env = {
        "REPROBOOK_RESULTS": str(results.resolve()),
        "REPROBOOK_PROGRESS": "0" if not log_output else "1",
    }
    old_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    outcomes = []
    try:
        for name in names:
            output, record, failed = (
                out_dir / f"{name}.ipynb",
                results / f"{name}.json",
                results / f"{name}.failed.json",
            )
            for stale in (
                record,
                failed,
            ):  # a failed run must not leave the previous verdict behind
                stale.unlink(missing_ok=True)
            start = time.time()
            try:
                pm.execute_notebook(
                    str(notebook_path(repo, name)),
                    str(output),
                    parameters=resolved[name],
                    cwd=str(repo / "notebooks"),
                    log_output=log_output,
                    progress_bar=False,
                    kernel_name="python3",
                    extra_arguments=[
                        "--IPKernelApp.log_level=ERROR"
                    ],  # no transport warnings
                )
                outcome = RunOutcome(name, output, time.time() - start, results=record)
            except Exception as err:  # noqa: BLE001 - reported at the end, the other notebooks still run
                outcome = RunOutcome(
                    name, output, time.time() - start, notebook_error(err)
                )
                record.unlink(missing_ok=True)
                failed.write_text(
                    json.dumps(
                        dict(
                            notebook=name,
                            preset=preset,
                            failed=True,
                            error=outcome.error,
                        )
                    )
                )
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return outcomes
