"""The ZeroQ experiment of ``notebooks/zeroq.ipynb``, step by step: the network to quantize, the three
calibration batches, the accuracy of quantized copies, the bit allocations and their tables.

Each step takes the run's parameters ``P`` (or the values it needs) and returns plain values; the
notebook measures the criteria on them. The formulas are in :mod:`.quant`, :mod:`.distill` and
:mod:`.pareto`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ... import checkpoints, data, models, notebook, train, units
from ...stats import Estimate, accuracy, paired_difference
from . import distill, pareto, quant, record

SOURCES = [
    "distilled",
    "Gaussian",
    "real",
]  # the three calibration batches, same size each


@dataclass
class Network:
    """The network to quantize, its test images and the pool the real calibration batch comes from."""

    net: nn.Module
    inputs: Callable[[torch.Tensor], torch.Tensor]  # uint8 images → standardised input
    x_test: torch.Tensor  # [N, C, H, W] uint8
    y_test: torch.Tensor
    x_pool: torch.Tensor  # training images: real calibration batches, timed steps
    y_pool: torch.Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]
    epoch_images: (
        int  # images in one training epoch (CIFAR-10 50,000; ImageNet 1,281,167)
    )
    history: pd.DataFrame  # training curve (empty when nothing was trained here)
    trained: bool  # trained in this run (not loaded from the cache)
    train_seconds: float
    name: str  # e.g. "CifarResNet-14 (width 16, 16px)"
    real_from: str  # where the real calibration images come from
    origin: str = ""  # the model of record's provenance line (empty otherwise)

    @property
    def imagenet(self) -> bool:
        return not self.name.startswith("CifarResNet")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x_test.shape[1:])

    @property
    def where(self) -> str:
        if self.imagenet:
            return "torchvision, pretrained"
        if self.origin:
            return "the committed model of record"
        return "trained in this run" if self.trained else "loaded from the cache"

    def __str__(self) -> str:
        n_layers = len(quant.quantizable_layers(self.net))
        text = (
            f"{type(self.net).__name__}: {models.count_parameters(self.net):,} parameters, "
            f"{n_layers} quantizable layers, input {self.shape}; {self.where}"
        )
        took = f" (training took {self.train_seconds:.0f} s)"
        if self.origin:
            return f"{text}:\n  {self.origin}"
        return text if self.imagenet else text + took

    def correct(self, weight_bits, act_bits, calibrations: Mapping) -> np.ndarray:
        """Per-test-image correctness ``[N]``, averaged over the seeds' ``calibrations``."""
        return quant.calibrated_correct(
            self.net,
            weight_bits,
            act_bits,
            calibrations.values(),
            self.x_test,
            self.y_test,
            self.inputs,
        )

    def training_step_seconds(self, batch_size: int, steps: int) -> np.ndarray:
        """Timed SGD steps of a copy of the network on random batches of the pool."""
        return quant.training_step_seconds(
            self.net, self.x_pool, self.y_pool, self.inputs, batch_size, steps
        )


def network(P, device: torch.device) -> Network:
    """torchvision's pretrained ``P.model`` on ImageNet where ``$REPROBOOK_IMAGENET`` and its weights
    are available (else a message and the fallback), the committed ResNet-20 of record
    (``"record"``), or the CIFAR ResNet trained here (cached)."""
    if P.model == "record":
        return _record(P, device)
    if P.model != "cifar_resnet":
        try:
            return _imagenet(P, device)
        except (data.MissingDataError, checkpoints.MissingModelError) as err:
            print(
                f"SKIPPING the ImageNet protocol ({P.model}): {err}\n"
                f"→ quantizing the CIFAR-10 ResNet of this preset instead."
            )
    return _cifar(P, device)


def _imagenet(P, device: torch.device) -> Network:
    net = checkpoints.imagenet_pretrained(P.model)
    x_test, y_test = data.imagenet_images("val", P.test_examples or None, seed=0)
    has_train = (data.imagenet_root() / "train").is_dir()
    pool = P.calibration_size * P.seeds * 4
    x_pool, y_pool = data.imagenet_images("train" if has_train else "val", pool, seed=1)
    mean, std = data.IMAGENET_MEAN, data.IMAGENET_STD
    return Network(
        net.to(device).eval(),
        data.normaliser(mean, std, device),
        x_test,
        y_test,
        x_pool,
        y_pool,
        mean,
        std,
        data.IMAGENET_TRAIN_IMAGES,
        pd.DataFrame(),
        False,
        float("nan"),
        P.model,
        "ImageNet train"
        if has_train
        else "ImageNet val (not disjoint from the test images)",
    )


