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
# # Random pruning at initialization, trained sparse
#
# **The claim.** Prune a network *at random* before training — every weight tensor keeps
# a random subset of its entries, the mask never changes — and train the sparse network
# from scratch. {cite}`liu2022random` report that this most naive of sparse-training
# baselines can match the dense network, provided two things:
#
# - *the network is large enough*: as a CIFAR ResNet grows deeper or wider, the randomly
#   pruned one closes the gap to its dense counterpart even at high sparsity (ResNet-20
#   at sparsity 0.9 is 4.6 points behind dense on CIFAR-10, ResNet-110 only 1.45), while
#   small networks lose accuracy;
# - *the layer-wise sparsity ratios are sensible*: Erdős–Rényi-Kernel (ERK) densities,
#   which keep narrow layers denser than wide ones, beat uniform densities at high
#   sparsity (ResNet-20 at 0.9: ERK 87.8%, uniform 86.3%).
#
# The paper goes further (a random sparse Wide ResNet-50 beats its dense counterpart on
# ImageNet; OOD detection, uncertainty, adversarial robustness); this notebook tests
# only the CIFAR-10 claims.
#
# **What this notebook tests**, each as a sub-claim with criteria fixed below, before
# anything runs:
#
# 1. *matches dense* — at a moderate sparsity, the largest net of the family pruned at
#    random (ERK) is within a stated margin of its dense counterpart;
# 2. *gap shrinks with size* — the accuracy gap dense − sparse at the highest sparsity
#    falls as the network grows (a negative slope against the log of the parameter
#    count), for ERK and for uniform densities;
# 3. *ERK beats uniform* — at the highest sparsity, ERK is more accurate than uniform.
#
# A family of CIFAR ResNets {cite}`he2016resnet` of increasing width (and, at the `full`
# preset, depth) is trained on CIFAR-10 {cite}`krizhevsky2009cifar` dense and pruned,
# every run with the same data, steps and schedule; a dense run and its sparse
# counterparts share the same initial weights and data order. The scale of the run (the
# `preset`) is printed below and recorded with the results; a `cpu` page is a
# reduced-scale check (narrow nets, small images, a few epochs), not the paper's
# protocol.

# %% tags=["parameters"]
# None takes the preset's value (the cpu value is in the comment); a value typed
# here, or passed with papermill -p, is used exactly as given.
preset = "cpu"  # smoke | cpu | gpu | full
seeds = None  # cpu: 3
depths = None  # cpu: [8, 8, 8]
widths = None  # cpu: [4, 8, 16]
sparsities = None  # cpu: [0.5, 0.9]
ratios = None  # cpu: ['erk', 'uniform']
others_at = None  # cpu: 'highest_sparsity'
image_size = None  # cpu: 16
train_examples = None  # cpu: 0
test_examples = None  # cpu: 0
monitor_examples = None  # cpu: 1000
epochs = None  # cpu: 3.0
batch_size = None  # cpu: 128
lr = None  # cpu: 0.1
weight_decay = None  # cpu: 0.0005
warmup = None  # cpu: 0.1
schedule = None  # cpu: 'linear'
lr_drops = None  # cpu: [0.5, 0.75]
precision = None  # cpu: 'fp32'
augment = None  # cpu: True
match_margin = None  # cpu: 0.02
dense_gate = None  # cpu: 0.45
largest_dense_gate = None  # cpu: 0.6

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from reprobook import data, models, notebook, plots, train, units
from reprobook.papers.random_pruning import pruning, sweep
from reprobook.stats import Estimate

P = notebook.start("random_pruning", globals())

# %%
SEEDS = list(range(P.seeds))
SPARSITIES = sorted(set(P.sparsities))
MODERATE, HIGH = SPARSITIES[0], SPARSITIES[-1]
# (depth, width, dense parameters) of every net, smallest first
FAMILY = sweep.family(P.depths, P.widths)
MODELS = [sweep.model_name(d, w) for d, w, _ in FAMILY]
LARGEST = f"ResNet-{FAMILY[-1][0]}, width {FAMILY[-1][1]}"
plots.style()
pd.DataFrame(FAMILY, columns=["depth", "width", "dense parameters"], index=MODELS)

