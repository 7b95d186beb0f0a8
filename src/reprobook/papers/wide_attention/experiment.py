"""The aspect-ratio study as three sweeps over a notebook's parameters ``P``, and their tables.

* :func:`size_table` — the analytic parameter count of every (task, attention type, shape), checked
  against the module it describes;
* :func:`train_all` — train every (task, attention type, shape, seed) and keep, per run, which test
  examples it classifies correctly (:class:`Trained`: paired accuracy differences, accuracy table);
* :func:`time_latency` — the Text-task models timed on the CPU (and the GPU, where there is one) in
  interleaved rounds (:class:`Timed`: deep/wide ratios, latency table).

The *wide* model is the shallowest depth in ``P.layers``, the *deep* one the deepest; a shape reads
``layers×heads per layer`` (``1×8``, ``4×2``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ... import latency, plots, stats, train, units
from ...stats import Estimate
from . import attention, sequences
from .sequences import SequenceData

PARTS = ("attention", "ffn", "norms", "embedding", "head")


def shapes(P) -> dict[int, str]:
    """``{layers: "layers×heads"}`` for every depth of ``P.layers`` at ``P.total_heads`` heads in all
    (raises ``ValueError`` when a depth does not divide the heads)."""
    return {n: f"{n}×{h}" for n, h in attention.aspect_ratios(P.total_heads, P.layers)}


def wide_and_deep(P) -> tuple[int, int]:
    return min(P.layers), max(P.layers)


def configs(P, task: str, max_len: int | None = None):
    """``(attention type, layers, EncoderConfig)`` of every model trained (or timed) on ``task``."""
    vocab, longest, classes = sequences.task_dims(P, task)
    for kind in P.attention_types:
        for n_layers in P.layers:
            yield (
                kind,
                n_layers,
                attention.task_config(
                    P, task, kind, n_layers, vocab, max_len or longest, classes
                ),
            )


def by_shape(table: pd.DataFrame, values: str) -> pd.DataFrame:
    """``table[values]`` as a grid: one row per (task, attention type), one column per shape."""
    return table.pivot_table(
        index=["task", "attention"],
        columns="shape",
        values=values,
        aggfunc="first",
        sort=False,
    )


def plot_by_depth(ax, table: pd.DataFrame, P, column: str, scale: float = 1.0):
    """``table[column]`` (Estimates) against depth, one line per attention type, on a log₂ axis
    labelled with the shapes."""
    shape = shapes(P)
    for kind, marker in zip(P.attention_types, "osd^v"):
        rows = table[table.attention == kind].sort_values("layers")
        kw = dict(fmt=f"-{marker}", capsize=2, label=kind)
        plots.estimates(ax, rows.layers, rows[column], scale, **kw)
    ax.set_xscale("log", base=2)
    ax.set_xticks(P.layers, [shape[n] for n in P.layers])
    ax.set_xlabel("layers × heads per layer")


# ---------------------------------------------------------------------------------------------
# Sizes


def size_table(P, tasks) -> pd.DataFrame:
    """One row per (task, attention type, shape): the closed-form parameter count ``parameters``, the
    module's ``counted`` parameters (checked equal by :func:`parameter_mismatch`) and the closed form's
    parts (``"<part> params"``)."""
    shape, rows = shapes(P), []
    for name in tasks:
        for kind, n_layers, cfg in configs(P, name):
            parts = attention.parameter_breakdown(cfg)
            rows.append(
                dict(
                    task=name,
                    attention=kind,
                    layers=n_layers,
                    shape=shape[n_layers],
                    parameters=attention.count_parameters(cfg),
                    counted=sum(p.numel() for p in attention.build(cfg).parameters()),
                    **{f"{part} params": v for part, v in parts.items()},
                )
            )
    return pd.DataFrame(rows)


def parameter_mismatch(sizes: pd.DataFrame) -> int:
    """The check: ``max |analytic − counted|`` parameters over every row of :func:`size_table` (0 when
    the closed form is the module)."""
    return int((sizes.parameters - sizes.counted).abs().max())


def size_ratios(P, sizes: pd.DataFrame) -> pd.Series:
    """Deep / wide parameter count per (task, attention type)."""
    wide, deep = wide_and_deep(P)
    count = sizes.set_index(["task", "attention", "layers"]).parameters
    pairs = sizes[["task", "attention"]].drop_duplicates().itertuples(index=False)
    return pd.Series({(t, k): count[t, k, deep] / count[t, k, wide] for t, k in pairs})


# ---------------------------------------------------------------------------------------------
# Accuracy


@dataclass
class Trained:
    """Every training run: ``runs`` (one row each), ``correct[task, kind, layers, seed]`` (bool per
    test example) and the seed-0 wide model per (task, kind), on the CPU, for its attention maps."""

    P: object
    runs: pd.DataFrame
    correct: dict[tuple[str, str, int, int], np.ndarray]
    wide_models: dict[tuple[str, str], nn.Module]

    def stacked(self, task: str, kind: str, layers: int) -> np.ndarray:
        """Correctness as 0/1 floats [seeds, test examples]."""
        seeds = range(self.P.seeds)
        return np.stack([self.correct[task, kind, layers, s] for s in seeds]).astype(
            float
        )

    def wide_minus_deep(
        self, kinds: list[str], tasks: list[str] | None = None
    ) -> Estimate:
        """Wide − deep test accuracy, mean over ``tasks`` (default: every task that ran) and ``kinds``,
        with the two-level paired bootstrap interval (seeds and test examples,
        :func:`stats.paired_accuracy_difference`)."""
        wide, deep = wide_and_deep(self.P)
        tasks = tasks or list(dict.fromkeys(self.runs.task))
        a = [self.stacked(n, k, wide) for n in tasks for k in kinds]
        b = [self.stacked(n, k, deep) for n in tasks for k in kinds]
        return stats.paired_accuracy_difference(a, b)

    def parity(self) -> dict[str, Estimate]:
        """The accuracy-parity differences the claim tests: per task that ran (mean over attention
        types), ``{task: wide − deep}``, then per attention type (mean over the tasks),
        ``{"<kind> attention": wide − deep}``."""
        kinds, tasks = self.P.attention_types, list(dict.fromkeys(self.runs.task))
        by_task = {t: self.wide_minus_deep(kinds, [t]) for t in tasks}
        return by_task | {f"{k} attention": self.wide_minus_deep([k]) for k in kinds}

    def accuracy(self, majority: dict[str, float]) -> pd.DataFrame:
        """One row per (task, attention type, shape): ``estimate`` (test accuracy with its interval),
        ``acc`` (its mean), ``accuracy`` (as text) and the task's ``majority``-class accuracy."""
        shape, rows = shapes(self.P), []
        for n in dict.fromkeys(self.runs.task):
            for k in self.P.attention_types:
                for layers in self.P.layers:
                    est = stats.accuracy(self.stacked(n, k, layers))
                    rows.append(
                        dict(
                            task=n,
                            attention=k,
                            layers=layers,
                            shape=shape[layers],
                            majority=majority[n],
                            estimate=est,
                            acc=est.mean,
                            accuracy=f"{est:.3f}",
                        )
                    )
        return pd.DataFrame(rows)


