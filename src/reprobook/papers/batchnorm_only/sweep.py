r"""The notebook's experiment: every network of the depth and width sweeps, every regime, every
seed, trained from one initialization per (network, seed) — and the per-seed numbers the criteria
are judged on.

The unit of replication is the seed (it fixes the initial weights, the data order and the random
choice of parameters): a quantity is first averaged over the networks of a sweep within a seed,
then the notebook takes a Student-t interval over the seeds.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ... import models, plots, stats, train
from . import trainable

CHANCE = 0.1  # ten CIFAR-10 classes
# One colour per regime for every figure, from the book's palette.
COLORS = dict(zip(trainable.REGIMES, plots.PALETTE))

Net = tuple[int, int]  # (depth, first-stage width)


def label(net: Net) -> str:
    """``(14, 16)`` → ``"ResNet-14 w16"``."""
    return f"ResNet-{net[0]} w{net[1]}"


@dataclass(frozen=True)
class Nets:
    """The depth sweep (at ``base_width``) and the width sweep (at ``width_depth``)."""

    depth: list[Net]
    width: list[Net]

    @classmethod
    def of(cls, P: Mapping) -> Nets:
        return cls(
            [(d, P["base_width"]) for d in sorted(set(P["depths"]))],
            [(P["width_depth"], w) for w in sorted(set(P["widths"]))],
        )

    @property
    def all(self) -> list[Net]:
        """Both sweeps, each network once (the shared one is trained once)."""
        return list(dict.fromkeys(self.depth + self.width))

    @property
    def deepest(self) -> Net:
        return max(self.depth)

    def sweeps(self, P: Mapping) -> dict[str, tuple[list[Net], str]]:
        """The sweeps of two or more networks, ``{"depth" | "width": (nets, axis label)}``: those a
        figure can draw a trend for (``cpu`` trains one depth, so it has no depth sweep)."""
        both = {
            "depth": (self.depth, f"depth (width {P['base_width']})"),
            "width": (self.width, f"width (ResNet-{P['width_depth']})"),
        }
        return {key: sweep for key, sweep in both.items() if len(sweep[0]) > 1}


def thresholds(gamma_threshold: float) -> list[float]:
    """The |γ| thresholds the γ tables count below: the criterion's and three for context."""
    return sorted({0.001, gamma_threshold, 0.05, 0.1})


def parameter_counts(nets: Sequence[Net], regimes: Sequence[str]) -> pd.DataFrame:
    """One row per (network, regime): trainable entries in all and by kind (bn, conv, output),
    and the network's BatchNorm γ+β count (``bn_parameters``), counted independently."""
    rows = []
    for net in nets:
        model = models.CifarResNet(*net)
        for regime in regimes:
            sel = trainable.select(model, regime)
            rows.append(
                dict(
                    net=label(net),
                    regime=trainable.LABELS[regime],
                    trainable=sel.trainable_count(),
                    bn_parameters=trainable.batchnorm_parameter_count(model),
                    **sel.counts(),
                )
            )
            sel.release()
    return pd.DataFrame(rows)