# %% [markdown]
# ## Criteria, fixed before the run
#
# Each criterion compares a measured number's 95% confidence interval (Student-t over
# seeds, an accuracy's interval kept inside [0, 1]; every quantity is first computed
# within a seed, so the dense net and its pruned versions are compared *paired*: same
# initial weights, same data order) with a threshold: *met* when the whole interval is
# on the right side, *not met* when the whole interval is on the wrong side, *uncertain*
# otherwise. *Matches dense* is an equivalence test: met when the whole interval of the
# gap lies inside ±margin, not met when it lies wholly outside. Accuracies read in
# percent, gaps in percentage points (pp). The match margin is a parameter of the
# preset, declared before the run; the signs come from the paper. A gate applies to
# every sub-claim: the dense models must learn (otherwise the budget is too small to say
# anything and every verdict is *inconclusive*). Two *checks* test the implementation,
# not the paper: the pruned weights are exactly zero after training, and every mask
# keeps its target number of weights (per layer and in all) within one weight. They can
# fail only through a bug, so they are never evidence; a failed check makes the verdict
# *inconclusive*.

# %%
claim = notebook.declare(P, moderate=MODERATE, high=HIGH, largest=LARGEST)
notebook.table(claim.declare())  # the criteria, fixed before the run

# %% [markdown]
# ## 1. Layer-wise densities: ERK against uniform
#
# Every `Conv2d` and `Linear` weight is pruned — the first convolution, the 1×1
# downsampling shortcuts and the classifier included; biases and BatchNorm stay dense,
# as in the official code. A net with layers $l$ of $n_l$ weights is pruned to global
# density $d = 1 - \text{sparsity}$ with per-layer densities $d_l$,
# $\sum_l n_l d_l = d \sum_l n_l$:
#
# - **uniform**: $d_l = d$ for every layer;
# - **ERK**:
#   $d_l = \varepsilon \cdot \dfrac{n_{out}+n_{in}+k_h+k_w}{n_{out}\,n_{in}\,k_h\,k_w}$
#   (fc: $\frac{n_{out}+n_{in}}{n_{out}\,n_{in}}$), one $\varepsilon$ solving the
#   budget; a layer with $d_l > 1$ is made dense and $\varepsilon$ is solved again on
#   the remaining layers, until no layer exceeds 1;
# - **uniform+** (at the `full` preset): the first layer dense, below $d = 0.2$ the
#   classifier at 0.2, every other layer at the one density that keeps the global
#   density $d$.
#
# ERK gives small layers (the first convolution, the shortcuts, the classifier) high
# densities and the wide $3\times3$ layers low ones. Each layer then keeps a uniformly
# random subset of exactly $\mathrm{round}(d_l n_l)$ weights (`pruning.random_masks`;
# fractional parts distributed so that the global count is exact). The table checks the
# achieved densities of the largest net against the targets.

# %%
with claim.section("layer densities"):
    probe = models.CifarResNet(*FAMILY[-1][:2])
    layer_table, achieved = sweep.density_tables(probe, P.ratios, SPARSITIES)
shapes = pruning.weight_shapes(probe)
n_weights = sum(np.prod(s) for s in shapes.values())
print(f"{LARGEST}: {len(shapes)} prunable weight tensors, {n_weights:,} weights")
achieved.set_index(["ratio", "sparsity"]).round(6)

# %%
# Figure: Per-layer densities of the largest network at the highest sparsity under each
#   layer-wise ratio.
fig, ax = plt.subplots(figsize=(7.5, 3.4))
high = layer_table[layer_table.sparsity == HIGH]
markers = dict(zip(["ERK", "uniform", "uniform+", "ER"], "os^D"))
for ratio, g in high.groupby("ratio"):  # colours: the book palette, in order
    ax.plot(g["index"], g["density"], marker=markers[ratio], ms=4, lw=1, label=ratio)