def _images(P) -> data.ImageData:
    """The run's CIFAR-10 subset, area-resized to ``P.resolution``."""
    cifar = data.load("cifar10").subset(P.train_examples, P.test_examples, seed=0)
    return cifar.resized(P.resolution)


def _cifar_network(
    P, net: nn.Module, device: torch.device, history, trained, seconds, origin=""
) -> Network:
    """``net`` with the CIFAR-10 images of the run: the test images it is judged on, and the
    training images real calibration batches are drawn from."""
    cifar = _images(P)
    return Network(
        net.to(device).eval(),
        data.normaliser(cifar.mean, cifar.std, device),
        cifar.x_test,
        cifar.y_test,
        cifar.x_train,
        cifar.y_train,
        cifar.mean,
        cifar.std,
        50_000,
        history,
        trained,
        seconds,
        f"CifarResNet-{P.depth} (width {P.width}, {P.resolution}px)",
        "CIFAR-10 training images",
        origin,
    )


def _record(P, device: torch.device) -> Network:
    """The committed CIFAR-10 ResNet-20 (:mod:`.record`), trained once, loaded with its history
    (the notebook has checked that ``P``'s depth, width and resolution are the record's)."""
    net, meta = record.load()
    history, seconds = pd.DataFrame(meta["history"]), float(meta["train_seconds"])
    return _cifar_network(
        P, net, device, history, False, seconds, record.describe(meta)
    )


def _cifar(P, device: torch.device) -> Network:
    cfg = train.TrainConfig(
        epochs=P.train_epochs,
        batch_size=P.batch_size,
        lr=P.train_lr,
        augment=True,
        evals=2,
    )

    def build():
        torch.manual_seed(0)
        return models.CifarResNet(P.depth, P.width, norm="batch")

    spec = dict(  # the cache key: everything that determines the weights
        arch="CifarResNet",
        depth=P.depth,
        width=P.width,
        norm="batch",
        dataset="cifar10",
        resolution=P.resolution,
        train_examples=P.train_examples,
        test_examples=P.test_examples,
        subset_seed=0,
        config=dataclasses.asdict(cfg),
        seed=0,
        device=device.type,
    )
    cached = checkpoints.train_or_load(
        f"zeroq-cifar-resnet{P.depth}",
        build,
        spec,
        lambda m: train.fit(m, _images(P), cfg, seed=0, desc="train"),
    )
    return _cifar_network(
        P, cached.model, device, cached.history, cached.trained, cached.train_seconds
    )


def calibration_batches(run: Network, P):
    """Per seed: the Distilled Data (``distill.Distilled``), and the three calibration batches
    ``{source: {seed: [B, C, H, W]}}`` in the standardised input space, ``P.calibration_size`` each."""
    device = next(run.net.parameters()).device
    distilled, batches = {}, {source: {} for source in SOURCES}
    for seed in range(P.seeds):
        distilled[seed] = distill.distill(
            run.net,
            run.shape,
            P.calibration_size,
            P.distill_iterations,
            lr=P.distill_lr,
            seed=seed,
        )
        batches["distilled"][seed] = distilled[seed].images
        gauss = distill.gaussian_batch(run.shape, P.calibration_size, seed=seed)
        batches["Gaussian"][seed] = gauss.to(device)
        g = torch.Generator().manual_seed(100 + seed)
        pick = torch.randperm(len(run.x_pool), generator=g)[: P.calibration_size]
        batches["real"][seed] = run.inputs(run.x_pool[pick])
    return distilled, batches


@dataclass
class DistillationSummary:
    """Means over the seeds' Distilled Data, and the worst loss ratio (the gate)."""

    before: float  # BN-statistics loss of the initial noise
    after: float  # after the optimisation
    seconds: float  # per batch
    ratio: float  # max over seeds of after / before
    iterations: int
    batch_size: int

    def __str__(self) -> str:
        return (
            f"Distilled Data: BN-statistics loss {self.before:.3g} (initial noise) → "
            f"{self.after:.3g} after {self.iterations} iterations "
            f"({self.seconds:.1f} s per batch of {self.batch_size})"
        )


