r"""The experiment of the random-pruning notebook: a family of CIFAR ResNets trained dense and pruned
at random, every run of one net and seed from the same initial weights and data order, and the paired
quantities the criteria judge.

Within a seed and a net, the gap to dense is
:math:`\Delta = \mathrm{acc}_{\text{dense}} - \mathrm{acc}_{\text{sparse}}`, and ERK is compared with
uniform as :math:`\mathrm{acc}_{\text{ERK}} - \mathrm{acc}_{\text{uniform}}` at the same sparsity; every
quantity is computed within a seed first and only then averaged over seeds (Student t,
:func:`reprobook.stats.mean_ci`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import pandas as pd
import torch

from ... import models, train
from ...stats import Estimate, mean_ci
from .pruning import (
    RATIO_NAMES,
    SparseMasks,
    count_error,
    gap_slope,
    layer_densities,
    random_masks,
)

DENSE = ("dense", 0.0)  # the configuration (ratio, sparsity) of the unpruned net


def family(depths: Sequence[int], widths: Sequence[int]) -> list[tuple[int, int, int]]:
    """``(depth, width, dense parameters)`` of every CIFAR ResNet of the family, smallest first."""
    nets = [
        (d, w, models.count_parameters(models.CifarResNet(d, w)))
        for d, w in zip(depths, widths)
    ]
    return sorted(nets, key=lambda m: m[2])


def model_name(depth: int, width: int) -> str:
    return f"R{depth}-W{width}"


OTHERS_AT = ("all_sparsities", "highest_sparsity")


def configs(
    ratios: Sequence[str],
    sparsities: Sequence[float],
    others_at: str = "all_sparsities",
) -> list[tuple[str, float]]:
    """The runs of one net and seed: dense first, then ERK at every sparsity and every other ratio
    at every sparsity or, with ``others_at="highest_sparsity"``, only at the highest — the one
    sparsity where the criteria use a ratio other than ERK."""
    if others_at not in OTHERS_AT:
        raise ValueError(f"others_at must be one of {OTHERS_AT}, got {others_at!r}")
    highest = [max(sparsities)] if others_at == "highest_sparsity" else sparsities
    return [DENSE] + [
        (ratio, s)
        for ratio in ratios
        for s in (sparsities if ratio == "erk" else highest)
    ]


def sparsities_of(runs_of: Sequence[tuple[str, float]], ratio: str) -> list[float]:
    """The sparsities at which ``ratio`` runs among the configurations ``runs_of``."""
    return [s for r, s in runs_of if r == ratio]


def config_name(ratio: str, sparsity: float) -> str:
    """``"dense"`` or e.g. ``"ERK 0.9"``."""
    return "dense" if ratio == "dense" else f"{RATIO_NAMES[ratio]} {sparsity:g}"


def short_layer_name(name: str) -> str:
    """A tick label for a CIFAR ResNet layer: ``blocks.3.branch.3`` → ``b3.c3``, shortcuts ``.sc``."""
    name = name.replace("blocks.", "b").replace(".branch.", ".c")
    return name.replace(".shortcut.0", ".sc").replace(".0", "")


def density_tables(
    model: torch.nn.Module,
    ratios: Sequence[str],
    sparsities: Sequence[float],
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per layer: the target density of every ratio × sparsity; per ratio × sparsity: the global
    density a mask drawn with ``seed`` achieves, and its worst layer's error in weights."""
    layer_rows, achieved = [], []
    for ratio, sparsity in itertools.product(ratios, sparsities):
        target = layer_densities(model, 1 - sparsity, ratio)
        masks = random_masks(model, target, torch.Generator().manual_seed(seed))
        kept = {name: int(m.sum()) for name, m in masks.items()}
        total = sum(m.numel() for m in masks.values())
        errors = [abs(kept[n] - target[n] * m.numel()) for n, m in masks.items()]
        achieved.append(
            dict(
                ratio=RATIO_NAMES[ratio],
                sparsity=sparsity,
                target_density=1 - sparsity,
                achieved_density=sum(kept.values()) / total,  # Σ kept / Σ n_l
                worst_layer_error_in_weights=max(errors),
            )
        )
        layer_rows += [
            dict(
                ratio=RATIO_NAMES[ratio],
                sparsity=sparsity,
                layer=name,
                index=i,
                weights=m.numel(),
                density=target[name],
            )
            for i, (name, m) in enumerate(masks.items())
        ]
    return pd.DataFrame(layer_rows), pd.DataFrame(achieved)