names = list(shapes)
ax.set_xticks(range(len(names)), map(sweep.short_layer_name, names), rotation=90)
ax.set(yscale="log", ylabel="layer density (kept fraction)")
ax.set_title(f"{LARGEST}, sparsity {HIGH:g}: per-layer densities")
ax2 = ax.twinx()
weights = [np.prod(shapes[n]) for n in names]
ax2.bar(range(len(names)), weights, color=plots.GREY, alpha=0.15)
ax2.set(yscale="log", ylabel="weights in the layer (grey bars)")
ax2.grid(False)
ax.set_zorder(ax2.get_zorder() + 1)  # the density lines in front of the bars
ax.patch.set_visible(False)
ax.legend(loc="lower left")
plt.show()

# %% [markdown]
# ## 2. Dense and sparse nets trained with the same budget
#
# For every net of the family, every seed and every configuration (dense; ERK at each
# sparsity; the other ratios at each sparsity or, at `cpu`, where `others_at` is
# `highest_sparsity`, only at the highest, the one where a criterion uses them):
# `torch.manual_seed(seed)` then the same ResNet is built — so dense and
# pruned nets start from the **same initial weights** — the pruned nets get their random
# mask (`pruning.SparseMasks.random`, seeded), and all are trained by `train.fit` with
# the same data order, steps and schedule (SGD with Nesterov momentum and weight decay;
# at `cpu` a linear warm-up then linear decay, at `full` the official ×0.1 steps at
# epochs 80 and 120 of 160); `sweep.train_family` runs them all. The mask is
# enforced twice: a gradient hook zeroes the gradients of the pruned weights, and
# `SparseMasks.restore` (the `after_step` of training) writes the zeros back after every
# optimizer step, as the official code does by multiplying with the mask. Test accuracy
# is measured once at the end on the held-out test images (the learning curves use a
# smaller monitor set).

# %%
cifar = data.load("cifar10").subset(P.train_examples, P.test_examples, seed=0)
cifar = cifar.resized(P.image_size)
# all the training images; a few test images for the learning curves
monitor = cifar.subset(0, P.monitor_examples, seed=1)
cfg = train.TrainConfig.of(P)  # the same budget and schedule for every run
# dense, then ERK at every sparsity and the other ratios where others_at says
CONFIGS = sweep.configs(P.ratios, SPARSITIES, P.others_at)
COMPARED = sweep.sparsities_of(CONFIGS, "uniform")  # where ERK and uniform both run
SCALE = (
    f"{len(cifar.x_train):,} training images at {P.image_size}×{P.image_size}, "
    f"{units.count(P.epochs, 'epoch')}, {len(SEEDS)} seeds"
)
print(f"{len(FAMILY)} nets × {len(CONFIGS)} configurations × {SCALE}")
with claim.section("training"):
    runs, curves = sweep.train_family(FAMILY, SEEDS, CONFIGS, cifar, monitor, cfg)
dense_acc = sweep.dense_accuracy(runs)  # model → Estimate over seeds
claim.measure("worst dense model's test accuracy", min(dense_acc, key=lambda e: e.mean))
claim.measure("largest dense model's test accuracy", dense_acc[MODELS[-1]])
pruned = Estimate.point(runs.pruned_max_abs.max())
claim.measure("largest |pruned weight| after training", pruned)
count_error = Estimate.point(runs.mask_error.max())  # weights, every layer and mask
claim.measure("largest |kept − target| weights over layers and masks", count_error)
print(f"training: {runs.seconds.sum():.0f} s; diverged runs: {runs.diverged.sum()}")
accuracy = sweep.accuracy_table(runs, MODELS, CONFIGS)
accuracy.mul(100).round(1)

