r"""The residual expansion (Dherin & Munn 2025), written beside the code that computes it.

A stack of residual blocks :math:`x_i = x_{i-1} + \lambda g_i(x_{i-1})`, :math:`i = 1..n`:

* linear blocks :math:`g_i(x) = A_i x` expand exactly into :math:`2^n` paths, one per subset of blocks,

  .. math:: \prod_{i=n}^{1} (I + \lambda A_i) = \sum_{k=0}^{n} \lambda^k \sum_{i_1 < \dots < i_k} A_{i_k} \cdots A_{i_1},

  with :math:`\binom{n}{k}` paths of order :math:`k`;
* nonlinear blocks expand as a Taylor series in :math:`\lambda`,

  .. math:: f(x) = x + \lambda \sum_i g_i(x) + \lambda^2 \sum_{i<j} Dg_j(x)[g_i(x)] + O(\lambda^3);

* with independent, norm-preserving random branches the squared signal grows like
  :math:`\mathbb{E}\|x_n\|^2 = (1 + \lambda^2)^n \|x_0\|^2`, and at worst (aligned branches) like
  :math:`(1 + \lambda)^{2n}`.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.func import jvp

from ... import models, stats, train, units
from ...stats import Estimate, mean_ci
from ...summary import DATASET_NAMES

# torch.func's jvp goes through a deprecated torch.jit.script internally; the warning is not ours to fix.
warnings.filterwarnings(
    "ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning
)


# ---------------------------------------------------------------------------------------------
# 1. Linear blocks: the exact subset expansion


def residual_product(mats: list[torch.Tensor], lam: float) -> torch.Tensor:
    """(I + λA_n) ··· (I + λA_1): the linear residual stack as one matrix."""
    out = torch.eye(mats[0].shape[0], dtype=mats[0].dtype)
    for a in mats:
        out = out + lam * a @ out
    return out


def subset_expansion(mats: list[torch.Tensor], lam: float) -> list[torch.Tensor]:
    """Sum over all 2^n subsets, grouped by order: entry ``k`` is λ^k Σ_{|S|=k} A_{s_k}···A_{s_1}.

    Each subset is one computation path; this enumerates every path explicitly (no recursion on the
    product), so ``sum(subset_expansion(...))`` equalling ``residual_product`` is the theorem's content.
    """
    n, eye = len(mats), torch.eye(mats[0].shape[0], dtype=mats[0].dtype)
    orders = []
    for k in range(n + 1):
        total = torch.zeros_like(eye)
        for subset in itertools.combinations(range(n), k):
            path = eye
            for i in subset:  # increasing i: the earliest block acts first
                path = mats[i] @ path
            total = total + path
        orders.append(lam**k * total)
    return orders


def path_counts(n: int) -> list[int]:
    """Number of paths of each order k = 0..n: the binomial coefficients C(n, k), summing to 2^n."""
    return [math.comb(n, k) for k in range(n + 1)]


def expansion_check(
    blocks: int, dim: int, seeds: Sequence[int]
) -> tuple[list[float], pd.DataFrame]:
    """For random ``dim``×``dim`` linear blocks and λ = 1, 1/√n, 1/n: the relative errors
    ‖Σ paths − Π(I+λA)‖/‖Π(I+λA)‖ (one per seed and λ), and the mean norm of each order's sum of
    paths over the seeds (one row per order k, one column per λ)."""
    scales = {"1": 1.0, "1/√n": 1 / math.sqrt(blocks), "1/n": 1 / blocks}
    errors, norms = [], []
    for seed in seeds:
        g = torch.Generator().manual_seed(seed)
        mats = [
            torch.randn(dim, dim, generator=g, dtype=torch.float64) / math.sqrt(dim)
            for _ in range(blocks)
        ]
        for name, lam in scales.items():
            orders = subset_expansion(mats, lam)
            exact = residual_product(mats, lam)
            errors.append(((sum(orders) - exact).norm() / exact.norm()).item())
            norms += [
                dict(scale=f"λ = {name}", order=k, norm=t.norm().item())
                for k, t in enumerate(orders)
            ]
    table = pd.DataFrame(norms).groupby(["order", "scale"])["norm"].mean()
    table = table.unstack("scale")[[f"λ = {name}" for name in scales]]
    return errors, table.rename_axis(columns=None)


# ---------------------------------------------------------------------------------------------
# 2. Nonlinear blocks: truncated expansions


def tanh_branches(
    n: int,
    width: int,
    hidden: int,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
) -> list[nn.Module]:
    """Smooth random branches g(x) = W2 tanh(W1 x + b1), He/LeCun-scaled, for Taylor-expansion checks."""
    branches = []
    for _ in range(n):
        first, last = (
            nn.Linear(width, hidden, dtype=dtype),
            nn.Linear(hidden, width, bias=False, dtype=dtype),
        )
        with torch.no_grad():
            first.weight.copy_(
                torch.randn(hidden, width, generator=generator, dtype=dtype)
                / math.sqrt(width)
            )
            first.bias.copy_(
                0.1 * torch.randn(hidden, generator=generator, dtype=dtype)
            )
            last.weight.copy_(
                torch.randn(width, hidden, generator=generator, dtype=dtype)
                / math.sqrt(hidden)
            )
        branches.append(nn.Sequential(first, nn.Tanh(), last))
    return branches


def run_stack(branches: list[nn.Module], x: torch.Tensor, lam: float) -> torch.Tensor:
    for g in branches:
        x = x + lam * g(x)
    return x


def truncated_expansion(
    branches: list[nn.Module], x: torch.Tensor, lam: float, order: int
) -> torch.Tensor:
    """The expansion of the stack around ``x`` to first (``order=1``) or second (``order=2``) order in λ.

    The second-order term Σ_{i<j} Dg_j(x)[g_i(x)] is computed with one Jacobian-vector product per
    block j, in the direction of the prefix sum Σ_{i<j} g_i(x).
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    with torch.no_grad():
        outs = [g(x) for g in branches]
    result = x + lam * sum(outs)
    if order == 2:
        prefix = torch.zeros_like(x)
        second = torch.zeros_like(x)
        for g, g_x in zip(branches, outs):
            second = second + jvp(g, (x,), (prefix,))[1]
            prefix = prefix + g_x
        result = result + lam**2 * second
    return result