def train_all(P, tasks: dict[str, SequenceData]) -> Trained:
    """Train every (task, attention type, shape, seed) from scratch on ``P.train_threads`` CPU threads
    (same data, steps, batch size and optimizer; the seed fixes the init and the data order)."""
    shape, (wide, _) = shapes(P), wide_and_deep(P)
    rows, correct, wide_models = [], {}, {}
    with latency.pinned_threads(P.train_threads or None):
        for name, task in tasks.items():
            cfg_train = attention.train_config(P, name, len(task.x_train))
            for kind, n_layers, cfg in configs(P, name):
                for seed in range(P.seeds):
                    model = attention.build(cfg, seed)
                    desc = f"{name} {kind} {shape[n_layers]} seed {seed}"
                    history, ok = attention.fit_and_score(
                        model, task, cfg_train, seed=seed, desc=desc
                    )
                    correct[name, kind, n_layers, seed] = ok
                    rows.append(
                        dict(
                            task=name,
                            attention=kind,
                            layers=n_layers,
                            shape=shape[n_layers],
                            seed=seed,
                            test_acc=ok.mean(),
                            train_acc=history.train_acc.iloc[-1],
                            diverged=history.attrs["diverged"],
                            seconds=history.seconds.iloc[-1],
                        )
                    )
                    if n_layers == wide and seed == 0:
                        wide_models[name, kind] = model.cpu()
    return Trained(P, pd.DataFrame(rows), correct, wide_models)