# %%
# Figure: Test accuracy of dense and randomly pruned networks against dense parameter
#   count, one panel per ratio; means over seeds with 95% intervals.
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
sizes = [n for *_, n in FAMILY]
viridis = plt.cm.viridis(np.linspace(0.1, 0.85, len(SPARSITIES)))
colours = {0.0: "k", **dict(zip(SPARSITIES, viridis))}  # by sparsity; dense black
acc = sweep.mean_by(runs, ["model", "ratio", "sparsity"], "test_acc", bounds=(0, 1))
for ax, ratio in zip(axes, ["erk", "uniform"]):
    for r, s in [c for c in CONFIGS if c[0] in ("dense", ratio)]:
        ests, name = [acc[(m, r, s)] for m in MODELS], sweep.config_name(r, s)
        plots.estimates(ax, sizes, ests, 100, fmt="-o", color=colours[s], label=name)
    ax.set(xscale="log", title=f"{pruning.RATIO_NAMES[ratio]} densities")
    ax.set_xticks(sizes, MODELS)
    ax.minorticks_off()
    ax.legend()
axes[0].set_ylabel("test accuracy (%)")
fig.supxlabel("net (by dense parameter count)")
fig.suptitle("Test accuracy: mean over seeds with 95% intervals")
plt.show()

# %% [markdown]
# ## 3. The gap to dense against network size
#
# Within each seed and net, the gap is
# $\Delta = \mathrm{acc}_{\text{dense}} - \mathrm{acc}_{\text{sparse}}$ (same initial
# weights, same data order). *Matches dense* takes the gap of ERK at the moderate
# sparsity on the largest net; *gap shrinks with size* fits, within each seed, a line to
# the gap at the highest sparsity against $\log_2$ of the dense parameter count and
# takes the slope (points lost or gained per doubling of the parameters; negative = the
# gap closes as the net grows); both are then averaged over seeds with a Student-t
# interval.

# %%
with claim.section("gaps"):
    sparse = sweep.paired_gaps(runs)  # the sparse runs; gap = dense − sparse
    gaps = sweep.mean_by(sparse, ["model", "ratio", "sparsity"], "gap")
    largest_erk = gaps[(MODELS[-1], "erk", MODERATE)]
    match_gap = claim.measure("ERK gap, largest net, moderate sparsity", largest_erk)
    slopes = sweep.gap_slopes(sparse, P.ratios, HIGH)  # ratio → Estimate over seeds
    for ratio in ("erk", "uniform"):
        name = f"{pruning.RATIO_NAMES[ratio]}: gap slope at the highest sparsity"
        claim.measure(name, slopes[ratio])
display(sweep.gap_table(gaps, MODELS))
slope_table = sweep.points_table(slopes, ["ratio"]).set_index("ratio")
notebook.signed_table(slope_table)  # points per doubling of the parameters

# %%
# Figure: Dense minus sparse accuracy (the gap) against network size, per ratio and
#   sparsity; a gap that shrinks with size slopes down.
n = len(P.ratios)
fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 0.6, 3.3), sharey=True, squeeze=False)
for ax, ratio in zip(axes[0], P.ratios):
    for s in sweep.sparsities_of(CONFIGS, ratio):
        ests = [gaps[(m, ratio, s)] for m in MODELS]
        plots.estimates(
            ax, sizes, ests, 100, fmt="-o", color=colours[s], label=f"{s:g}"
        )
    ax.axhline(0, color="k", lw=0.8)
    ax.axhline(100 * P.match_margin, color=plots.GREY, ls=":", lw=1)
    if ratio == "erk" and HIGH == 0.9:  # the paper's ERK gaps at 0.9, in points
        for net, gap in (("ResNet-20", 4.6), ("ResNet-110", 1.45)):
            ax.axhline(gap, color=colours[HIGH], ls="--", lw=0.8)
            ax.annotate(f"paper, {net}", (sizes[0], gap), fontsize=7, va="bottom")
    ax.set(xscale="log", title=pruning.RATIO_NAMES[ratio])
    ax.set_xticks(sizes, MODELS)
    ax.minorticks_off()
axes[0][0].set_ylabel("gap: dense − sparse (points)")
axes[0][0].legend(title="sparsity")
fig.supxlabel("net (by dense parameter count)")
fig.suptitle(
    "Accuracy gap to dense, mean over seeds with 95% intervals "
    f"(dotted: the match margin {100 * P.match_margin:g} points)"
)
plt.show()