def truncation_error(
    branches: list[nn.Module], x: torch.Tensor, lam: float, order: int
) -> float:
    """‖f(x) − T_order(x)‖ / ‖x‖ averaged over the batch; theory: O(λ^(order+1))."""
    with torch.no_grad():
        exact = run_stack(branches, x, lam)
    approx = truncated_expansion(branches, x, lam, order)
    return ((exact - approx).norm(dim=-1) / x.norm(dim=-1)).mean().item()


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log y against log x: the exponent p in y ∝ x^p."""
    return stats.slope(np.log(xs), np.log(ys))


def truncation_sweep(
    blocks: int, width: int, lambdas: Sequence[float], seeds: Sequence[int]
) -> pd.DataFrame:
    """The first- and second-order truncation errors of ``blocks`` random tanh blocks of ``width``,
    one row per (seed, λ, order), on 32 random inputs per seed."""
    rows = []
    for seed in seeds:
        g = torch.Generator().manual_seed(seed)
        branches = tanh_branches(blocks, width, width, g)
        x = torch.randn(32, width, generator=g, dtype=torch.float64)  # [32, width]
        for lam, order in itertools.product(lambdas, (1, 2)):
            error = truncation_error(branches, x, lam, order)
            rows.append(dict(seed=seed, lam=lam, order=order, error=error))
    return pd.DataFrame(rows)


def truncation_slopes(sweep: pd.DataFrame) -> dict[int, list[float]]:
    """Per seed, the log-log slope of the error against λ: ``{order: [slope per seed]}``."""
    return {
        order: [
            loglog_slope(s["lam"].tolist(), s["error"].tolist())
            for _, s in sweep[sweep.order == order].groupby("seed")
        ]
        for order in (1, 2)
    }


def truncation_table(sweep: pd.DataFrame) -> pd.DataFrame:
    """Mean error over seeds: one row per λ (ascending), one column per order."""
    table = sweep.groupby(["order", "lam"])["error"].mean().unstack(0)
    return table.rename(columns={1: "first-order error", 2: "second-order error"})


# ---------------------------------------------------------------------------------------------
# 3. Forward signal growth


def log_expected_growth(depth: int, lam: float) -> float:
    """log E‖x_L‖² / ‖x_0‖² = L·log(1 + λ²), for independent norm-preserving branches (logs: 2^1024 overflows)."""
    return depth * math.log1p(lam**2)


def log_aligned_growth(depth: int, lam: float) -> float:
    """Worst case, every branch output aligned with its input: log ‖x_L‖² / ‖x_0‖² = 2L·log(1 + λ)."""
    return 2 * depth * math.log1p(lam)


def log_signal_growth(
    depth: int,
    lam: float,
    width: int = 256,
    samples: int = 64,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    aligned: bool = False,
) -> float:
    """log(E‖x_L‖² / E‖x_0‖²) for one random draw of ``depth`` He-initialised two-layer ReLU branches.

    The branches have no biases, so each block is positively homogeneous: x ↦ c·x maps x_i ↦ c·x_i.
    Renormalising after every block and adding up the log-norms is therefore exact, and no depth
    (even 2^1024 growth) overflows. ``aligned``: each branch keeps its random gain ‖f(x)‖/‖x‖ but
    points along its input, the worst case in which every path adds up in phase: growth
    ≈ (1+λ)^{2L} instead of (1+λ²)^L.
    """
    torch.manual_seed(seed)
    x = torch.randn(samples, width, dtype=dtype)
    x = x / x.norm(dim=1, keepdim=True)
    log_ratio = torch.zeros(samples, dtype=dtype)  # log ‖x_i‖² / ‖x_0‖² per sample
    with torch.no_grad():
        for _ in range(depth):
            g = models.MLPBranch(width, width, norm=None).to(dtype)  # zero biases
            branch = lam * g(x)
            if aligned:  # ‖branch‖ along x: x_{l+1} = (1 + λ·gain) x_l
                branch = (
                    x * branch.norm(dim=1, keepdim=True) / x.norm(dim=1, keepdim=True)
                )
            x = x + branch
            norm = x.norm(dim=1, keepdim=True)
            log_ratio += 2 * norm.squeeze(1).log()
            x = x / norm
    return float(torch.logsumexp(log_ratio, 0) - math.log(samples))  # log mean


def growth_sweep(
    rules: Sequence[str],
    depths: Sequence[int],
    width: int,
    samples: int,
    seeds: Sequence[int],
) -> pd.DataFrame:
    """Measured and predicted log growth, one row per (rule, depth, seed); λ from the depth rule."""
    rows = []
    for rule, depth, seed in itertools.product(rules, depths, seeds):
        lam = models.resolve_branch_scale(rule, depth)
        rows.append(
            dict(
                rule=rule,
                depth=depth,
                seed=seed,
                lam=lam,
                log_growth=log_signal_growth(depth, lam, width, samples, seed),
                log_predicted=log_expected_growth(depth, lam),
                log_aligned=log_signal_growth(
                    depth, lam, width, samples, seed, aligned=True
                ),
                log_aligned_predicted=log_aligned_growth(depth, lam),
            )
        )
    return pd.DataFrame(rows)


def growth_ratio(
    growth: pd.DataFrame, rule: str = "1", branches: str = "random"
) -> Estimate:
    """Measured over predicted log growth at the deepest depth, over seeds (Student t), for
    ``"random"`` branches against (1+λ²)^L or ``"aligned"`` ones against (1+λ)^{2L}."""
    deepest = growth[(growth.rule == rule) & (growth.depth == growth.depth.max())]
    if branches == "aligned":
        return mean_ci(deepest.log_aligned / deepest.log_aligned_predicted)
    return mean_ci(deepest.log_growth / deepest.log_predicted)


def largest_growth(
    growth: pd.DataFrame, rule: str, branches: str = "random"
) -> Estimate:
    """Per seed the largest E‖x_L‖²/‖x_0‖² over the depths, then over seeds (Student t), for
    ``"random"`` or ``"aligned"`` branches."""
    column = "log_aligned" if branches == "aligned" else "log_growth"
    return mean_ci(np.exp(growth[growth.rule == rule].groupby("seed")[column].max()))


def growth_table(growth: pd.DataFrame) -> pd.DataFrame:
    """log10 of the measured and predicted growth, mean over seeds, by (depth, rule)."""
    cols = ["log_growth", "log_predicted", "log_aligned", "log_aligned_predicted"]
    table = growth.groupby(["depth", "rule"])[cols].mean().div(math.log(10))
    table.columns = [
        "log10 random",
        "log10 (1+λ²)^L",
        "log10 aligned",
        "log10 (1+λ)^2L",
    ]
    return table


# ---------------------------------------------------------------------------------------------
# 4. Geometric complexity (Dherin et al. 2022): mean squared Frobenius norm of the input Jacobian


def geometric_complexity(model: nn.Module, x: torch.Tensor) -> float:
    """GC = (1/N) Σ_x ‖∂f(x)/∂x‖_F², with ``f`` the logits, one backward pass per output.

    The model is evaluated in eval mode so that each example's output depends on that example only.
    """
    with train.eval_mode(model):
        x = x.detach().clone().requires_grad_(True)
        logits = model(x)  # [N, classes]
        total = 0.0
        for c in range(logits.shape[1]):
            (grad,) = torch.autograd.grad(
                logits[:, c].sum(), x, retain_graph=c + 1 < logits.shape[1]
            )  # ∂f_c/∂x, [N, *input]
            total += grad.pow(2).sum().item()
    return total / len(x)


def complexity_inputs(data, examples: int) -> torch.Tensor:
    """The first ``examples`` test inputs of ``data`` as the model sees them (on the CPU)."""
    return train.model_inputs(data, torch.device("cpu"))(data.x_test[:examples])


def trained_complexity(runs: pd.DataFrame, x: torch.Tensor) -> pd.DataFrame:
    """GC of every trained net of :func:`trainability_runs` that did not diverge, with its λ."""
    kept = runs[~runs.diverged]
    return pd.DataFrame(
        [
            dict(
                blocks=r.blocks,
                config=r.config,
                rule=r.rule,
                seed=r.seed,
                lam=models.resolve_branch_scale(r.rule, r.blocks),
                gc=geometric_complexity(r.net, x),
            )
            for r in kept.itertuples()
        ],
        columns=["blocks", "config", "rule", "seed", "lam", "gc"],
    )


def init_complexity(
    build: Callable[..., nn.Module],
    blocks: int,
    lambdas: Sequence[float],
    seeds: Sequence[int],
    x: torch.Tensor,
) -> pd.DataFrame:
    """GC at initialization of ``build(blocks, λ, None)`` (no normalization), per (λ, seed)."""
    rows = []
    for lam, seed in itertools.product(lambdas, seeds):
        torch.manual_seed(seed)
        gc = geometric_complexity(build(blocks, float(lam), None), x)
        rows.append(dict(lam=lam, seed=seed, gc=gc))
    return pd.DataFrame(rows)


def gc_log_ratio(gc: pd.DataFrame, blocks: int) -> Estimate:
    """log GC(1/L) − log GC(1/√L), paired over seeds, for the trained nets of ``blocks`` blocks;
    NaN when every run of one of the two scales diverged (no trained function to measure)."""
    pair = gc[gc.blocks == blocks].pivot_table(
        index="seed", columns="rule", values="gc"
    )
    if {"1/L", "1/sqrt(L)"} <= set(pair.columns) and len(pair.dropna()):
        return mean_ci(np.log(pair["1/L"] / pair["1/sqrt(L)"]).dropna())
    return Estimate.point(float("nan"))


# ---------------------------------------------------------------------------------------------
# 5. Trainability without normalization, and deep against parallel

RULES = ["1", "1/sqrt(L)", "1/L"]  # the branch scale λ as a rule in the depth L
CONFIGS = [(rule, None) for rule in RULES] + [("1", "batch")]  # (rule, norm)


def label(rule: str, norm: str | None) -> str:
    """``"λ=1/L, no norm"``, ``"λ=1 + BatchNorm"``: a configuration's name in tables and criteria."""
    return f"λ={rule}" + (" + BatchNorm" if norm else ", no norm")