def distillation_summary(distilled: Mapping) -> DistillationSummary:
    ds = list(distilled.values())
    return DistillationSummary(
        before=float(np.mean([d.loss_before for d in ds])),
        after=float(np.mean([d.loss_after for d in ds])),
        seconds=float(np.mean([d.seconds for d in ds])),
        ratio=max(d.loss_after / d.loss_before for d in ds),
        iterations=len(ds[0].losses),
        batch_size=len(ds[0].images),
    )


@torch.no_grad()
def bn_losses(net: nn.Module, batches: Mapping) -> pd.DataFrame:
    """The BN-statistics loss of every calibration batch: one row per (seed, source)."""
    return pd.DataFrame(
        {
            "seed": seed,
            "source": source,
            "BN-statistics loss": distill.bn_statistics_loss(
                net, batches[source][seed]
            ).item(),
        }
        for seed in batches["distilled"]
        for source in SOURCES
    )


def calibration(
    run: Network, batches: Mapping, settings
) -> dict[tuple[str, str], np.ndarray]:
    """Per-image correctness for every (setting, source), and ``("W8A8", "distilled")`` in any case."""
    correct = {
        (setting, source): run.correct(*quant.parse_setting(setting), batches[source])
        for setting in settings
        for source in SOURCES
    }
    if ("W8A8", "distilled") not in correct:
        correct[("W8A8", "distilled")] = run.correct(8, 8, batches["distilled"])
    return correct


def calibration_table(correct: Mapping, settings) -> pd.DataFrame:
    """Accuracy per setting and source (with its interval over test images, in [0, 1]), and the
    paired differences of distilled with the others."""
    rows = []
    for setting in settings:
        # accuracy() takes correctness per [seed, test image]: one seed here
        row = {"setting": setting}
        row |= {s: accuracy(correct[(setting, s)][None]) for s in SOURCES}
        for other in ("real", "Gaussian"):
            row[f"distilled − {other}"] = paired_difference(
                correct[(setting, "distilled")], correct[(setting, other)]
            )
        rows.append(row)
    return pd.DataFrame(rows).set_index("setting")


def sensitivities(net: nn.Module, batches: Mapping, bits) -> tuple[dict, dict]:
    """Per source, the per-image sensitivity ``[layer, bits, image]`` on its seed-0 batch, and the
    seconds it took."""
    sens, seconds = {}, {}
    for source in SOURCES:
        tick = time.perf_counter()
        sens[source] = quant.sensitivity(net, batches[source][0], bits)
        seconds[source] = time.perf_counter() - tick
    return sens, seconds


def rank_agreements(sens: Mapping, bits) -> dict[str, Estimate]:
    """Spearman agreement of distilled and of Gaussian sensitivities with real ones, over the bit
    widths below the largest (where every Ω is nearly zero)."""
    ranked = [j for j, k in enumerate(bits) if k < max(bits)]
    return {
        source: quant.rank_agreement(sens[source][:, ranked], sens["real"][:, ranked])
        for source in ("distilled", "Gaussian")
    }


def omega_table(omega: Mapping, bits, layer_names) -> pd.DataFrame:
    """Ω_i(k) per layer for the bit widths up to 4 (below the largest), from each source."""
    shown = [(j, k) for j, k in enumerate(bits) if k < max(bits) and k <= 4]
    columns = {f"Ω({k} bits), {s}": omega[s][:, j] for j, k in shown for s in SOURCES}
    return pd.DataFrame(columns, index=layer_names)


def dp_gap(omega: np.ndarray, sizes, P, bits) -> float:
    """The DP against brute force on the first ``P.brute_force_layers`` layers, across budgets:
    the largest |Σ Ω| gap (``pareto.largest_dp_gap``). ``bits`` indexes the columns of ``omega``."""
    n = min(P.brute_force_layers, len(sizes))
    costs = omega[:n, [list(bits).index(k) for k in P.mp_bits]]  # [n, K]
    return pareto.largest_dp_gap(costs, sizes[:n], P.mp_bits)