# %% [markdown]
# **What it shows.** At sparsity {glue:text}`high` the ERK gap goes from
# {glue:text}`gap_small_erk` points on the smallest net to {glue:text}`gap_large_erk`
# on the largest. The dashed lines are the paper's ERK gaps at sparsity 0.9 for
# ResNet-20 (4.6 points) and ResNet-110 (1.45 points), CIFAR-10 at 32×32 after 160
# epochs: nets larger than ours, which is why the paper's gaps are the smaller.
#
# ## 4. ERK against uniform at high sparsity
#
# Within each seed and net, $\mathrm{acc}_{\text{ERK}} - \mathrm{acc}_{\text{uniform}}$
# at the same sparsity (same initial weights, same global number of weights, different
# layer-wise densities); the criterion averages it over the family at the highest
# sparsity, within a seed, then over seeds.

# %%
with claim.section("ERK vs uniform"):
    # acc_ERK − acc_uniform per model, seed, sparsity; judged: family mean per seed
    diff = sweep.erk_minus_uniform(sparse, MODELS, SEEDS, COMPARED)
    family_mean = sweep.family_mean(diff, HIGH)
    name = "ERK − uniform accuracy at the highest sparsity"
    erk_vs_uniform = claim.measure(name, family_mean)
diff_est = sweep.mean_by(diff, ["model", "sparsity"], "diff")
print(f"ERK − uniform at {HIGH:g}, family mean: {family_mean.scaled(100):+.2f} points")
table = sweep.points_table(diff_est, ["model", "sparsity"])
notebook.signed_table(table.pivot(index="model", columns="sparsity").loc[MODELS])

# %%
# Figure: ERK minus uniform test accuracy at the highest sparsity for every network:
#   bars are means over seeds, dots single seeds.
fig, ax = plt.subplots(figsize=(6, 3.2))
keys = [(m, s) for m in MODELS for s in COMPARED]
by = diff.groupby(["model", "sparsity"])["diff"]
groups = {f"{m}\n{s:g}": by.get_group((m, s)) for m, s in keys}
plots.seed_bars(ax, groups, [colours[s] for _, s in keys], threshold=0.0, scale=100)
ests = [diff_est[k] for k in keys]
plots.estimates(ax, range(len(keys)), ests, 100, fmt="none", color="k")
ax.set_ylabel("ERK − uniform (points)")
ax.set_title("ERK against uniform densities: bars = mean, dots = seeds")
plt.show()

# %% [markdown]
# ## Verdict

# %%
points = {  # glued as signed points
    "match_gap": match_gap.mean,
    "match_gap_low": match_gap.low,
    "match_gap_high": match_gap.high,
    "slope_erk": slopes["erk"].mean,
    "slope_uniform": slopes["uniform"].mean,
    "gap_small_erk": gaps[(MODELS[0], "erk", HIGH)].mean,
    "gap_large_erk": gaps[(MODELS[-1], "erk", HIGH)].mean,
    "erk_vs_uniform": erk_vs_uniform.mean,
}
text = {
    "largest": LARGEST,
    "moderate": f"{MODERATE:g}",
    "high": f"{HIGH:g}",
    "margin": f"{100 * P.match_margin:g}",
    "family": ", ".join(MODELS),
    "params_small": f"{FAMILY[0][2]:,}",
    "params_large": f"{FAMILY[-1][2]:,}",
    "scale": SCALE,
    "seeds": len(SEEDS),
    "epochs": units.count(P.epochs, "epoch"),
    "dense_gate": f"{100 * P.dense_gate:g}",
    "largest_gate": f"{100 * P.largest_dense_gate:g}",
    "pruned_max": f"{pruned.mean:g}",
    "count_error": f"{count_error.mean:.2g}",
    "dense_worst": f"{100 * min(e.mean for e in dense_acc):.1f}",
    "dense_best": f"{100 * max(e.mean for e in dense_acc):.1f}",
    **{k: f"{100 * v:+.1f}" for k, v in points.items()},
}
numbers = sweep.numbers(runs, accuracy, gaps)  # what no criterion records
report = notebook.finish(claim, P, numbers, text)
notebook.table(report)

# %%
# NBVAL_CHECK_OUTPUT
print(claim.verdict_line())