def no_block_net(
    kind: str, input_shape: tuple[int, ...], width: int, num_classes: int = 10
) -> nn.Module:
    """The shallow baseline: the same embedding and classifier of ``width`` with no residual block
    between them (an MLP with one hidden layer; a convolution, pooling and a linear layer). If a
    deep net with a small λ is no better, its depth did nothing."""
    if kind == "mlp":
        return models.ResidualMLP(
            math.prod(input_shape), num_classes, width, blocks=0, branch_scale=1.0
        )
    return nn.Sequential(
        nn.Conv2d(input_shape[0], width, 3, 1, 1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, num_classes),
    )


NO_BLOCKS = "no blocks"  # the baseline's configuration name


def no_block_runs(
    kind: str, input_shape: tuple[int, ...], width: int, data, cfg, seeds
) -> pd.DataFrame:
    """The shallow baseline trained like the deep nets (same data, budget, seeds): rows as
    :func:`trainability_runs`, at ``blocks`` = 0."""
    return trainability_runs(
        lambda _b, _rule, _norm: no_block_net(kind, input_shape, width),
        data,
        cfg,
        [0],
        seeds,
        configs=[("1", None)],
        name=NO_BLOCKS,
    )


def paired_accuracy(
    runs: pd.DataFrame, a: tuple[int, str], b: tuple[int, str]
) -> Estimate:
    """Test accuracy of configuration ``a`` minus ``b`` (each ``(blocks, config)``), paired within
    a seed (same data order), Student t over the seeds."""

    def acc(blocks: int, config: str) -> pd.Series:
        sub = runs[(runs.blocks == blocks) & (runs.config == config)]
        return sub.set_index("seed").test_acc

    return mean_ci(acc(*a) - acc(*b), bounds=(-1, 1))  # a difference of accuracies


