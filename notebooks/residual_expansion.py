# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["hide-input"]
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab: install reprobook, keeping Colab's torch
    REPO = "git+https://github.com/reprobook/reprobook"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REPO], check=True)

# %% [markdown]
# # Residual networks expand into ensembles of paths
#
# **The claim.** A residual block computes $x + \lambda F(x)$. Composing $n$ blocks
# expands, like a binomial or Taylor expansion in the branch scale $\lambda$, into a sum
# over the $2^n$ subsets of blocks: $n$ first-order paths, $\binom{n}{2}$ second-order
# paths, …, one path through every block {cite}`dherin2025residual`. This is the formal
# version of "residual networks behave like ensembles of relatively shallow networks"
# {cite}`veit2016ensembles`. The number of paths makes the signal explode with depth
# unless the branches are scaled — which is why deep residual nets needed normalization,
# and why SkipInit, Fixup and ReZero work
# {cite}`de2020skipinit,zhang2019fixup,bachlechner2021rezero`. The scale $\lambda$ (the
# paper recommends $1/L$; $1/\sqrt{L}$ is the other natural choice) also acts as
# capacity control, visible in the geometric complexity of the learned function
# {cite}`dherin2022geometric`. Truncating the expansion after its first-order terms
# gives a *parallel* net, $x + \sum_i f_i(x)$, with the same parameters; trained on
# MNIST and CIFAR-10, deep and parallel nets reach similar losses — deep slightly lower
# training loss, parallel slightly lower validation loss
# {cite}`bermeitinger2023shallow`.
#
# **What this notebook checks.** Three parts of the claim are mathematics: they can
# fail only through a bug in the code, so they are *checks* of the implementation, not
# evidence for the claim:
#
# - *exact expansion* — for linear blocks, the sum of the $2^n$ path products equals the
#   product of the blocks (float64);
# - *truncation order* — for smooth nonlinear blocks, the first- and second-order
#   expansions are off by $O(\lambda^2)$ and $O(\lambda^3)$;
# - *signal growth* — with random branches,
#   $\mathbb{E}\|x_L\|^2/\|x_0\|^2 = (1+\lambda^2)^L$: exponential for $\lambda=1$,
#   bounded (→ $e$) for $1/\sqrt{L}$, → 1 for $1/L$;
#
# and every parallel twin below has exactly its deep net's parameters.
#
# **What this notebook tests**, each as a sub-claim with criteria fixed in the next
# cells, before anything runs:
#
# 1. *trainability* — without normalization, a deep residual net with $\lambda=1$ fails
#    to train, with $1/\sqrt{L}$ or $1/L$ it trains (a BatchNorm net is the sanity
#    gate);
# 2. *capacity control* — after training, the smaller scale $1/L$ gives a lower
#    geometric complexity than $1/\sqrt{L}$;
# 3. *deep ≈ parallel* — over a grid of conv nets, on each dataset (MNIST, CIFAR-10), a
#    net and its parallel twin (same weights at init) reach validation losses within a
#    stated margin of each other; deep has the lower training loss; parallel the lower
#    (or equal) validation loss.
#
# The scale of the run (the `preset`) is printed below and recorded with the results; a
# `cpu` page is a reduced-scale check, not the paper's protocol.

# %% tags=["parameters"]
# None takes the preset's value (the cpu value is in the comment); a value typed
# here, or passed with papermill -p, is used exactly as given.
preset = "cpu"  # smoke | cpu | gpu | full
seeds = None  # cpu: 3
expansion_blocks = None  # cpu: 10
expansion_dim = None  # cpu: 8
truncation_blocks = None  # cpu: 6
truncation_width = None  # cpu: 32
truncation_lambdas = None  # cpu: [0.4, 0.2, 0.1, 0.05, 0.025]
growth_depths = None  # cpu: [4, 16, 64, 256, 1024]
growth_width = None  # cpu: 256
growth_samples = None  # cpu: 64
train_dataset = None  # cpu: 'mnist'
train_model = None  # cpu: 'mlp'
train_blocks = None  # cpu: [16, 64]
train_width = None  # cpu: 128
train_examples = None  # cpu: 10000
train_epochs = None  # cpu: 2.0
train_lr = None  # cpu: 0.05
trains_accuracy = None  # cpu: 0.9
stalls_accuracy = None  # cpu: 0.5
gc_examples = None  # cpu: 256
grid_datasets = None  # cpu: ['mnist', 'cifar10']
grid_blocks = None  # cpu: [2, 4]
grid_filters = None  # cpu: [16]
grid_kernels = None  # cpu: [3, 5]
grid_examples = None  # cpu: 5000
grid_epochs = None  # cpu: 3.0
grid_lr = None  # cpu: 0.002
grid_seeds = None  # cpu: 3
parity_margin = None  # cpu: 0.1
test_examples = None  # cpu: 2000
batch_size = None  # cpu: 128

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from reprobook import data, notebook, params, plots, train
from reprobook.papers.residual_expansion import residual
from reprobook.stats import Estimate, mean_ci

