"""Trained models cached on disk, and the ImageNet-pretrained models of the full presets (the ImageNet
images themselves are read by :mod:`reprobook.data`).

:func:`train_or_load` keys a model by a hash of everything that determines its weights (architecture,
data, training configuration, seed, device type, torch version) and keeps it in
``$REPROBOOK_CACHE/models/`` (default ``~/.cache/reprobook/models/``): ``<name>-<key>.pt`` holds the
``state_dict`` (saved by ``torch.save``, read back with ``torch.load(weights_only=True)``: tensors only, no
pickled code), ``<name>-<key>.json`` what it was trained with, how long that took and its history.
A rerun with the same specification skips the training.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from .data import atomic_write, cache_dir, download_allowed

FORMAT = 1  # bump when the meaning of a cached file changes


def models_dir() -> Path:
    return cache_dir() / "models"


def spec_key(spec: dict[str, Any]) -> str:
    """A stable hash of a JSON-able specification (key order does not matter)."""
    text = json.dumps(
        {"format": FORMAT, "torch": torch.__version__.split("+")[0], **spec},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def checkpoint_path(name: str, spec: dict[str, Any]) -> Path:
    return models_dir() / f"{name}-{spec_key(spec)}.pt"


@dataclass
class Cached:
    model: nn.Module
    trained: bool  # trained by this call (False: loaded from the cache)
    train_seconds: (
        float  # wall time of the training, in this call or when the file was made
    )
    history: pd.DataFrame
    path: Path


def save(model: nn.Module, path: Path, meta: dict[str, Any]) -> None:
    """Write the state_dict and its metadata atomically (a half-written file is never read)."""
    with atomic_write(path) as tmp:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    with atomic_write(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, default=str))


def load_into(model: nn.Module, path: Path) -> nn.Module:
    """Load a saved state_dict into ``model`` with ``weights_only=True``."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model


def train_or_load(
    name: str,
    build: Callable[[], nn.Module],
    spec: dict[str, Any],
    fit: Callable[[nn.Module], pd.DataFrame],
    cache: bool = True,
) -> Cached:
    """``build()`` a model and either load its cached weights or ``fit`` it (returning a history) and cache it.

    ``spec`` must hold everything that determines the weights; two different specs never share a file.
    A cache file that cannot be read (truncated, from another architecture) is trained over.
    """
    path = checkpoint_path(name, spec)
    model = build()
    meta_path = path.with_suffix(".json")
    if cache and path.is_file() and meta_path.is_file():
        try:
            load_into(model, path)
            meta = json.loads(meta_path.read_text())
            return Cached(
                model,
                False,
                float(meta["train_seconds"]),
                pd.DataFrame(meta["history"]),
                path,
            )
        except (
            RuntimeError,
            KeyError,
            ValueError,
            OSError,
            EOFError,
            pickle.UnpicklingError,
        ):
            model = build()  # unreadable or mismatched: train afresh
    start = time.perf_counter()
    history = fit(model)
    seconds = time.perf_counter() - start
    if cache:
        save(
            model,
            path,
            dict(
                name=name,
                spec=spec,
                key=spec_key(spec),
                train_seconds=seconds,
                history=history.to_dict("records"),
                created=time.strftime("%Y-%m-%d %H:%M:%S"),
            ),
        )
    return Cached(model, True, seconds, history, path)


# ---------------------------------------------------------------------------------------------
# ImageNet (the full presets): torchvision's pretrained models

IMAGENET_ARCHS = ("resnet18", "resnet50", "mobilenet_v2")


class MissingModelError(FileNotFoundError):
    """Pretrained weights or ImageNet are not available here; the message says where they were looked for."""


def imagenet_architecture(arch: str) -> nn.Module:
    """The torchvision architecture without weights (what a unit test can build offline)."""
    import torchvision

    if arch not in IMAGENET_ARCHS:
        raise ValueError(f"arch must be one of {IMAGENET_ARCHS}, got {arch!r}")
    return torchvision.models.get_model(arch, weights=None)


def imagenet_pretrained(arch: str) -> nn.Module:
    """torchvision's ImageNet-pretrained ``arch`` (IMAGENET1K_V1 weights). Uses torch hub's cache; downloads
    only when ``$REPROBOOK_DOWNLOAD`` allows it, else raises :class:`MissingModelError` naming the file."""
    import torchvision

    model = imagenet_architecture(arch)
    weights = torchvision.models.get_model_weights(arch).IMAGENET1K_V1
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if not cached.is_file() and not download_allowed():
        raise MissingModelError(
            f"pretrained {arch} weights not found at {cached} and downloads are off "
            f"($REPROBOOK_DOWNLOAD=0); put {weights.url} there"
        )
    try:
        state = weights.get_state_dict(progress=False, check_hash=True)
    except Exception as err:  # no network, blocked host, bad checksum
        raise MissingModelError(
            f"could not get pretrained {arch} weights ({weights.url}): {err}"
        ) from err
    model.load_state_dict(state)
    return model