def net_factory(
    kind: str, input_shape: tuple[int, ...], width: int
) -> Callable[..., nn.Module]:
    """``build(blocks, scale, norm)``: the trainability experiment's residual classifier
    (:func:`~reprobook.models.residual_classifier`), ``scale`` a number or a depth rule."""
    return lambda blocks, scale, norm=None: models.residual_classifier(
        kind, input_shape, blocks, width, scale, norm
    )


def trainability_runs(
    build: Callable[[int, str, str | None], nn.Module],
    data,
    cfg: train.TrainConfig,
    blocks: Sequence[int],
    seeds: Sequence[int],
    configs: Sequence[tuple[str, str | None]] = CONFIGS,
    name: str | None = None,
) -> pd.DataFrame:
    """Train ``build(blocks, rule, norm)`` for every depth, configuration of ``configs`` and seed
    (same data order per seed); one row per run with its final test accuracy and loss, whether it
    diverged, and the trained net (column ``net``). ``name`` replaces the configurations' labels."""
    runs = []
    for b, (rule, norm), seed in itertools.product(blocks, configs, seeds):
        torch.manual_seed(seed)
        net = build(b, rule, norm)
        config = name or label(rule, norm)
        desc = f"L={b} {config} seed {seed}"
        history = train.fit(net, data, cfg, seed=seed, desc=desc)
        final = history.iloc[-1]
        runs.append(
            dict(
                blocks=b,
                config=config,
                rule=rule,
                norm=norm or "none",
                seed=seed,
                test_acc=final.test_acc,
                test_loss=final.test_loss,
                diverged=history.attrs["diverged"],
                seconds=final.seconds,
                net=net,
            )
        )
    return pd.DataFrame(runs)