def count_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Trainable parameters, one row per network and one column per regime (in run order)."""
    table = counts.pivot_table(
        index="net", columns="regime", values="trainable", sort=False
    )
    return table[list(dict.fromkeys(counts.regime))].astype(int)


def count_mismatch(counts: pd.DataFrame) -> int:
    """The largest |trainable − BatchNorm γ+β count| over the rows of the random regimes: 0 when
    every random baseline trains exactly as many weights as BN-only (the check of the matching)."""
    random = counts[
        counts.regime.isin([trainable.LABELS[r] for r in trainable.RANDOM_REGIMES])
    ]
    return (
        int((random.trainable - random.bn_parameters).abs().max()) if len(random) else 0
    )


def train_config(P: Mapping, regime: str) -> train.TrainConfig:
    """The run's budget and schedule from the parameters; all-parameter training uses
    ``optimizer_all``/``lr_all``, every frozen regime the same ``optimizer_frozen``/``lr_frozen``.
    The sweep reads only the final evaluation, so the run evaluates once, after its last step."""
    frozen = regime != "all"
    return train.TrainConfig.of(
        P,
        optimizer=P["optimizer_frozen"] if frozen else P["optimizer_all"],
        lr=P["lr_frozen"] if frozen else P["lr_all"],
        evals=0,
    )


@dataclass
class Sweep:
    """``runs``: one row per (network, regime, seed); ``layers``: γ tables (per layer and
    ``overall``) before and after every run; ``gammas``: every γ, keyed (regime or ``"init"``,
    depth, width, seed)."""

    runs: pd.DataFrame
    layers: pd.DataFrame
    gammas: dict[tuple, torch.Tensor]


def run(P: Mapping, images, nets: Sequence[Net], device: str | None = None) -> Sweep:
    """Train every network in every regime of ``P["regimes"]`` for seeds ``0 .. P["seeds"]-1``. Per
    (network, seed) one initialization; every regime starts from a copy of it and sees the same data
    order. After each run every frozen entry is compared bit for bit with its initial value: the
    runs' ``frozen_changed`` column (0 unless freezing is broken; the notebook's check)."""
    regimes = list(dict.fromkeys(P["regimes"]))
    below = f"below {P['gamma_threshold']:g}"
    limits = thresholds(P["gamma_threshold"])
    runs, layers, gammas = [], [], {}
    for seed in range(P["seeds"]):
        for depth, width in nets:
            tags = dict(net=label((depth, width)), depth=depth, width=width)
            torch.manual_seed(seed)
            initial = models.CifarResNet(depth, width, in_channels=images.shape[0])
            g = torch.Generator().manual_seed(seed)
            trainable.init_batchnorm_(initial, P["gamma_init"], g)
            trainable.init_output_(initial, g)  # open_lth: He-normal, fan-in
            before = trainable.gamma_table(initial, limits)
            gammas[("init", depth, width, seed)] = trainable.gammas(initial)
            for regime in regimes:
                net = copy.deepcopy(initial)
                sel = trainable.select(net, regime, seed=seed)
                history = train.fit(
                    net,
                    images,
                    train_config(P, regime),
                    seed=seed,
                    device=device,
                    after_step=sel.restore,
                    desc=f"{tags['net']} {regime} seed {seed}",
                )
                after = trainable.gamma_table(net, limits)
                final = history.iloc[-1]
                runs.append(
                    dict(
                        **tags,
                        regime=regime,
                        seed=seed,
                        trainable=sel.trainable_count(),
                        frozen_changed=sel.changed()["frozen"],  # bitwise, vs. init
                        steps=int(final.step),
                        test_acc=final.test_acc,
                        train_loss=final.train_loss,
                        diverged=history.attrs["diverged"],
                        seconds=final.seconds,
                        off_before=before.iloc[-1][below],
                        off_after=after.iloc[-1][below],
                    )
                )
                for stage, table in (("after", after), ("before", before)):
                    layers.append(
                        table.assign(**tags, regime=regime, seed=seed, stage=stage)
                    )
                gammas[(regime, depth, width, seed)] = trainable.gammas(net)
    return Sweep(pd.DataFrame(runs), pd.concat(layers, ignore_index=True), gammas)


# ---------------------------------------------------------------------------------------------
# Per-seed numbers (the criteria's samples)


def per_seed(
    runs: pd.DataFrame, regime: str, nets: Sequence[Net], column: str = "test_acc"
) -> pd.Series:
    """One number per seed: ``column`` of ``regime``'s runs averaged over ``nets``."""
    sub = runs[(runs.regime == regime) & runs.net.isin([label(n) for n in nets])]
    return sub.groupby("seed")[column].mean()


def slopes(
    runs: pd.DataFrame, nets: Sequence[Net], key: str, regime: str = "bn"
) -> list[float]:
    """Per seed, the least-squares slope of test accuracy against log2(``key``) over ``nets``:
    accuracy gained per doubling of depth or width."""
    sub = runs[(runs.regime == regime) & runs.net.isin([label(n) for n in nets])]
    return [
        stats.slope(np.log2(g[key]), g.test_acc) for _, g in sub.groupby("seed")
    ]  # Δacc / Δlog2(key)


def off_fraction(
    layers: pd.DataFrame, regime: str, column: str, stage: str = "after"
) -> pd.Series:
    """Per seed, the fraction of channels ``column`` (``"below t"``) over the whole network,
    averaged over the networks."""
    overall = layers[layers.name == "overall"]
    sub = overall[(overall.stage == stage) & (overall.regime == regime)]
    return sub.groupby("seed")[column].mean()