# %% [markdown]
# **Reading the verdict.** At the {glue:text}`preset` preset ({glue:text}`scale`) this
# run took {glue:text}`minutes` minutes; the overall verdict is
# **{glue:text}`verdict`**. The dense nets reached
# {glue:text}`dense_worst`–{glue:text}`dense_best`% test accuracy (the gates, set before
# the run from a pilot of 4 epochs, one more than `cpu` now trains: every dense net at
# least {glue:text}`dense_gate`%, the largest at least {glue:text}`largest_gate`%). At
# `cpu` the largest reference stops short of 70%: a ResNet-8 of width 16 needs about 6
# epochs at 16×16 pixels to pass it (72% measured), twice this preset's budget for
# every one of the 3 nets × 4 configurations × 3 seeds here, which the book's 45
# minutes on two cores cannot give. The two
# checks — the largest |pruned weight| after training ({glue:text}`pruned_max`, must be
# 0) and the largest distance of a mask from its target count ({glue:text}`count_error`
# weights, at most 1) — test the implementation, not the paper: they are not evidence
# and enter the verdict only by making it *inconclusive* if one fails.
#
# - *Matches dense* ({glue:text}`verdict_matches_dense`): at sparsity
#   {glue:text}`moderate` the gap dense − sparse of the {glue:text}`largest` pruned at
#   random with ERK densities is {glue:text}`match_gap` points (interval
#   {glue:text}`match_gap_low` to {glue:text}`match_gap_high`; it matches when the
#   whole interval lies within ±{glue:text}`margin` points; negative: the sparse net is
#   the more accurate).
# - *Gap shrinks with size* ({glue:text}`verdict_gap_shrinks_with_size`): at sparsity
#   {glue:text}`high` the gap changes by {glue:text}`slope_erk` points (ERK) and
#   {glue:text}`slope_uniform` points (uniform) per doubling of the parameter count; for
#   ERK it goes from {glue:text}`gap_small_erk` points on the smallest net to
#   {glue:text}`gap_large_erk` on the largest.
# - *ERK beats uniform* ({glue:text}`verdict_erk_beats_uniform`): at sparsity
#   {glue:text}`high`, ERK is {glue:text}`erk_vs_uniform` points more accurate than
#   uniform, averaged over the family.
#
# What a `cpu` run can and cannot show: it trains tiny nets ({glue:text}`family`;
# {glue:text}`params_small` to {glue:text}`params_large` parameters) on all of CIFAR-10
# shrunk to 16×16 pixels for {glue:text}`epochs` — a regime where every net is
# far from converged, so a gap measures how fast a sparse net learns as much as how much
# it can represent, and the family spans a narrow range of sizes, far below ResNet-20 →
# 110. A small or uncertain trend there is not evidence against the paper; the
# ERK-over-uniform difference and the match at moderate sparsity are the parts a run of
# this scale can test. The uniform gap slope was declared *not tested at this preset*
# before the run: its pilot (this preset at commit 491e939) measured −1.0 pp per
# doubling [−3.1, +1.2], and deciding that needs about 14 seeds; it is measured and
# shown, not judged. The `cpu` preset runs uniform densities only at the highest
# sparsity (`others_at`): at the moderate one they entered no criterion, and their runs
# were a fifth of this notebook's time. With {glue:text}`seeds` seeds the intervals are
# wide: a criterion near its threshold can come out *uncertain* at one budget and *met*
# at another, so read the intervals, not only the verdicts. Only the `full` preset
# follows the paper's
# protocol (all of CIFAR-10 at 32×32, ResNet-20/32/44/56/110 and ResNet-20 at widths
# 8–32, sparsities 0.5–0.95, 160 epochs of SGD with Nesterov momentum and ×0.1 steps at
# epochs 80 and 120, in fp32, 3 seeds — days of GPU time); it still differs in one
# detail: the final test accuracy is reported instead of the best-validation checkpoint.
# Masks keep an exact number of weights per layer instead of independent Bernoulli
# draws. The provenance of this run — commit, packages, hardware, parameters — is in the
# results file printed above and on the summary page.