@dataclass
class Allocations:
    """The DP's bit allocations from each source's Ω: ``chosen[(budget, source)] = {layer: bits}``."""

    chosen: dict[tuple[int, str], dict[str, int]]
    frontier: dict[str, pareto.Frontier]  # per source
    seconds: dict[str, float]  # per source: frontier and choices

    def __str__(self) -> str:
        front = self.frontier["distilled"]
        return (
            f"frontier of {len(front.sizes)} points over {front.choices.shape[1]} layers, "
            f"solved in {self.seconds['distilled'] * 1000:.0f} ms"
        )

    def table(self, sizes, budgets) -> pd.DataFrame:
        """The bits of every layer in each allocation, with the layer's weight count ``params``."""
        columns = {
            f"MP{b} ({s})": self.chosen[(b, s)] for b in budgets for s in SOURCES
        }
        return pd.DataFrame(columns).assign(params=sizes)


def allocations(omega: Mapping, sizes, layer_names, P, bits) -> Allocations:
    """The DP's allocation for every budget from each source's Ω (``bits`` indexes its columns);
    a layer may take ``P.mp_bits``."""
    columns = [list(bits).index(k) for k in P.mp_bits]
    chosen, frontier, seconds = {}, {}, {}
    for source in SOURCES:
        tick = time.perf_counter()
        costs = omega[source][:, columns]  # [L, K]: Ω_i(k) for k in mp_bits
        frontier[source], best = pareto.allocate(costs, sizes, P.mp_bits, P.mp_budgets)
        for b, layer_bits in best.items():
            chosen[(b, source)] = dict(zip(layer_names, layer_bits.tolist()))
        seconds[source] = time.perf_counter() - tick
    return Allocations(chosen, frontier, seconds)


def random_allocations(sizes, layer_names, P, seed: int = 0) -> dict[int, list[dict]]:
    """``P.random_allocations`` random maximal allocations ``{layer: bits}`` per budget."""
    rng, bits = np.random.default_rng(seed), np.array(P.mp_bits)
    return {
        b: [
            dict(
                zip(
                    layer_names,
                    bits[
                        pareto.random_allocation(sizes, bits, b * sizes.sum(), rng)
                    ].tolist(),
                )
            )
            for _ in range(P.random_allocations)
        ]
        for b in P.mp_budgets
    }


def points(allocs, omega: np.ndarray, sizes, bits) -> tuple[list[float], list[float]]:
    """(average bits, Σ Ω) of each allocation ``{layer: bits}``: where it sits on the frontier plot."""
    allocs = [list(a.values()) for a in allocs]
    return (
        [pareto.average_bits(sizes, a) for a in allocs],
        [pareto.summed_cost(omega, bits, a) for a in allocs],
    )


def allocation_checks(
    net: nn.Module, settings, dp: Allocations, randoms, P
) -> tuple[int, int]:
    """The two invariants of the quantized models, measured on them: the largest excess of distinct
    weight values per output channel over ``2^k`` (every uniform setting, every DP and random
    allocation), and the largest Σ P_i k_i − b Σ P_i of a DP or random allocation at budget ``b``."""
    levels, size = [], []
    for k in sorted({quant.parse_setting(s)[0] for s in settings}):
        levels.append(quant.QuantizedModel(net, k, None).excess_levels())
    total = sum(quant.layer_sizes(net).values())  # Σ P_i
    for b in P.mp_budgets:
        allocs = [dp.chosen[(b, s)] for s in SOURCES] + list(randoms[b])
        for alloc in allocs:
            q = quant.QuantizedModel(net, alloc, None)
            levels.append(q.excess_levels())
            size.append(q.size_bits() - b * total)  # Σ P_i k_i − b Σ P_i
    return max(levels), max(size)


def mixed_settings(P) -> dict[int, int]:
    """{average weight bits b: activation bits a} of each mixed-precision model MPb/Aa, in order."""
    return dict(zip(P.mp_budgets, P.mp_act_bits))


def mixed_name(b: int, a: int) -> str:
    """The paper's name of a mixed-precision model: ``MP4/A8`` (4 bits a weight on average)."""
    return f"MP{b}/A{a}"