P = notebook.start("residual_expansion", globals())
SEEDS = list(range(P.seeds))
deepest = max(P.train_blocks)
plots.style()

# %% [markdown]
# ## Criteria, fixed before the run
#
# Each criterion compares a measured number's 95% confidence interval (Student-t over
# seeds, inside $[0, 1]$ for accuracies, or a bootstrap over grid cells) with a
# threshold: *met* when the whole interval is on the right side, *not met* when the
# whole interval is on the wrong side, *uncertain* otherwise. "A ≈ B" is an equivalence
# test: met when the whole interval of the difference lies within ±margin. Thresholds
# come from the parameters above (accuracy bars, the parity margin), never from the
# results. A sub-claim whose sanity gate fails is *inconclusive*. The checks (kind
# `check`) are bands around the theory (exponents 2 and 3, growth $(1+\lambda^2)^L$): a
# failed check makes the whole verdict *inconclusive: implementation check failed*.

# %%
claim = notebook.declare(P, deepest=deepest)
notebook.table(claim.declare())  # the criteria, fixed before the run

# %% [markdown]
# ## 1. Linear blocks: the exact expansion
#
# For $g_i(x) = A_i x$ the stack is the matrix product $\prod_{i=n}^{1}(I+\lambda A_i)$,
# and multiplying it out gives
#
# $$\prod_{i=n}^{1} (I + \lambda A_i)
# = \sum_{k=0}^{n} \lambda^k \sum_{i_1 < \dots < i_k} A_{i_k} \cdots A_{i_1},$$
#
# one term per subset of blocks — a *path* through the network that uses exactly those
# branches. There are $\binom{n}{k}$ paths of order $k$ and $2^n$ in all.
# `residual.subset_expansion` enumerates every subset explicitly (no recursion on the
# product), so agreement to float64 precision is the identity itself.

# %%
with claim.section("exact expansion"):
    n = P.expansion_blocks
    errors, order_norms = residual.expansion_check(n, P.expansion_dim, SEEDS)
claim.measure("max relative error", Estimate.point(max(errors)))
counts = residual.path_counts(n)
print(f"{2**n} paths, per order {counts}; largest relative error {max(errors):.2e}")

# %%
# Figure: Norm of the summed order-k paths of the exact expansion for three branch
#   scales: λ = 1 puts the mass in the middle orders, small λ on short paths.
fig, ax = plt.subplots()
order_norms.plot(ax=ax, logy=True, marker="o", ms=3)  # mean over seeds, per λ
ax.set(xlabel="path order k (branches used)", ylabel="‖Σ order-k paths‖ (Frobenius)")
ax.set_title(f"Contribution of each path order, n = {n} linear blocks")
plt.show()

# %% [markdown]
# With $\lambda = 1$ the mass sits in the middle orders, where $\binom{n}{k}$ is
# largest: most paths have length about $n/2$. {cite}`veit2016ensembles` pointed out
# this binomial distribution, but found that in trained ResNets the *gradient* comes
# mostly from short paths (10–34 layers deep in a 110-layer ResNet). Scaling the
# branches shifts the mass to short paths here too: with $\lambda=1/n$ the net is
# essentially its first-order (parallel) truncation.
#
# ## 2. Nonlinear blocks: truncated expansions
#
# For nonlinear branches the expansion is a Taylor series in $\lambda$:
#
# $$f(x) = x + \lambda \sum_i g_i(x)
# + \lambda^2 \sum_{i<j} Dg_j(x)[g_i(x)] + O(\lambda^3).$$
#
# The second-order term is computed exactly, one Jacobian-vector product per block
# (`residual.truncated_expansion`). Smooth branches $g(x) = W_2 \tanh(W_1 x + b_1)$ make
# the Taylor argument apply; the errors of the first- and second-order truncations
# should fall like $\lambda^2$ and $\lambda^3$ — halving $\lambda$ divides them by about
# 4 and 8.