def accuracy_by_config(runs: pd.DataFrame, blocks: int) -> dict[str, Estimate]:
    """Mean test accuracy over seeds (Student t, interval inside [0, 1]) per configuration, at
    ``blocks`` blocks."""
    at_depth = runs[runs.blocks == blocks]
    return {
        c: mean_ci(g.test_acc, bounds=(0, 1)) for c, g in at_depth.groupby("config")
    }


def trains_by_config(
    runs: pd.DataFrame, blocks: int, bar: float
) -> dict[str, Estimate]:
    """Per configuration at ``blocks`` blocks, the share of seeds whose test accuracy reaches ``bar``
    with its exact (Clopper–Pearson) interval: the outcome is bimodal (a seed trains or diverges).
    In the order of the runs (:data:`CONFIGS` for :func:`trainability_runs`)."""
    at_depth = runs[runs.blocks == blocks]
    return {
        c: stats.k_of_n(g.test_acc >= bar)
        for c, g in at_depth.groupby("config", sort=False)
    }


# what each of train_model's choices trains, as the page says it
TRAINED_MODELS = {"mlp": "residual MLPs", "resnet": "CIFAR ResNets"}


def trained_text(P) -> str:
    """What the trainability experiment trains, as the page says it: "residual MLPs on MNIST"."""
    return f"{TRAINED_MODELS[P.train_model]} on {DATASET_NAMES[P.train_dataset]}"