def mixed_precision(
    run: Network, batches, dp: Allocations, randoms, P
) -> tuple[dict, dict]:
    """Per-image correctness per (budget, kind): the DP's allocation from each source's Ω and
    calibration (the paper's ablation), uniform precision of the same size, and the mean of the random
    allocations (``randoms``, whose own correctness comes second); activations at the budget's bits."""
    correct, each_random = {}, {}
    for b, a in mixed_settings(P).items():
        for source in SOURCES:
            correct[(b, source)] = run.correct(
                dp.chosen[(b, source)], a, batches[source]
            )
        correct[(b, "uniform")] = run.correct(b, a, batches["distilled"])
        each_random[b] = [run.correct(r, a, batches["distilled"]) for r in randoms[b]]
        correct[(b, "random")] = np.mean(each_random[b], axis=0)
    return correct, each_random


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """A calibration or mixed-precision table as the page shows it: accuracies in %, its
    difference columns (named "… − …") in pp."""
    return notebook.percent_table(table, points=[c for c in table if " − " in c])


def mixed_table(correct: Mapping, settings: Mapping[int, int]) -> pd.DataFrame:
    """Accuracy of each kind per budget (with its interval over test images), and the DP's paired
    differences with uniform precision of the same size (W{budget}) and with random allocations;
    ``settings`` is {budget: activation bits} (``mixed_settings``)."""
    rows = []
    for b, a in settings.items():
        kinds = [*SOURCES, "uniform", "random"]
        acc = {k: accuracy(correct[(b, k)][None]) for k in kinds}  # [1, N] correctness
        mp = correct[(b, "distilled")]
        vs = {k: paired_difference(mp, correct[(b, k)]) for k in ("uniform", "random")}
        rows.append(
            {
                "setting": mixed_name(b, a),
                "MP, distilled": acc["distilled"],
                "MP, Gaussian": acc["Gaussian"],
                "MP, real": acc["real"],
                "uniform, same size": acc["uniform"],
                "random (mean)": acc["random"],
                "MP − uniform": vs["uniform"],
                "MP − random": vs["random"],
            }
        )
    return pd.DataFrame(rows).set_index("setting")


@dataclass
class Timing:
    """The ZeroQ pipeline's wall time against one measured training epoch, on this machine."""

    stages: dict[str, float]  # seconds of distil, sensitivities, Pareto DP, calibrate
    step_seconds: (
        np.ndarray
    )  # [steps]: timed SGD steps of the same network and batch size
    pipeline: Estimate  # seconds
    epoch: Estimate  # seconds of one pass over the training set
    fraction: Estimate  # pipeline / epoch
    epoch_images: int
    batch_size: int
    note: str = ""  # the network's own training time, where it was trained in this run

    def __str__(self) -> str:
        images_per_second = self.batch_size / self.step_seconds.mean()
        text = (
            f"training: {images_per_second:.0f} images/s over {len(self.step_seconds)} "
            f"timed steps → one epoch of {self.epoch_images:,} images = {self.epoch:.0f} s; "
            f"ZeroQ pipeline {self.pipeline:.1f} s = {self.fraction:.3f} of an epoch"
        )
        return f"{text}\n{self.note}" if self.note else text

    def table(self) -> pd.DataFrame:
        return pd.Series(self.seconds(), name="seconds").round(2).to_frame()

    def seconds(self) -> dict[str, float]:
        """Each stage, the pipeline and one epoch (point values)."""
        return {
            **self.stages,
            "ZeroQ pipeline": self.pipeline.mean,
            "one training epoch": self.epoch.mean,
        }


def timing(
    run: Network, P, distilled, batches, dp: Allocations, sens_seconds
) -> Timing:
    """Time the pipeline as one would run it without data — distil one batch, its sensitivities, the
    DP, calibrating the first budget's mixed-precision network — and ``P.timing_steps`` training
    steps. The intervals resample the distillation's iteration times and the timed steps (the
    jitter within this run)."""
    step_seconds = run.training_step_seconds(P.batch_size, P.timing_steps)
    tick = time.perf_counter()
    b, a = P.mp_budgets[0], P.mp_act_bits[0]  # the first budget and its activation bits
    chosen = dp.chosen[(b, "distilled")]
    quant.quantize_model(run.net, chosen, a, batches["distilled"][0])
    stages = {
        "distil": distilled.seconds,
        "sensitivities": sens_seconds["distilled"],
        "Pareto DP": dp.seconds["distilled"],
        "calibrate": time.perf_counter() - tick,
    }
    other = sum(stages.values()) - sum(
        distilled.iteration_seconds
    )  # all but the iterations
    pipeline, epoch, fraction = quant.pipeline_timing(
        distilled.iteration_seconds,
        other,
        step_seconds,
        run.epoch_images / P.batch_size,
    )
    note = ""
    if not run.imagenet and run.trained:
        note = (
            f"(the network's own training in this run: {run.train_seconds:.0f} s for "
            f"{units.count(P.train_epochs, 'epoch')} of {len(run.y_pool):,} images, augmentation and "
            "evaluations included)"
        )
    elif run.origin:
        note = (
            f"(the model of record's training, once: {run.train_seconds / 60:.0f} min)"
        )
    return Timing(
        stages,
        step_seconds,
        pipeline,
        epoch,
        fraction,
        run.epoch_images,
        P.batch_size,
        note,
    )