# %%
with claim.section("truncation order"):
    truncation = residual.truncation_sweep(
        P.truncation_blocks, P.truncation_width, P.truncation_lambdas, SEEDS
    )
    slopes = residual.truncation_slopes(truncation)  # {order: [slope per seed]}
first_slope, second_slope = mean_ci(slopes[1]), mean_ci(slopes[2])
claim.measure("first-order slope − 2", Estimate.point(first_slope.mean - 2))
claim.measure("second-order slope − 3", Estimate.point(second_slope.mean - 3))
print(f"error ∝ λ^p: p = {first_slope:.2f} (first order), {second_slope:.2f} (second)")
residual.truncation_table(truncation)

# %%
# Figure: Error of the first- and second-order truncations against the branch scale λ
#   (log-log); dotted lines have the theoretical slopes 2 and 3.
fig, ax = plt.subplots()
table = residual.truncation_table(truncation)  # mean error: [λ, order]
for order, slope in ((1, first_slope), (2, second_slope)):
    mean = table.iloc[:, order - 1]
    ax.loglog(mean, marker="o", ms=3, label=f"order {order}: slope {slope.mean:.2f}")
    ref = mean.values[-1] * (mean.index / mean.index[0]) ** (order + 1)
    ax.loglog(mean.index, ref, ls=":", color=plots.GREY)
ax.set(xlabel="branch scale λ", ylabel="‖f(x) − truncation‖ / ‖x‖")
ax.set_title("Truncation error (dotted: slopes 2 and 3)")
ax.legend()
plt.show()

# %% [markdown]
# ## 3. Forward signal growth
#
# With independent random branches that preserve the squared norm in expectation
# (He-initialised ReLU layer, then a LeCun-initialised linear layer:
# `models.MLPBranch`), the cross terms vanish in expectation and each block multiplies
# $\mathbb{E}\|x\|^2$ by $1+\lambda^2$:
#
# $$\mathbb{E}\|x_L\|^2 = (1+\lambda^2)^L\, \|x_0\|^2
# \quad\Rightarrow\quad 2^L \text{ for } \lambda = 1,\;
# \to e \text{ for } \lambda = 1/\sqrt{L},\; \to 1 \text{ for } \lambda = 1/L.$$
#
# The branches have no bias, so every block is positively homogeneous and the
# measurement renormalises after each block and adds up log-norms: exact, and no
# overflow even at $2^{1024}$. The combinatorial argument that motivates $\lambda = 1/L$
# is the worst case, every branch *aligned* with its input so that all $2^L$ paths add
# in phase: $\|x_L\| = (1+\lambda)^L \|x_0\|$, i.e. $4^L$ in squared norm at
# $\lambda = 1$ and below $e^2$ at $\lambda = 1/L$. The same random branches are run a
# second time with each output turned along its input (its gain kept): both laws are
# *checks* of the implementation, not evidence for the claim.

# %%
with claim.section("signal growth"):
    growth = residual.growth_sweep(
        residual.RULES, P.growth_depths, P.growth_width, P.growth_samples, SEEDS
    )
ratio = residual.growth_ratio(growth, "1")
claim.measure(
    "λ=1: measured / predicted log-growth − 1", Estimate.point(ratio.mean - 1)
)
for rule, name in (("1/sqrt(L)", "λ=1/√L"), ("1/L", "λ=1/L")):
    largest = residual.largest_growth(growth, rule).mean  # mean over seeds
    claim.measure(f"{name}: largest growth", Estimate.point(largest))