def train_family(
    nets: Sequence[tuple[int, int, int]],
    seeds: Sequence[int],
    runs_of: Sequence[tuple[str, float]],
    data,
    monitor,
    cfg: train.TrainConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every net × seed × configuration; return one row per run and the learning curves.

    ``torch.manual_seed(seed)`` before each net: a dense net and its pruned versions share their initial
    weights; the mask is seeded by ``seed`` too, and ``train.fit`` draws the data order from it. Training
    monitors ``monitor``; test accuracy is measured once at the end on ``data.x_test``.
    """
    runs, curves = [], []
    for (depth, width, n_params), seed, (ratio, sparsity) in itertools.product(
        nets, seeds, runs_of
    ):
        torch.manual_seed(seed)
        net = models.CifarResNet(depth, width)
        masks = (
            None
            if ratio == "dense"
            else SparseMasks.random(net, 1 - sparsity, ratio, seed=seed)
        )
        mask_error = (  # weights between each mask and its target (per layer, global)
            0.0
            if masks is None
            else count_error(
                masks.masks, layer_densities(net, 1 - sparsity, ratio), 1 - sparsity
            )
        )
        model, name = model_name(depth, width), config_name(ratio, sparsity)
        history = train.fit(
            net,
            monitor,
            cfg,
            seed=seed,
            desc=f"{model} {name} seed {seed}",
            after_step=None if masks is None else masks.restore,
        )
        inputs = train.model_inputs(data, next(net.parameters()).device)
        correct = train.correct(net, data.x_test, data.y_test, inputs)  # [N] bool
        test_acc = correct.sum().item() / len(correct)  # an exact float64 ratio
        pruned = (
            0 if masks is None else sum((~m).sum().item() for m in masks.masks.values())
        )
        runs.append(
            dict(
                depth=depth,
                width=width,
                params=n_params,
                model=model,
                ratio=ratio,
                sparsity=sparsity,
                config=name,
                seed=seed,
                test_acc=test_acc,
                train_acc=history.train_acc.iloc[-1],
                diverged=history.attrs["diverged"],
                kept=round(n_params - pruned),
                pruned_max_abs=0.0 if masks is None else masks.pruned_max_abs(),
                mask_error=mask_error,
                seconds=history.seconds.iloc[-1],
                images_per_s=history.images_per_s.mean(),
            )
        )
        curves.append(history.assign(model=model, config=name, seed=seed))
    return pd.DataFrame(runs), pd.concat(curves)


def dense_accuracy(runs: pd.DataFrame) -> pd.Series:
    """Test accuracy of the dense nets, an Estimate over seeds per model (interval inside [0, 1])."""
    dense = runs[runs.ratio == "dense"].groupby("model").test_acc
    return dense.apply(mean_ci, bounds=(0, 1))


def accuracy_table(
    runs: pd.DataFrame, model_names: Sequence[str], runs_of
) -> pd.DataFrame:
    """Mean test accuracy over seeds: configuration (rows, in ``runs_of`` order) × model."""
    table = runs.pivot_table(
        index="config", columns="model", values="test_acc", aggfunc="mean"
    )[list(model_names)]
    return table.loc[[config_name(*c) for c in runs_of]]


def paired_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """The sparse runs, with ``gap`` = dense − sparse test accuracy of the same net and seed."""
    dense = runs[runs.ratio == "dense"].set_index(["model", "seed"]).test_acc
    sparse = runs[runs.ratio != "dense"].copy()
    paired = dense.loc[list(zip(sparse.model, sparse.seed))].values
    sparse["gap"] = paired - sparse.test_acc.values  # Δ = acc_dense − acc_sparse
    return sparse


def mean_by(
    frame: pd.DataFrame,
    keys: list[str],
    column: str,
    bounds: tuple[float, float] | None = None,
) -> dict[tuple, Estimate]:
    """``column`` averaged over seeds (Student t) per group of ``keys``; ``bounds=(0, 1)`` for an
    accuracy keeps its interval inside the values it can take."""
    return {k: mean_ci(g[column], bounds=bounds) for k, g in frame.groupby(keys)}


def gap_slopes(
    sparse: pd.DataFrame, ratios: Sequence[str], sparsity: float
) -> dict[str, Estimate]:
    """Per ratio: the slope of the gap at ``sparsity`` against log2(dense parameters), fitted within
    each seed (:func:`gap_slope`), then averaged over seeds."""
    slopes = {}
    for ratio in ratios:
        at = sparse[(sparse.ratio == ratio) & (sparse.sparsity == sparsity)]
        per_seed = [
            gap_slope(g.params, g.gap)
            for _, g in at.sort_values("params").groupby("seed")
        ]
        slopes[ratio] = mean_ci(per_seed)
    return slopes


def erk_minus_uniform(
    sparse: pd.DataFrame,
    model_names: Sequence[str],
    seeds: Sequence[int],
    sparsities: Sequence[float],
) -> pd.DataFrame:
    """Per model, seed and sparsity: ``diff`` = acc_ERK − acc_uniform (same init, same weight count)."""
    by = sparse.set_index(["model", "seed", "ratio", "sparsity"]).test_acc
    rows = [
        dict(
            model=m,
            seed=seed,
            sparsity=s,
            diff=by[(m, seed, "erk", s)] - by[(m, seed, "uniform", s)],
        )
        for m, seed, s in itertools.product(model_names, seeds, sparsities)
    ]
    return pd.DataFrame(rows)


def family_mean(diff: pd.DataFrame, sparsity: float) -> Estimate:
    """``diff`` at ``sparsity`` averaged over the family within each seed, then over seeds."""
    return mean_ci(diff[diff.sparsity == sparsity].groupby("seed")["diff"].mean())


def points_table(ests: Mapping, keys: Sequence[str]) -> pd.DataFrame:
    """Estimates as a table in points (×100): one row per key (a tuple named by ``keys``), columns
    ``mean``, ``low`` and ``high``."""
    rows = []
    for key, e in ests.items():
        e = e.scaled(100)
        key = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(keys, key), mean=e.mean, low=e.low, high=e.high))
    return pd.DataFrame(rows)


def gap_table(
    gaps: Mapping[tuple, Estimate], model_names: Sequence[str]
) -> pd.DataFrame:
    """Gap in points, ``mean [low, high]``: configuration × model."""
    rows = [
        dict(model=m, config=config_name(r, s), gap_points=f"{e.scaled(100):.2f}")
        for (m, r, s), e in gaps.items()
    ]
    table = pd.DataFrame(rows).pivot(
        index="config", columns="model", values="gap_points"
    )
    return table[list(model_names)]


def numbers(
    runs: pd.DataFrame, accuracy: pd.DataFrame, gaps: Mapping[tuple, Estimate]
) -> dict:
    """What the results file records beside the criteria: every dense model's mean accuracy, the
    accuracy table, every mean gap and the training time."""
    dense = dense_accuracy(runs)
    return {
        "dense_accuracy": {m: e.mean for m, e in dense.items()},
        "accuracy": {f"{m} {c}": float(v) for (c, m), v in accuracy.stack().items()},
        "gap": {f"{m} {config_name(r, s)}": e.mean for (m, r, s), e in gaps.items()},
        "training_seconds": float(runs.seconds.sum()),
    }