def numbers(run: Network, summary, correct, mp_correct, agreement, timing: Timing):
    """What the results file records besides the criteria: accuracies, losses, times."""
    return {
        "model": run.name,
        "model_of_record": run.origin or None,
        "test_images": len(run.y_test),
        "real_calibration_images": run.real_from,
        "bn_loss_before": summary.before,
        "bn_loss_after": summary.after,
        **{f"accuracy {s} {src}": v.mean() for (s, src), v in correct.items()},
        "rank agreement Gaussian vs real": agreement["Gaussian"].mean,
        **{f"accuracy MP{b} {k}": v.mean() for (b, k), v in mp_correct.items()},
        "epoch_seconds": timing.epoch.mean,
        "train_seconds": None if run.imagenet else run.train_seconds,
        "model_trained_in_this_run": bool(run.trained),
    }


def uniform_reach_text(bits: list[int], budgets: list[int]) -> str:
    """Whether the DP may pick each budget's uniform allocation (every layer at ``b`` bits), as the
    page says it: where it may, mixed precision departs from uniform only where the summed
    sensitivity is lower; where ``b`` is not among ``bits`` (budget 3 with the paper's {2, 4, 8}),
    the DP must mix wider and narrower layers."""
    within = [b for b in budgets if b in bits]
    outside = [b for b in budgets if b not in bits]
    may = "the DP can only move away from uniform precision where the summed sensitivity is lower"
    if not outside:
        return f"each budget's uniform width is among them, so {may}"
    must = "the DP must mix wider and narrower layers"
    if not within:
        return f"no budget's uniform width is among them: {must}"
    return (
        f"at {', '.join(map(str, within))} bits the uniform width is among them, so there {may}; "
        f"at {', '.join(map(str, outside))} bits it is not, and {must}"
    )


def prose(
    P, run: Network, fp_acc, summary, w8a8_diff, correct, mp_correct, agreement, timing
):
    """The numbers the notebook's "Reading the verdict" quotes, as glue texts."""
    low = P.low_setting
    acc = {k: f"{v.mean():.1%}" for k, v in {**correct, **mp_correct}.items()}
    pipeline, epoch = timing.pipeline.mean, timing.epoch.mean
    settings = mixed_settings(P)
    return {
        "model_desc": run.name,
        "fp_acc": f"{fp_acc.mean:.1%}",
        "bn_before": summary.before,
        "bn_after": summary.after,
        "low_setting": low,
        **{f"acc_low_{s}": acc[(low, s)] for s in SOURCES},
        "w8a8_diff": f"{w8a8_diff.scaled(100):+.2f} pp",
        "w8a8_margin": f"{100 * P.w8a8_margin:g} pp",
        "real_margin": f"{100 * P.real_margin:g} pp",
        **{f"rank_{s}": f"{e.mean:.2f}" for s, e in agreement.items()},
        "mp_bits": ", ".join(str(b) for b in P.mp_bits),
        "mp_uniform": uniform_reach_text(P.mp_bits, P.mp_budgets),
        "mp_settings": ", ".join(mixed_name(b, a) for b, a in settings.items()),
        "mp_results": "; ".join(  # every budget, the one a preset leaves untested too
            f"{mixed_name(b, a)}, the DP's allocation, reaches {acc[(b, 'distilled')]}, uniform "
            f"W{b}A{a} {acc[(b, 'uniform')]}, random allocations {acc[(b, 'random')]}"
            for b, a in settings.items()
        ),
        "pipeline_s": f"{pipeline:.1f}",
        "epoch_s": f"{epoch:.0f}",
        "epoch_pct": f"{100 * pipeline / epoch:.1f}%",
    }