aligned = residual.growth_ratio(growth, "1", "aligned").mean - 1  # vs (1+λ)^2L
claim.measure(
    "aligned λ=1: measured / predicted log-growth − 1", Estimate.point(aligned)
)
aligned_1_L = residual.largest_growth(growth, "1/L", "aligned").mean
claim.measure("aligned λ=1/L: largest growth", Estimate.point(aligned_1_L))
residual.growth_table(growth).unstack("rule").round(3)

# %%
# Figure: Measured forward signal growth against depth for the three branch scales,
#   random branches beside (1 + λ²)^L (dotted), aligned ones beside (1 + λ)^2L.
fig, ax = plt.subplots()
table = residual.growth_table(growth)
for rule, color in zip(
    residual.RULES, plots.PALETTE
):  # solid: measured; dotted: theory
    t = table.xs(rule, level="rule").add_prefix(f"λ = {rule}: ")
    t.plot(ax=ax, style=["-o", ":", "--x", "-."], color=[color] * 4, ms=3, lw=1)
ax.set_xscale("log", base=2)
ax.set_yscale("symlog", linthresh=1)
ax.set(ylim=(0, None), xlabel="depth L (blocks)", ylabel="log10 E‖x_L‖² / ‖x_0‖²")
ax.set_title("Forward signal growth")
ax.legend(ncol=2)
plt.show()

# %% [markdown]
# ## 4. Trainability without normalization
#
# Deep residual nets without any normalization, trained the same way (same data order,
# steps, SGD schedule); only the branch scale differs. A BatchNorm net with $\lambda=1$
# — the standard recipe — is the sanity gate: if it does not train, the budget is too
# small to say anything and the sub-claim is *inconclusive*. The model and data are set
# by the preset (`full`: CIFAR ResNets on CIFAR-10); this run trains
# {glue:text}`trained` (the parameters `train_model` and `train_dataset`).
#
# Two comparisons guard the reading. A small $\lambda$ also shrinks what the blocks add:
# at 64 blocks, $\lambda = 1/L$ moves the embedding by about 13% at initialization, so
# "trains" could mean only "depth switched off". The **no-block baseline** — the same
# embedding and classifier of the same width with no residual block, trained with the
# same budget and seeds — tells: *depth is used* when $\lambda = 1/L$ at the deepest $L$
# beats it. And the paper's public reviews report that $\lambda = 1/\sqrt{L}$ reaches a
# higher test accuracy than $1/L$: *1/√L beats 1/L* tests that, paired within a seed.

# %%
train_data = data.load(P.train_dataset).subset(P.train_examples, P.test_examples)
cfg = train.TrainConfig(
    epochs=P.train_epochs, batch_size=P.batch_size, lr=P.train_lr, evals=4
)
build = residual.net_factory(P.train_model, train_data.shape, P.train_width)
with claim.section("trainability"):
    runs = residual.trainability_runs(build, train_data, cfg, P.train_blocks, SEEDS)
    shape, width = train_data.shape, P.train_width  # the baseline: the same, no blocks
    base = residual.no_block_runs(P.train_model, shape, width, train_data, cfg, SEEDS)
runs = pd.concat([base, runs], ignore_index=True)  # blocks = 0 first
deep_1_L, deep_sqrt = (deepest, "λ=1/L, no norm"), (deepest, "λ=1/sqrt(L), no norm")
no_blocks = residual.paired_accuracy(runs, deep_1_L, (0, residual.NO_BLOCKS))
claim.measure("λ=1/L − no blocks, test accuracy", no_blocks)
sqrt_vs_inv = residual.paired_accuracy(runs, deep_sqrt, deep_1_L)
claim.measure("λ=1/√L − λ=1/L, test accuracy", sqrt_vs_inv)
acc = residual.accuracy_by_config(runs, deepest)  # {config: Estimate over seeds}
claim.measure("λ=1 test accuracy", acc["λ=1, no norm"])
claim.measure("λ=1/√L test accuracy", acc["λ=1/sqrt(L), no norm"])
claim.measure("λ=1/L test accuracy", acc["λ=1/L, no norm"])
claim.measure("BatchNorm baseline test accuracy", acc["λ=1 + BatchNorm"])
trains = residual.trains_by_config(runs, deepest, P.trains_accuracy)  # k of n seeds
table = residual.trainability_table(runs, P.trains_accuracy)
notebook.percent_table(table, keep=["diverged", "seconds"])