def seeds_text(share: Estimate) -> str:
    """A k-of-n :class:`~reprobook.stats.Estimate` as prose: ``"2 of 3 seeds [0.09, 0.99]"``."""
    k = round(share.mean * share.n)
    return f"{k} of {share.n} seeds [{share.low:.2f}, {share.high:.2f}]"


def trainability_table(runs: pd.DataFrame, bar: float) -> pd.DataFrame:
    """Per depth and configuration: the test accuracy (an :class:`~reprobook.stats.Estimate` over
    seeds, inside [0, 1]), how many seeds reach ``bar`` (k of n, with the 95% Clopper–Pearson
    interval of the share), diverged runs, mean seconds."""
    groups = runs.groupby(["blocks", "config"], sort=False)
    table = groups.agg(diverged=("diverged", "sum"), seconds=("seconds", "mean"))
    return table.assign(
        test_acc=groups.test_acc.agg(lambda a: stats.mean_ci(a, bounds=(0, 1))),
        trains=groups.test_acc.agg(lambda a: seeds_text(stats.k_of_n(a >= bar))),
        seconds=table.seconds.round(1),
    )[["test_acc", "trains", "diverged", "seconds"]]


def parallel_grid(
    datasets: dict[str, object],
    blocks: Sequence[int],
    filters: Sequence[int],
    kernels: Sequence[int],
    seeds: int,
    cfg: train.TrainConfig,
) -> pd.DataFrame:
    """Each conv net of the grid and its parallel twin, identical weights at init, trained alike:
    one row per (dataset, blocks, filters, kernel, seed, mode) with the final losses and the
    parameter count (the twins' counts are compared by :func:`parameter_mismatch`)."""
    grid = []
    for dataset, d in datasets.items():
        cells = itertools.product(blocks, filters, kernels, range(seeds))
        for b, f, k, seed in cells:
            torch.manual_seed(seed)
            net = dict(num_classes=10, filters=f, kernel=k, blocks=b)
            deep = models.ResidualConvNet(d.shape[0], **net)
            twin = models.ResidualConvNet(d.shape[0], **net, mode="parallel")
            twin.load_state_dict(deep.state_dict())
            for mode, m in (("sequential", deep), ("parallel", twin)):
                train.fit(
                    m, d, cfg, seed=seed, desc=f"{dataset} {mode} L={b} f={f} k={k}"
                )
                grid.append(
                    dict(
                        dataset=dataset,
                        blocks=b,
                        filters=f,
                        kernel=k,
                        seed=seed,
                        mode=mode,
                        params=models.count_parameters(m),
                        **train.final_losses(m, d),
                    )
                )
    return pd.DataFrame(grid)


