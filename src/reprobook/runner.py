"""Execute notebooks with papermill into a build folder; never write into ``notebooks/``."""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import params


@dataclass
class RunOutcome:
    notebook: str
    output: Path
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def notebook_path(repo: Path, name: str) -> Path:
    return repo / "notebooks" / f"{name}.ipynb"


def validate(
    names: list[str], preset: str, overrides: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Resolve every notebook's parameters first, so a typo fails before any notebook runs.
    An override that a notebook does not have is an error unless another selected notebook has it."""
    specs = {name: params.load_spec(name) for name in names}
    for key in overrides:
        if not any(key in spec.parameters for spec in specs.values()):
            params.check_value(
                specs[names[0]], key, overrides[key]
            )  # raises 'unknown parameter'
    return {
        name: params.resolve(
            name, preset, {k: v for k, v in overrides.items() if k in spec.parameters}
        )
        for name, spec in specs.items()
    }


def run_notebooks(
    repo: Path,
    names: list[str],
    preset: str,
    overrides: dict[str, Any],
    build: Path,
    log_output: bool = False,
) -> list[RunOutcome]:
    """Run each notebook at ``preset`` with ``overrides``; keep going past failures, report them all."""
    import papermill as pm

    resolved = validate(names, preset, overrides)
    out_dir, results = build / "notebooks", build / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    env = {
        "REPROBOOK_RESULTS": str(results.resolve()),
        "REPROBOOK_PROGRESS": "0" if not log_output else "1",
    }
    old_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    outcomes = []
    try:
        for name in names:
            output = out_dir / f"{name}.ipynb"
            start = time.time()
            print(f"▶ {name} at preset {preset!r} → {output}", flush=True)
            try:
                pm.execute_notebook(
                    str(notebook_path(repo, name)),
                    str(output),
                    parameters=resolved[name],
                    cwd=str(repo / "notebooks"),
                    log_output=log_output,
                    progress_bar=not log_output,
                    kernel_name="python3",
                )
                outcomes.append(RunOutcome(name, output, time.time() - start))
            except Exception as err:  # noqa: BLE001 - reported at the end, the other notebooks still run
                message = f"{type(err).__name__}: {err}".strip()
                outcomes.append(
                    RunOutcome(
                        name,
                        output,
                        time.time() - start,
                        message or traceback.format_exc(),
                    )
                )
            print(
                f"  {'ok' if outcomes[-1].ok else 'FAILED'} in {outcomes[-1].seconds:.1f} s",
                flush=True,
            )
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return outcomes