# %%
# Figure: Test accuracy of normalization-free residual nets per branch scale and depth,
#   with a BatchNorm baseline: bars are means, dots seeds.
k = runs.blocks.nunique()  # the no-block baseline, then every depth
fig, axes = plt.subplots(1, k, figsize=(3.2 * k + 1, 3.4), sharey=True, squeeze=False)
colors = [plots.PALETTE[1], plots.PALETTE[0], plots.PALETTE[2], plots.GREY]
for ax, (blocks, at_depth) in zip(axes[0], runs.groupby("blocks")):
    by_config = at_depth.groupby("config", sort=False).test_acc  # in CONFIGS order
    bars = {c.replace(", ", "\n").replace(" + ", "\n+ "): a for c, a in by_config}
    shade = colors if blocks else [plots.GREY]  # grey: the no-block baseline
    plots.seed_bars(ax, bars, shade, threshold=P.trains_accuracy, scale=100)
    ax.set(title=f"L = {blocks} blocks" if blocks else "baseline", ylim=(0, 100))
axes[0][0].set_ylabel(f"test accuracy (%, {P.train_dataset})")
fig.suptitle("Trainability: bar = mean over seeds, dots = seeds; dotted: 'trains'")
plt.show()

# %% [markdown]
# **What it shows.** At {glue:text}`deepest` blocks without normalization, test
# accuracy is {glue:text}`acc_one` at $\lambda = 1$, {glue:text}`acc_sqrt` at
# $1/\sqrt{L}$ and {glue:text}`acc_inv` at $1/L$ ({glue:text}`acc_bn` with BatchNorm);
# the deep $1/L$ net minus the same net with no blocks is {glue:text}`no_blocks`. The
# paper reports no accuracies for this experiment, so there is no paper value to draw.

# %% [markdown]
# ### Geometric complexity
#
# The geometric complexity of a function is the mean squared Frobenius norm of its input
# Jacobian, $\mathrm{GC}(f) = \frac{1}{N}\sum_x \|\partial f(x)/\partial x\|_F^2$
# {cite}`dherin2022geometric` — a measure of how much the function varies, which the
# paper uses to argue that $\lambda$ controls capacity. It is measured on the logits of
# the trained nets (test images), and across a sweep of $\lambda$ at initialization.

# %%
with claim.section("capacity control"):
    x_gc = residual.complexity_inputs(train_data, P.gc_examples)
    gc_trained = residual.trained_complexity(runs, x_gc)  # diverged runs left out
    lambdas = np.geomspace(1 / deepest, 1.0, 7)
    gc_init = residual.init_complexity(build, deepest, lambdas, SEEDS, x_gc)
gc_ratio = residual.gc_log_ratio(gc_trained, deepest)
claim.measure("log GC(1/L) − log GC(1/√L)", gc_ratio)
print(f"log GC(1/L) − log GC(1/√L) after training: {gc_ratio:.3f}")
gc_trained.groupby(["blocks", "config"])["gc"].agg(["mean", "std"]).round(3)

# %%
# Figure: Geometric complexity of the deepest nets: at initialization across a sweep of
#   λ (line) and after training (points).
fig, ax = plt.subplots()
init = gc_init.groupby("lam")["gc"].mean()
ax.loglog(init, "o-", ms=3, color=plots.GREY, label=f"at initialization (L={deepest})")
colors = {"1/sqrt(L)": plots.PALETTE[0], "1/L": plots.PALETTE[2], "1": plots.GREY}
trained = gc_trained[gc_trained.blocks == deepest]
for (rule, config), g in trained.groupby(["rule", "config"]):
    marker = "x" if "Batch" in config else "o"
    ax.scatter(
        g.lam, g.gc, color=colors[rule], marker=marker, label=f"trained: {config}"
    )
ax.set(xlabel="branch scale λ", ylabel="geometric complexity")
ax.set_title("Geometric complexity against λ")
ax.legend()
plt.show()