def paired_grid(grid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The grid paired by cell and seed (columns ``(metric, mode)``), and the differences
    parallel − sequential of the training and validation loss, absolute and relative to sequential."""
    cell = ["dataset", "blocks", "filters", "kernel", "seed"]
    metrics = ["train_loss", "test_loss", "test_acc"]
    paired = grid.pivot_table(index=cell, columns="mode", values=metrics)
    d_train = paired["train_loss"]["parallel"] - paired["train_loss"]["sequential"]
    d_val = paired["test_loss"]["parallel"] - paired["test_loss"]["sequential"]
    diffs = pd.DataFrame(
        {
            "train": d_train,  # train_par − train_seq
            "val": d_val,  # val_par − val_seq
            "relative": d_val
            / paired["test_loss"]["sequential"],  # (val_par − val_seq)/val_seq
        }
    )
    return paired, diffs


def parameter_mismatch(grid: pd.DataFrame) -> int:
    """Largest |parameters of the parallel twin − parameters of its deep net| over the grid: 0 when
    the truncation keeps every parameter (it only rewires the branches)."""
    cell = ["dataset", "blocks", "filters", "kernel", "seed"]
    counts = grid.pivot_table(index=cell, columns="mode", values="params")
    return int((counts["parallel"] - counts["sequential"]).abs().max())


def differences_by_dataset(diffs: pd.DataFrame) -> dict[str, dict[str, Estimate]]:
    """Per dataset, the mean paired differences parallel − sequential (``train``, ``val``,
    ``relative``) with percentile-bootstrap intervals over that dataset's grid cells × seeds."""
    return {
        dataset: {k: stats.bootstrap_ci(d[k]) for k in ("train", "val", "relative")}
        for dataset, d in diffs.groupby(level="dataset")
    }


def grid_size(P) -> str:
    """The deep-vs-parallel grid of parameters ``P``: ``"4 × 4 × 3 × 2 = 96 cells"`` (blocks ×
    filters × kernels × datasets), each trained with ``grid_seeds`` seeds, deep and parallel."""
    axes = [P.grid_blocks, P.grid_filters, P.grid_kernels, P.grid_datasets]
    sizes = [len(a) for a in axes]
    return f"{' × '.join(map(str, sizes))} = {math.prod(sizes)} cells"


# Bermeitinger, Hrycej & Handschuh 2023 (arXiv 2309.08414), Table 2: mean losses of the sequential
# (deep) and parallel (shallow) nets over their grid, binned by the determination ratio Q. Facts of
# the paper, not results: (train seq, val seq, train par, val par) per dataset and Q bin.
TABLE2 = {
    "mnist": {
        "Q<1": (0.00013, 0.05201, 0.00009, 0.07551),
        "1≤Q<3": (0.01702, 0.12449, 0.02679, 0.11468),
        "3≤Q<10": (0.03620, 0.11743, 0.05238, 0.11467),
        "Q≥10": (0.11246, 0.13550, 0.13310, 0.14900),
    },
    "cifar10": {
        "Q<1": (0.25326, 2.03107, 0.52658, 1.32386),
        "1≤Q<3": (0.72510, 1.31691, 0.88701, 1.24884),
        "3≤Q<10": (1.07333, 1.34721, 1.17085, 1.34227),
        "Q≥10": (1.58608, 1.65354, 1.63449, 1.68879),
    },
}


def table2_comparison(relative: dict[str, Estimate]) -> pd.DataFrame:
    """The relative validation-loss difference (val_par − val_seq)/val_seq in %, per dataset: the
    paper's Table 2 per Q bin beside this run's mean [95% interval] (``relative``: per dataset)."""
    rows = {}
    for dataset, bins in TABLE2.items():
        row = {
            f"paper {q}": round(100 * (v_par - v_seq) / v_seq, 1)
            for q, (_, v_seq, _, v_par) in bins.items()
        }
        ours = relative.get(dataset)
        row["this run"] = f"{ours.scaled(100):+.1f}" if ours else "not run"
        rows[dataset] = row
    return pd.DataFrame(rows).T.rename_axis("relative val-loss difference, %")


def relative_text(relative: dict[str, Estimate]) -> str:
    """Per-dataset relative differences as prose, in %: ``"+0.7% [−0.2, +1.5] on mnist; ..."``."""
    return "; ".join(
        units.minus(f"{e.mean:+.1%} [{e.low:+.1%}, {e.high:+.1%}] on {dataset}")
        for dataset, e in relative.items()
    )
