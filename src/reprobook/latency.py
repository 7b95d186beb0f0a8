"""Inference latency measured fairly, and the peak tensor memory of a forward pass.

Fair means: every model in eval mode under ``torch.inference_mode()``; the same pinned number of CPU
threads for all; warm-up calls first (allocator, kernel selection, caches); then several *rounds*, each
timing every (model, batch size) once in a freshly shuffled order, so that a slow spell of the machine
(other processes, frequency scaling) hits all configurations alike instead of one of them. Each timing
repeats the call until at least ``min_time`` seconds have passed and reports seconds per call. The
summary is the median over rounds with the interquartile range; a ratio of two models is the median of
their per-round ratios (paired within a round), with a bootstrap interval over rounds.
"""

from __future__ import annotations

import math
import random
import time
import weakref
from collections.abc import Callable, Iterable
from contextlib import contextmanager

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .stats import Estimate


@contextmanager
def pinned_threads(threads: int | None):
    """``torch.set_num_threads(threads)`` inside the block, the previous value restored after."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(
    fn: Callable[[], object],
    device: torch.device,
    min_time: float = 0.02,
    max_calls: int = 1000,
) -> float:
    """Seconds per call of ``fn``: repeated until ``min_time`` has passed (at least once)."""
    _sync(device)
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        _sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or calls >= max_calls:
            return elapsed / calls


def random_tokens(
    batch: int, length: int, vocab_size: int, seed: int = 0
) -> torch.Tensor:
    """Token ids in [1, vocab) (no padding): the input every model is timed on."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, vocab_size, (batch, length), generator=g)


def measure(
    models: dict[str, nn.Module],
    inputs: dict[int, torch.Tensor],
    rounds: int = 7,
    warmup: int = 3,
    threads: int | None = None,
    device: str | torch.device = "cpu",
    min_time: float = 0.02,
    seed: int = 0,
) -> pd.DataFrame:
    """Time every model on every input (keyed by batch size), interleaved over ``rounds``.

    Returns one row per (round, model, batch): ``seconds`` per forward pass and ``position`` (its
    place in that round's shuffled order).
    """
    device = torch.device(device)
    order = [(name, batch) for name in models for batch in inputs]
    rng = random.Random(seed)
    rows = []
    was_training = {name: m.training for name, m in models.items()}
    placed = {batch: x.to(device) for batch, x in inputs.items()}
    try:
        with pinned_threads(threads), torch.inference_mode():
            for m in models.values():
                m.to(device).eval()
            for name, batch in order:  # warm-up
                for _ in range(warmup):
                    models[name](placed[batch])
            _sync(device)
            for r in range(rounds):
                rng.shuffle(order)
                for position, (name, batch) in enumerate(order):
                    model, x = models[name], placed[batch]
                    rows.append(
                        dict(
                            round=r,
                            model=name,
                            batch=batch,
                            position=position,
                            seconds=time_call(lambda: model(x), device, min_time),
                        )
                    )
    finally:
        for name, m in models.items():
            m.train(was_training[name])
    return pd.DataFrame(rows)


def summarise(timings: pd.DataFrame) -> pd.DataFrame:
    """Per (model, batch): median seconds, 25th/75th percentiles and the number of rounds."""
    g = timings.groupby(["model", "batch"], sort=False)["seconds"]
    return pd.DataFrame(
        {
            "median_s": g.median(),
            "q25_s": g.quantile(0.25),
            "q75_s": g.quantile(0.75),
            "rounds": g.size(),
        }
    )


def ratio(
    timings: pd.DataFrame,
    slow: str | list[tuple[str, str]],
    fast: str | None = None,
    batch: int = 1,
    resamples: int = 4000,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """Median over rounds of time(slow)/time(fast) at ``batch``, paired within each round, with a
    percentile-bootstrap interval over rounds.

    ``slow`` may instead be a list of (slow, fast) pairs: each round's ratio is then the geometric mean
    of the pairs' ratios (e.g. deep/wide averaged over attention types)."""
    pairs = slow if isinstance(slow, list) else [(slow, fast)]
    t = timings[timings.batch == batch].pivot(
        index="round", columns="model", values="seconds"
    )
    logs = np.mean([np.log((t[s] / t[f]).to_numpy()) for s, f in pairs], axis=0)
    r = np.exp(logs)
    point = float(np.median(r))
    # one round has no spread to build an interval from: a ratio lies in (0, ∞)
    if len(r) < 2:
        return Estimate(point, 0.0, math.inf, len(r))
    rng = np.random.default_rng(seed)
    draws = np.median(r[rng.integers(0, len(r), (resamples, len(r)))], axis=1)
    return Estimate.from_draws(point, draws, len(r), level)


class PeakMemory(TorchDispatchMode):
    """Live bytes of the tensors created by ATen operators inside the block, and their peak.

    Counts every tensor storage an operator returns until the last Python tensor on it is freed (views
    share their base's storage). Works on any device; parameters and inputs that exist before the block
    are not counted, nor are buffers a fused kernel allocates and frees internally.
    """

    def __init__(self):
        super().__init__()
        self.live: dict[int, list[int]] = {}
        self.current = self.peak = 0

    def _release(self, key: int) -> None:
        entry = self.live.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            self.current -= entry[0]
            del self.live[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor) or t.device.type == "meta":
                continue
            storage = t.untyped_storage()
            key = storage.data_ptr()
            if key == 0:
                continue
            entry = self.live.get(key)
            if entry is None:
                entry = self.live[key] = [storage.nbytes(), 0]
                self.current += entry[0]
                self.peak = max(self.peak, self.current)
            entry[1] += 1
            weakref.finalize(t, self._release, key)
        return out


def peak_memory(model: nn.Module, x: torch.Tensor) -> int:
    """Peak bytes of the activations of one inference forward pass of ``model`` on ``x`` (eval mode);
    on CUDA also bounded below by the allocator's own peak above the starting level."""
    was = model.training
    model.eval()
    device = x.device
    try:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
        with torch.inference_mode(), PeakMemory() as tracker:
            model(x)
        peak = tracker.peak
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            peak = max(peak, torch.cuda.max_memory_allocated(device) - base)
        return int(peak)
    finally:
        model.train(was)


def sgd_step_seconds(
    model: nn.Module, batches: Iterable, steps: int, warmup: int = 1, lr: float = 0.01
) -> np.ndarray:
    """Wall time of each of ``steps`` SGD steps (forward, backward, momentum step) of ``model`` on
    ``batches`` (an iterable of ``(x, y)``, drawn inside the timed step), after ``warmup`` untimed ones.
    Synchronises CUDA around every step. Trains ``model`` in place: pass a copy to keep it."""
    device = next(model.parameters()).device
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    times, batches = [], iter(batches)
    for step in range(warmup + steps):
        _sync(device)
        start = time.perf_counter()
        x, y = next(batches)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return np.array(times)