# %% [markdown]
# ## 5. Deep against parallel: truncating to first order
#
# {cite}`bermeitinger2023shallow` replace a stack of $L$ residual layers by one broad
# layer, $x + \sum_i f_i(x)$: the first-order truncation of the expansion.
# `models.ResidualStack` runs the same branches either way, so each sequential net has a
# parallel twin with **identical weights at initialization**; both are trained with the
# same data order and budget (Adam), and compared cell by cell over a small grid of
# depth, filters and kernel size. The comparison is paired: differences are taken within
# a grid cell and seed, then bootstrapped over one dataset's cells and seeds — each
# dataset is judged on its own, never pooled. This run's grid is
# {glue:text}`grid_size` × {glue:text}`grid_seeds` seeds; even the `full` preset's
# grid ({glue:text}`full_grid`: blocks × filters × kernels × datasets) is far smaller
# than the paper's 6,912 networks, which also varied other settings.

# %%
adam = dict(optimizer="adam", lr=P.grid_lr, weight_decay=0.0, warmup=0.05)
grid_cfg = train.TrainConfig(  # evals=0: the grid reads only the final losses
    epochs=P.grid_epochs, batch_size=P.batch_size, evals=0, **adam
)
with claim.section("deep vs parallel"):
    grid_data = {
        name: data.load(name).subset(P.grid_examples, P.test_examples)
        for name in P.grid_datasets
    }
    grid = residual.parallel_grid(
        grid_data, P.grid_blocks, P.grid_filters, P.grid_kernels, P.grid_seeds, grid_cfg
    )
paired, diffs = residual.paired_grid(grid)  # diffs: parallel − sequential, per cell
mismatch = residual.parameter_mismatch(grid)
claim.measure("largest |parameters parallel − deep|", Estimate.point(mismatch))
by_dataset = residual.differences_by_dataset(diffs)  # bootstrap per dataset
for dataset, d in by_dataset.items():
    claim.measure(f"relative val-loss difference, {dataset}", d["relative"])
    claim.measure(f"train-loss difference par − seq, {dataset}", d["train"])
    claim.measure(f"val-loss difference par − seq, {dataset}", d["val"])
worst = grid.groupby("dataset").test_acc.mean().min()
claim.measure("worst dataset's mean test accuracy", Estimate.point(worst))
relative = {dataset: d["relative"] for dataset, d in by_dataset.items()}
# the paper's Table 2 (per Q bin) beside this run
notebook.signed_table(residual.table2_comparison(relative), 1)

# %%
# Figure: Training and validation loss of every deep net against its parallel twin (same
#   weights at initialization); the dotted line marks equality.
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
titles = {"train_loss": "training loss", "test_loss": "validation loss"}
for ax, (metric, title) in zip(axes, titles.items()):
    for dataset, marker in zip(P.grid_datasets, "os"):
        cells = paired[metric].xs(dataset, level="dataset")
        ax.scatter(cells.sequential, cells.parallel, marker=marker, s=18, label=dataset)
    lo, hi = paired[metric].min().min(), paired[metric].max().max()
    ax.plot([lo, hi], [lo, hi], ls=":", color=plots.GREY)
    ax.set(xscale="log", yscale="log", title=title)
    ax.set(xlabel="sequential (deep)", ylabel="parallel (shallow)")
    plots.tidy_log(ax)  # decades only where the axis spans several
axes[0].legend()
fig.suptitle("Each point: one grid cell and seed, same weights at init (dotted: equal)")
plt.show()

# %% [markdown]
# The table sets this run's mean relative validation-loss difference beside the paper's
# Table 2 {cite}`bermeitinger2023shallow`, in the same units (%, per dataset). The paper
# bins its grid by the determination ratio $Q$ (training constraints per parameter);
# this grid is not binned.
#
# ## Verdict