@dataclass
class AttentionExample:
    """The attention maps of one trained wide model on one short test example."""

    task: str
    kind: str
    maps: torch.Tensor  # [heads, T, T'] of the single layer
    tokens: list[str] | None  # ListOps tokens, else None
    label: int
    prediction: int


def attention_example(
    P, tasks: dict[str, SequenceData], trained: Trained, length: int = 20
) -> AttentionExample:
    """The seed-0 wide model (ListOps and softmax where they ran) on the test example whose length is
    closest to ``length`` (short, easy to read)."""
    task = "listops" if "listops" in tasks else next(iter(tasks))
    kind = "softmax" if "softmax" in P.attention_types else P.attention_types[0]
    model, test = trained.wide_models[task, kind], tasks[task]
    lengths = test.lengths("test")
    pick = int(torch.argmin((lengths - min(int(lengths.max()), length)).abs()))
    x = test.x_test[pick : pick + 1, : int(lengths[pick])]  # [1, T], no padding
    maps = model.attention_maps(x)[0][0]  # layer 0, example 0: [heads, T, T']
    with torch.no_grad(), train.eval_mode(model):
        prediction = int(model(x).argmax(1))
    tokens = sequences.decode_listops(x[0]) if task == "listops" else None
    return AttentionExample(
        task, kind, maps, tokens, int(test.y_test[pick]), prediction
    )


# ---------------------------------------------------------------------------------------------
# Latency


@dataclass
class Timed:
    """The timed Text-task models: ``timings`` (one row per round, model, batch), their parameter
    counts, peak activation memory per (model, batch), and the GPU timings where there is a GPU."""

    P: object
    timings: pd.DataFrame
    parameters: dict[str, int]
    memory: dict[tuple[str, int], int]
    gpu: pd.DataFrame | None = None

    def ratios(self, gpu: bool = False) -> dict[int, Estimate]:
        """Deep / wide latency per batch size: per round, the geometric mean over attention types of
        the deep/wide time ratio; its median over rounds with a bootstrap interval (``latency.ratio``).
        Empty for ``gpu=True`` where no GPU was timed."""
        timings = self.gpu if gpu else self.timings
        if timings is None:
            return {}
        shape, (wide, deep) = shapes(self.P), wide_and_deep(self.P)
        pairs = [
            (f"{k} {shape[deep]}", f"{k} {shape[wide]}") for k in self.P.attention_types
        ]
        return {
            b: latency.ratio(timings, pairs, batch=b) for b in self.P.latency_batches
        }

    def table(self) -> pd.DataFrame:
        """Per (model, batch), by attention type, batch and depth: ``ms``, the median time with its
        interquartile range as an Estimate, the same as text, the rounds, parameters and peak MiB."""
        s = latency.summarise(self.timings).reset_index()
        s["attention"] = s.model.str.split().str[0]
        s["shape"] = s.model.str.split().str[1]
        s["layers"] = s["shape"].str.split("×").str[0].astype(int)
        s["ms"] = [
            Estimate(1e3 * m, 1e3 * lo, 1e3 * hi, n)
            for m, lo, hi, n in zip(s.median_s, s.q25_s, s.q75_s, s.rounds)
        ]
        s["median ms [IQR]"] = [f"{e:.2f}" for e in s.ms]
        s["parameters"] = s.model.map(self.parameters)
        s["peak MiB"] = [self.memory[m, b] / 2**20 for m, b in zip(s.model, s.batch)]
        # timed in a shuffled order; read by attention type, batch, then depth
        return s.sort_values(["attention", "batch", "layers"], ignore_index=True)


