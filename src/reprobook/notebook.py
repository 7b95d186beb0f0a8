"""The first code cell of every notebook: validate the parameters, check the data, say where it runs."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import torch

from . import data, params, provenance


def start(notebook: str, namespace: dict[str, Any], dataset_parameters: list[str] = ()) -> SimpleNamespace:
    """Resolve and validate the parameters from the notebook's globals, make sure every dataset the
    run needs can be loaded, and print the run's scale and hardware. Fails before any compute.

    ``dataset_parameters`` names the parameters that hold a dataset name or a list of them.
    """
    resolved = params.from_namespace(notebook, namespace)
    if os.environ.get("REPROBOOK_THREADS"):  # e.g. 1 on an oversubscribed machine, where OpenMP spin-waits
        torch.set_num_threads(int(os.environ["REPROBOOK_THREADS"]))
    needed = set()
    for name in dataset_parameters:
        value = resolved[name]
        needed.update(value if isinstance(value, list) else [value])
    for name in sorted(needed):
        data.load(name)  # raises MissingDataError naming every place looked at; warms the cache
    hw = provenance.hardware()
    where = hw["gpu"] or f"{hw['cpu']} ({hw['cores']} cores, {hw['torch_threads']} torch threads)"
    print(f"{notebook}: preset {resolved['preset']!r} on {hw['device']} — {where}; torch {torch.__version__}")
    changed = {k: v for k, v in resolved.items()
               if k != "preset" and v != params.load_spec(notebook).preset(resolved["preset"])[k]}
    if changed:
        print(f"overrides of the {resolved['preset']!r} preset: {changed}")
    return SimpleNamespace(**resolved)