def paired(runs: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per (network, seed) and regime: the paired comparison."""
    return runs.pivot_table(
        index=["net", "seed"], columns="regime", values="test_acc", sort=False
    )


def accuracy_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per network and regime, an :class:`~reprobook.stats.Estimate` (95% interval
    over seeds) per cell."""
    by = runs.groupby(["net", "regime"], sort=False).test_acc
    return by.agg(lambda v: stats.mean_ci(v, bounds=(0, 1))).unstack("regime")


def advantage(runs: pd.DataFrame, nets: Sequence[Net]) -> dict[str, np.ndarray]:
    """Per network, BN-only minus random k/channel test accuracy, one value per seed (paired)."""
    acc = paired(runs)
    diff = acc["bn"] - acc["random_per_channel"]
    return {label(n): diff.xs(label(n), level="net").to_numpy() for n in nets}


def accuracy_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per network, mean test accuracy of BN-only, random k/channel, all, and BN-only − random."""
    acc = paired(runs)
    return (
        pd.DataFrame(
            {
                "BN-only": acc["bn"],
                "random k/channel": acc["random_per_channel"],
                "all": acc["all"],
                "BN-only − random": acc["bn"] - acc["random_per_channel"],
            }
        )
        .groupby("net", sort=False)
        .mean()
        .round(3)
    )


def accuracy_by(
    runs: pd.DataFrame, nets: Sequence[Net], key: str
) -> dict[str, tuple[list, list[stats.Estimate]]]:
    """Per regime, the values of ``key`` (depth or width) over ``nets`` and the test accuracy at
    each (95% interval over seeds): the points of a sweep figure."""
    out = {}
    for regime in dict.fromkeys(runs.regime):
        sub = runs[(runs.regime == regime) & runs.net.isin([label(n) for n in nets])]
        out[regime] = (
            sorted(sub[key].unique()),
            [stats.mean_ci(g.test_acc, bounds=(0, 1)) for _, g in sub.groupby(key)],
        )
    return out


def gamma_summary(layers: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean of ``columns`` over networks and seeds: at initialization and after each regime."""
    overall = layers[layers.name == "overall"]
    init = overall[(overall.stage == "before") & (overall.regime == "bn")]
    table = pd.concat(
        [init.assign(regime="initialization"), overall[overall.stage == "after"]]
    )
    return table.groupby("regime", sort=False)[list(columns)].mean().round(4)


def per_layer(
    layers: pd.DataFrame, net: Net, column: str, regime: str, stage: str = "after"
) -> pd.Series:
    """Per BatchNorm layer of ``net`` (forward order), ``column`` averaged over seeds."""
    sub = layers[(layers.name != "overall") & (layers.net == label(net))]
    sub = sub[(sub.stage == stage) & (sub.regime == regime)]
    return sub.groupby("layer")[column].mean()


def log_abs_gammas(gammas: Mapping[tuple, torch.Tensor], key: str) -> np.ndarray:
    """log10 |γ| of every γ of ``key`` (a regime or ``"init"``), clipped at 1e-5."""
    values = torch.cat([v for k, v in gammas.items() if k[0] == key])
    return np.log10(values.abs().clamp_min(1e-5).numpy())


def numbers(
    sweep: Sweep, nets: Sequence[Net], counts: pd.DataFrame, column: str
) -> dict:
    """What the results file keeps beyond the criteria (which record the accuracy of ``all`` and
    ``bn`` and the switched-off fraction, ``column``, under ``bn``): the other regimes' accuracy
    and switched-off fraction, the fraction at initialization, trainable counts, accuracy per
    network and every run."""
    runs, layers = sweep.runs, sweep.layers
    regimes = list(dict.fromkeys(runs.regime))
    return {
        **{
            f"accuracy {r}": stats.mean_ci(per_seed(runs, r, nets)).mean
            for r in regimes
            if r not in ("all", "bn")
        },
        "off_fraction_init": float(off_fraction(layers, "bn", column, "before").mean()),
        **{
            f"off_fraction {r}": float(off_fraction(layers, r, column).mean())
            for r in regimes
            if r != "bn"
        },
        "trainable": {
            f"{c.net} {c.regime}": int(c.trainable) for c in counts.itertuples()
        },
        "accuracy_per_net": {
            f"{n} {r}": float(g.test_acc.mean())
            for (n, r), g in runs.groupby(["net", "regime"])
        },
        "runs": runs.to_dict("records"),
    }