def time_latency(P) -> Timed:
    """Build every attention type × shape with the Text task's dimensions at ``P.latency_length``
    (seed 0: latency does not depend on the weights) and time them on random bytes at every
    ``P.latency_batches``, interleaved (``latency.measure``); then their peak memory."""
    shape = shapes(P)
    models, parameters = {}, {}
    for kind, n_layers, cfg in configs(P, "text", P.latency_length):
        models[f"{kind} {shape[n_layers]}"] = attention.build(cfg, 0)
        parameters[f"{kind} {shape[n_layers]}"] = attention.count_parameters(cfg)
    vocab = sequences.task_dims(P, "text")[0]
    inputs = {
        b: latency.random_tokens(b, P.latency_length, vocab) for b in P.latency_batches
    }
    timing = dict(rounds=P.latency_rounds, warmup=P.latency_warmup)
    timings = latency.measure(
        models, inputs, threads=P.latency_threads, device="cpu", **timing
    )
    memory = {
        (name, b): latency.peak_memory(model, inputs[b])
        for name, model in models.items()
        for b in P.latency_batches
    }
    gpu = None
    if (
        torch.cuda.is_available()
    ):  # reported, not a criterion: the paper's GPU number is 1.9x
        gpu = latency.measure(models, inputs, device="cuda", **timing)
    return Timed(P, timings, parameters, memory, gpu)


# ---------------------------------------------------------------------------------------------
# The results file


def numbers(
    tasks: dict[str, SequenceData],
    skipped: dict[str, str],
    accuracy: pd.DataFrame,
    sizes: pd.DataFrame,
    timed: Timed,
) -> dict:
    """What the results file records beyond the criteria: tasks, every configuration's accuracy,
    majority classes, parameter counts, latencies, peak memory, GPU ratios and torch's threads."""
    table = timed.table()
    key = lambda df: df.task + " " + df.attention + " " + df["shape"]
    return {
        "tasks_run": list(tasks),
        "tasks_skipped": skipped,
        "accuracy": dict(zip(key(accuracy), accuracy.acc.astype(float))),
        "majority accuracy": {n: t.majority_accuracy() for n, t in tasks.items()},
        "parameters": dict(zip(key(sizes), sizes.parameters.astype(int))),
        "latency_ms": {
            f"{m} batch {b}": 1e3 * s
            for m, b, s in zip(table.model, table.batch, table.median_s)
        },
        "peak_memory_MiB": {
            f"{m} batch {b}": v / 2**20 for (m, b), v in timed.memory.items()
        },
        "gpu latency ratio": {b: e.mean for b, e in timed.ratios(gpu=True).items()},
        "torch_threads": torch.get_num_threads(),
    }


def scale(P) -> dict[str, object]:
    """The run's scale as the verdict prose quotes it (glued from ``P``, so the page never goes
    stale): shapes, heads, margin, widths and steps per task, head dimension, threads, ListOps depth
    and length, image size, the larger latency batch."""
    wide, deep = wide_and_deep(P)
    shape = shapes(P)
    per_task = lambda key: "/".join(
        str(v) for v in dict.fromkeys(P[f"{t}_{key}"] for t in P.tasks)
    )
    return dict(
        wide_shape=shape[wide],
        deep_shape=shape[deep],
        heads=P.total_heads,
        margin=f"{100 * P.parity_margin:g}",
        width=per_task("d_model"),
        steps=per_task("steps"),
        d_head=P.d_head,
        train_threads=units.count(P.train_threads or "all", "CPU thread"),
        listops_depth=P.listops_max_depth,
        listops_max_length=P.listops_max_length,
        image_pixels=f"{P.image_size}×{P.image_size}",
        attention_count=len(P.attention_types),
        batch_small=min(P.latency_batches),
        batch_big=max(P.latency_batches),
        threads=units.count(P.latency_threads, "CPU thread"),
    )