# %%
text = dict(
    slope1=first_slope, slope2=second_slope, growth_ratio=ratio, deepest=deepest
)
pct, pp = notebook.percent, notebook.points  # the papers' units, as on the card
text |= dict(
    acc_one=pct(acc["λ=1, no norm"]), acc_sqrt=pct(acc["λ=1/sqrt(L), no norm"])
)
text |= dict(acc_inv=pct(acc["λ=1/L, no norm"]), acc_bn=pct(acc["λ=1 + BatchNorm"]))
text |= {f"trains_{i}": residual.seeds_text(t) for i, t in enumerate(trains.values())}
text |= dict(gc_log_ratio=gc_ratio, trained=residual.trained_text(P))
text |= dict(no_blocks=pp(no_blocks), sqrt_vs_inv=pp(sqrt_vs_inv), aligned=aligned)
text |= dict(val_rel=residual.relative_text(relative))
text |= dict(grid_size=residual.grid_size(P), grid_seeds=P.grid_seeds)
text |= dict(full_grid=residual.grid_size(params.resolve(P.notebook, "full")))
numbers = {"trains": {c: residual.seeds_text(t) for c, t in trains.items()}}
report = notebook.finish(claim, P, numbers, text=text)
notebook.table(report)

# %%
# NBVAL_CHECK_OUTPUT
print(claim.verdict_line())

# %% [markdown]
# **Reading the verdict.** At the {glue:text}`preset` preset this run took
# {glue:text}`minutes` minutes; the overall verdict is **{glue:text}`verdict`**.
#
# The checks are not evidence: the exact expansion, the truncation exponents
# ({glue:text}`slope1` and {glue:text}`slope2`, theory 2 and 3), the signal growth (at
# $\lambda = 1$, {glue:text}`growth_ratio` times the predicted $L \log 2$; with aligned
# branches {glue:text}`aligned` away from $2L\log 2$, as a fraction) and the
# twins' parameter counts are mathematics. They can fail only through a bug, and a
# failed one makes the verdict *inconclusive*; they carry none of it.
#
# - *Trainability* ({glue:text}`verdict_trainability`): with $L =$ {glue:text}`deepest`
#   blocks and no normalization, test accuracy is {glue:text}`acc_one` at $\lambda=1$,
#   {glue:text}`acc_sqrt` at $1/\sqrt{L}$ and {glue:text}`acc_inv` at $1/L$ (BatchNorm
#   baseline {glue:text}`acc_bn`). Seeds either train or diverge, so the count matters
#   too: {glue:text}`trains_0` reach the 'trains' bar at $\lambda=1$,
#   {glue:text}`trains_1` at $1/\sqrt{L}$, {glue:text}`trains_2` at $1/L$ and
#   {glue:text}`trains_3` with BatchNorm (exact 95% intervals of the share).
# - *Depth is used* ({glue:text}`verdict_depth_is_used`): at $\lambda = 1/L$ the deepest
#   net minus the same net with no blocks is {glue:text}`no_blocks` of accuracy (paired
#   over seeds).
# - *1/√L beats 1/L* ({glue:text}`verdict_1_l_beats_1_l`): $\lambda = 1/\sqrt{L}$ minus
#   $\lambda = 1/L$, paired, is {glue:text}`sqrt_vs_inv`.
# - *Capacity control* ({glue:text}`verdict_capacity_control`):
#   $\log \mathrm{GC}(1/L) - \log \mathrm{GC}(1/\sqrt{L})$ = {glue:text}`gc_log_ratio`.
# - *Deep ≈ parallel* ({glue:text}`verdict_deep_vs_parallel`): the parallel twin's
#   validation loss differs, relative to the deep net's, by {glue:text}`val_rel`.
#
# What this run cannot show: the `cpu` preset trains small nets briefly on subsets. Four
# criteria its seeds cannot decide were declared *not tested at this preset* in the
# preset file before the run, each with the pilot run that showed it (this preset at
# commit 491e939) and the seeds a decisive interval would need: λ=1/√L's accuracy and
# *1/√L beats 1/L* (λ=1/√L diverged in 1 of 3 pilot seeds), *depth is used* (+0.3 pp
# [−0.7, +1.3]) and the CIFAR-10 validation-loss difference. Their numbers are measured
# and shown above, not judged. Only a `full` run comes near the papers' protocols
# (normalization-free ResNets to about a thousand blocks on CIFAR-10), and its
# deep-vs-parallel grid of {glue:text}`full_grid` is still not the paper's 6,912-network
# grid binned by $Q$. The provenance of this run — commit, packages, hardware,
# parameters — is in the results file printed above and on the summary page.
