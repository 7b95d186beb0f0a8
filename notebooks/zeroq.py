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
# # ZeroQ: data-free quantization from BatchNorm statistics
#
# **The claim.** A trained network can be quantized without access to any training or
# validation data {cite}`cai2020zeroq`. Every BatchNorm layer stores the mean and
# variance its input had during training; ZeroQ optimises a batch of inputs — the
# *Distilled Data* — until the statistics of every BatchNorm layer's input match those
# running statistics, and uses that batch (1) to calibrate the activation ranges of the
# quantized network and (2) to measure how sensitive each layer is to quantization, from
# which a dynamic program over the Pareto frontier of size against sensitivity picks a
# *mixed-precision* bit width per layer. The paper reports ImageNet W8A8 accuracies
# within 0.2 points of full precision for ResNet-18/50 {cite}`he2016resnet`, MobileNetV2
# and others, mixed precision that beats uniform precision at the same size, and a whole
# pipeline that takes under 30 s — about 0.5% of one ImageNet training epoch.
#
# **What this notebook tests**, each as a sub-claim with criteria fixed in the next
# cells, before anything runs:
#
# 1. *data-free calibration* — Distilled Data matches the BN statistics, and a network
#    calibrated on it is as accurate as one calibrated on real training images (within a
#    margin), and clearly more accurate than one calibrated on Gaussian noise, where the
#    bit widths are low enough to tell calibrations apart (W8A8 should be near-lossless:
#    within a margin of full precision);
# 2. *mixed precision* — sensitivities measured on Distilled Data rank the layers like
#    sensitivities on real data, and the bit allocation the Pareto dynamic program picks
#    is at least as accurate as uniform precision, and more accurate than random
#    allocations, of the same size;
# 3. *seconds, not an epoch* — the whole pipeline (distil, measure sensitivities, solve,
#    calibrate) takes seconds, a small fraction of one measured training epoch.
#
# Quantization follows the official code exactly (per-channel asymmetric weights for
# every conv and linear layer; one asymmetric min/max range per ReLU output; BatchNorm
# not folded) — the module docstrings of `reprobook.papers.zeroq.quant`, `.distill` and
# `.pareto` give the formulas. The scale of the run (the `preset`) is printed below and
# recorded with the results; a `cpu` page quantizes a CIFAR-10 ResNet-20
# {cite}`krizhevsky2009cifar` at full resolution, the paper's CIFAR-10 setting, not its
# ImageNet models.

# %% tags=["parameters"]
# None takes the preset's value (the cpu value is in the comment); a value typed
# here, or passed with papermill -p, is used exactly as given.
preset = "cpu"  # smoke | cpu | gpu | full
seeds = None  # cpu: 2
model = None  # cpu: 'record'
depth = None  # cpu: 20
width = None  # cpu: 16
resolution = None  # cpu: 32
train_examples = None  # cpu: 0
train_epochs = None  # cpu: 6.0
train_lr = None  # cpu: 0.1
batch_size = None  # cpu: 128
test_examples = None  # cpu: 2500
calibration_size = None  # cpu: 64
distill_iterations = None  # cpu: 500
distill_lr = None  # cpu: 0.5
settings = None  # cpu: ['W8A8', 'W6A6', 'W4A8', 'W4A4']
low_setting = None  # cpu: 'W4A4'
mp_bits = None  # cpu: [2, 3, 4, 6, 8]
mp_budgets = None  # cpu: [4, 3]
mp_act_bits = None  # cpu: [8, 8]
random_allocations = None  # cpu: 4
brute_force_layers = None  # cpu: 6
timing_steps = None  # cpu: 20
fp_min_accuracy = None  # cpu: 0.85
min_quant_drop = None  # cpu: 0.01
w8a8_margin = None  # cpu: 0.01
real_margin = None  # cpu: 0.02
bn_loss_ratio_max = None  # cpu: 0.1
rank_corr_min = None  # cpu: 0.5
max_pipeline_seconds = None  # cpu: 30.0
max_epoch_fraction = None  # cpu: 1.0

# %%
import matplotlib.pyplot as plt
import numpy as np

from reprobook import notebook, plots, train
from reprobook.papers.zeroq import distill, experiment, quant
from reprobook.papers.zeroq.experiment import SOURCES
from reprobook.stats import Estimate, accuracy, paired_difference

P = notebook.start("zeroq", globals())
DEVICE = train.pick_device()
plots.style()

# %% [markdown]
# ## Criteria, fixed before the run
#
# Each criterion compares a measured number's 95% confidence interval with a threshold:
# *met* when the whole interval is on the right side, *not met* when the whole interval
# is on the wrong side, *uncertain* otherwise. "Distilled ≈ real" and "W8A8 ≈ full
# precision" are equivalence tests: met only when the whole interval of the difference
# lies inside ±margin (`real_margin`, `w8a8_margin`), not met when it lies wholly
# outside. "Distilled beats Gaussian" and the mixed-precision comparisons are one-sided
# (superiority claims). Accuracy differences are paired: every
# quantized model is evaluated on the same test images, and the interval is a bootstrap
# over those images. Thresholds come from the paper (W8A8 within a fraction of a point,
# < 30 s, 0.5% of an epoch) or are declared as parameters above, never from the results.
# The full-precision accuracy is a sanity gate for everything: a network that has not
# learned cannot be quantized meaningfully. The comparison with real and Gaussian
# calibration has its own gate: at the chosen low bit setting, real-data calibration
# must actually lose accuracy, or that setting cannot tell calibration batches apart
# (the paper's W8A8 numbers cannot).
#
# Three *checks* test the implementation, not the paper: the dynamic program equals
# brute force on the first layers, every quantized weight tensor takes at most $2^k$
# distinct values per output channel at $k$ bits (counted on the quantized models), and
# every mixed-precision or random allocation fits its budget, $\sum_i P_i k_i \le
# b\sum_i P_i$. They can fail only through a bug, so they are never evidence for the
# claim; a failed check makes the verdict *inconclusive*.

# %%
claim = notebook.declare(P)
notebook.table(claim.declare())  # the criteria, fixed before the run

# %% [markdown]
# ## 1. The network to quantize
#
# At the `cpu` and `gpu` presets this is the book's *model of record*: a CIFAR-10
# ResNet-20 with BatchNorm (`models.CifarResNet`, 32 px, the paper's CIFAR-10 network)
# trained once by the package's trainer and committed with its provenance — recipe,
# seed, commit, hardware, training time and curve, test accuracy, and the SHA-256 of the
# weights, checked on every load (`torch.load(weights_only=True)`). A run never retrains
# it; `reprobook train-record zeroq` does. A network near ResNet-20's published 91.25%
# is what the paper's CIFAR-10 setting quantizes, and where 4-bit calibration data can
# matter; a few-epoch network of the 45-minute book would not be. The book aims for 91%;
# the next cell prints, from the provenance, the model's accuracy (with the target where
# it falls short) and the recipe that trained it. At `smoke` (and with `-p model
# cifar_resnet`) a CIFAR ResNet is trained here by the `train_*` parameters and cached
# under `$REPROBOOK_CACHE/models/`, keyed by a hash of everything that determines its
# weights. The `full` preset quantizes torchvision's ImageNet-pretrained ResNet-18 on
# the 50,000 ImageNet validation images, where `$REPROBOOK_IMAGENET` holds them; without
# them it says so and falls back to the CIFAR ResNet.

# %%
with claim.section("model"):
    run = experiment.network(P, DEVICE)
    net, names = run.net, list(quant.quantizable_layers(run.net))
    sizes = np.array(list(quant.layer_sizes(net).values()))  # [L]: P_i weights
    fp = quant.correct(net, run.x_test, run.y_test, run.inputs).numpy()  # [N] bool
fp_acc = claim.measure("full-precision test accuracy", accuracy(fp[None]))  # in [0, 1]
print(f"{run}\nfull precision, {len(fp):,} test images: {notebook.percent(fp_acc)}")

# %%
# Figure: Training of the full-precision network that is then quantized: accuracy per
#   epoch.
fig, ax = plt.subplots(figsize=(4.8, 2.8))
for column, label in [("test_acc", "test"), ("train_acc", "train (running)")]:
    if column in run.history:  # nothing trained here for a pretrained network
        ax.plot(run.history.epoch, 100 * run.history[column], "o-", ms=3, label=label)
ax.axhline(100 * fp_acc.mean, color="C2", lw=1, label="full precision, final")
ax.axhline(100 * P.fp_min_accuracy, ls=":", color="k", lw=1, label="sanity gate")
title = f"Training of the network to quantize ({run.where})"
ax.set(xlabel="epoch", ylabel="accuracy (%)", title=title)
ax.legend()
plt.show()

# %% [markdown]
# ## 2. Distilled Data
#
# For every BatchNorm layer $i$ with running statistics $(\mu_i, \sigma_i)$, and every
# image $b$ of the batch, let $\tilde\mu_{i,b}, \tilde\sigma_{i,b}$ be the per-channel
# mean and standard deviation of that BN's input over the spatial positions. The
# official code minimises, over the pixels of the batch $x$,
#
# $$\mathcal L(x) = \frac1B \sum_{b}\Big[\sum_{i} \|\tilde\mu_{i,b} - \mu_i\|_2^2
# + \|\tilde\sigma_{i,b} - \sigma_i\|_2^2
# \;+\; \|\tilde\mu_{0,b}\|_2^2 + \|\tilde\sigma_{0,b} - 1\|_2^2\Big],$$
#
# the last two terms on the (standardised) input itself — with Adam (lr 0.5, plateau
# schedule) from uniform noise. No label, no cross-entropy, no image prior: only what
# the BatchNorm layers remember. The two data-free or data-based alternatives get the
# same batch size: **Gaussian** noise $\mathcal N(0, 1)$ in the standardised input space
# (the paper's ablation), and **real** training images.

# %%
with claim.section("distilled data"):  # batches: {source: {seed: [B, C, H, W]}}
    distilled, batches = experiment.calibration_batches(run, P)
    bn_loss = experiment.bn_losses(net, batches)
d = experiment.distillation_summary(distilled)
claim.measure("BN loss after / before", Estimate.point(d.ratio))
print(d)
bn_loss.groupby("source")[["BN-statistics loss"]].mean().round(3)

# %%
# Figure: Distillation: the BatchNorm-statistics loss per Adam iteration (left) and the
#   calibration batches as images (right).
fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.4, 3.0), width_ratios=[1, 2])
for seed, dd in distilled.items():
    ax.semilogy(np.arange(1, len(dd.losses) + 1), dd.losses, label=f"seed {seed}")
levels = bn_loss.groupby("source")["BN-statistics loss"].mean()
for source, color in [("Gaussian", "C3"), ("real", "C1")]:
    ax.axhline(levels[source], ls=":", color=color, label=f"{source} batch")
ax.set(xlabel="Adam iteration", ylabel="BN-statistics loss", title="Distillation")
ax.legend()
rows = [batches[s][0][: min(6, P.calibration_size)] for s in SOURCES]  # [B, C, H, W]
bx.imshow(distill.mosaic(rows, run.mean, run.std), interpolation="nearest")
bx.set(xticks=[], yticks=(np.arange(3) + 0.5) * run.shape[-1], yticklabels=SOURCES)
bx.set_title("Calibration images, one batch per row")
bx.grid(False)
plt.show()

# %% [markdown]
# The real images have a *higher* BN-statistics loss than the distilled ones: the loss
# asks every single image to reproduce the dataset-wide statistics, which no natural
# image does. Distilled images are in that sense "more typical than real"; whether they
# calibrate as well is the next question.
#
# ## 3. Calibration: distilled vs Gaussian vs real
#
# Each uniform setting W$w$A$a$ quantizes every weight to $w$ bits (per output channel)
# and every ReLU output to $a$ bits, with the activation ranges set by one calibration
# batch — distilled, Gaussian or real, the same size — and is evaluated on the same test
# images. The difference between two calibrations is the mean over test images of the
# difference of their per-image correctness, with a bootstrap interval over the images
# (a paired comparison); with several seeds, each image's correctness is first averaged
# over the seeds' calibration batches.

# %%
with claim.section("calibration"):  # {(setting, source): [N] correctness}
    correct = experiment.calibration(run, batches, P.settings)
table, low = experiment.calibration_table(correct, P.settings), P.low_setting
w8a8_diff = paired_difference(correct[("W8A8", "distilled")], fp)
claim.measure("W8A8 distilled − full precision", w8a8_diff)
for other in ("real", "Gaussian"):
    claim.measure(f"{low} distilled − {other}", table.loc[low, f"distilled − {other}"])
drop = paired_difference(fp, correct[(low, "real")])
claim.measure(f"{low} full precision − real", drop)
print(f"full precision: {notebook.percent(float(fp.mean()))}")
experiment.shown(table)

# %%
# Figure: Quantized test accuracy per calibration source and setting (left) and the
#   paired differences that the criteria judge (right).
fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.8, 3.0))
xs = np.arange(len(P.settings))
for k, s in enumerate(SOURCES):
    x, label = xs + (k - 1) * 0.12, f"calibrated on {s}"
    plots.estimates(ax, x, table[s], 100, fmt="o-", label=label)
ax.axhline(100 * fp.mean(), color="k", ls="--", lw=1, label="full precision")
for k, column in enumerate(["distilled − real", "distilled − Gaussian"]):
    x, color = xs + (k - 0.5) * 0.15, f"C{2 - k}"
    plots.estimates(bx, x, table[column], 100, color=color, label=column)
bx.axhline(0, color="k", lw=1)
margin = 100 * P.real_margin  # pp
bx.axhspan(-margin, margin, color="C2", alpha=0.12, label=f"±{margin:g} pp")
ax.set(ylabel="test accuracy (%)", title="Accuracy (95% CI over test images)")
bx.set(ylabel="accuracy difference (pp)", title="Paired differences (same test images)")
for a in (ax, bx):
    a.set_xticks(xs, P.settings)
    a.set_xlabel("bits (weights W, activations A)")
    a.legend()
plt.show()

# %% [markdown]
# **What it shows.** At {glue:text}`low_setting`, calibrating on the distilled data
# gives {glue:text}`acc_low_distilled`, on real training images
# {glue:text}`acc_low_real` and on Gaussian noise {glue:text}`acc_low_Gaussian` (full
# precision {glue:text}`fp_acc`). The paper's ablation puts distilled data about level
# with real data and far above Gaussian noise.

# %% [markdown]
# ## 4. Sensitivity and mixed precision
#
# The sensitivity of layer $i$ at $k$ bits is the KL divergence between the outputs of
# the full-precision network and of the network with *only* layer $i$'s weights
# quantized to $k$ bits, averaged over a batch: $\Omega_i(k) = \frac1N\sum_j
# \mathrm{KL}\big(M(\theta; x_j)\,\|\,M(\tilde\theta_i(k); x_j)\big)$. It is measured on
# each of the three batches; the rank agreement is the Spearman correlation over layers
# of $\Omega_i(k)$, averaged over the bit widths below the largest (where every $\Omega$
# is nearly zero), with a bootstrap over each batch's images.
#
# Mixed precision then solves $\min \sum_i \Omega_i(k_i)$ subject to
# $\sum_i P_i k_i \le S$, with $P_i$ the weights of layer $i$ and $S = b\sum_i P_i$ for
# an average of $b$ bits — exactly the size of uniform $b$-bit weights. The dynamic
# program keeps the Pareto frontier of (size, summed sensitivity) layer by layer, which
# gives the optimum at every budget at once; it is checked against brute-force
# enumeration on the first layers. The bit widths a layer may take are
# {glue:text}`mp_bits` (`mp_bits`): {glue:text}`mp_uniform`.
# Each budget has its own activation width (`mp_act_bits`, one per budget); this run
# compares {glue:text}`mp_settings`. In the criteria's names, MP3/A8 is a
# mixed-precision network of 3 bits a weight on average with 8-bit activations, and
# W3A8 its uniform counterpart of the same size.

# %%
BITS = sorted(set(P.mp_bits) | set(P.mp_budgets))  # the columns of Ω
with claim.section("sensitivity"):
    sens, sens_seconds = experiment.sensitivities(net, batches, BITS)  # [L, bits, B]
agreement = experiment.rank_agreements(sens, BITS)
claim.measure("sensitivity rank agreement, distilled vs real", agreement["distilled"])
omega = {s: sens[s].mean(-1).numpy() for s in SOURCES}  # Ω_i(k) = mean_j KL: [L, bits]
agree = ", ".join(f"{s} {e:.2f}" for s, e in agreement.items())
print(f"Spearman rank agreement with real-data sensitivities: {agree}")
experiment.omega_table(omega, BITS, names).style.format("{:.2e}")

# %%
# Figure: Sensitivity Ω_i of each layer at two bit widths, measured with each
#   calibration source.
fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.0), sharey=True)
x = np.arange(len(names))
for ax, k in zip(axes, [k for k in BITS if k < max(BITS)][:2]):
    for n, s in enumerate(SOURCES):
        ax.bar(x + (n - 1) * 0.27, omega[s][:, BITS.index(k)], width=0.27, label=s)
    ax.set_yscale("log")
    ax.set_xticks(x, names, rotation=90)
    ax.set(title=f"Ω_i({k} bits)", xlabel="layer")
axes[0].set_ylabel("KL divergence to full precision")
axes[0].legend()
fig.suptitle("Sensitivity of each layer, measured on each calibration batch")
plt.show()

# %%
with claim.section("pareto"):
    gap = experiment.dp_gap(omega["distilled"], sizes, P, BITS)  # on the first layers
    claim.measure("DP − brute force, largest |Σ Ω| gap", Estimate.point(gap))
    dp = experiment.allocations(omega, sizes, names, P, BITS)
    randoms = experiment.random_allocations(sizes, names, P)
print(f"DP − brute force on {P.brute_force_layers} layers: largest gap {gap:.1e}; {dp}")
dp.table(sizes, P.mp_budgets)

# %%
# Figure: Weight size against summed sensitivity for every allocation the search
#   considered; the Pareto frontier in black.
fig, ax = plt.subplots(figsize=(5.6, 3.2))
front, od = dp.frontier["distilled"], omega["distilled"]
ax.step(front.sizes / sizes.sum(), front.costs, where="post", color="k", lw=1)
for i, b in enumerate(P.mp_budgets):
    kinds = {  # label: (allocations {layer: bits}, style)
        "random allocations": (randoms[b], dict(s=10, color=plots.GREY, alpha=0.6)),
        "uniform": ([dict.fromkeys(names, b)], dict(marker="s", color="C3")),
        "chosen (DP)": ([dp.chosen[b, "distilled"]], dict(marker="*", s=90, c="C2")),
    }
    for z, (label, (allocs, kw)) in enumerate(kinds.items()):
        xy = experiment.points(allocs, od, sizes, BITS)  # (average bits, Σ Ω)
        ax.scatter(*xy, **kw, zorder=2 + z, label=None if i else label)
    ax.axvline(b, ls=":", color=plots.GREY, lw=1)
ax.set(xlabel="average weight bits Σ P_i k_i / Σ P_i", yscale="log")
ax.set(ylabel="Σ_i Ω_i(k_i)", title="Size against summed sensitivity (black: frontier)")
ax.legend()
plt.show()

# %%
with claim.section("mixed precision"):
    mp_correct, each = experiment.mixed_precision(run, batches, dp, randoms, P)
MIXED = experiment.mixed_settings(P)  # {budget b: activation bits a}: MPb/Aa
for b, a in MIXED.items():
    mp, uniform, random = (mp_correct[b, k] for k in ("distilled", "uniform", "random"))
    name = experiment.mixed_name(b, a)  # MPb/Aa
    claim.measure(f"{name} − W{b}A{a}", paired_difference(mp, uniform))
    claim.measure(f"{name} − random allocations", paired_difference(mp, random))
levels, size = experiment.allocation_checks(net, P.settings, dp, randoms, P)
claim.measure("largest levels per channel − 2^k", Estimate.point(levels))
claim.measure("largest Σ P_i k_i − b Σ P_i", Estimate.point(size))
print(f"max levels per channel − 2^k = {levels}; max Σ P_i k_i − b Σ P_i = {size}")
experiment.shown(experiment.mixed_table(mp_correct, MIXED))

# %%
# Figure: Mixed-precision allocations from the Pareto search against uniform precision
#   and random allocations of the same size.
n = len(MIXED)
fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.0), squeeze=False, sharey=True)
for ax, (b, a) in zip(axes[0], MIXED.items()):
    uniform = mp_correct[(b, "uniform")]
    kinds = {f"MP ({s})": s for s in SOURCES} | {"random (mean)": "random"}
    for i, (k, color) in enumerate(zip(kinds.values(), ["C0", "C1", "C2", plots.GREY])):
        diff = paired_difference(mp_correct[(b, k)], uniform)
        plots.estimates(ax, [i], [diff], 100, color=color)
    dots = [100 * (v.mean() - uniform.mean()) for v in each[b]]  # per allocation
    ax.scatter([len(kinds) - 0.85] * len(dots), dots, s=8, color=plots.GREY, alpha=0.7)
    label = f"uniform W{b}A{a} ({notebook.percent(uniform.mean())})"
    ax.axhline(0, color="C3", lw=1, label=label)
    ax.set_xticks(range(len(kinds)), list(kinds), rotation=20)
    ax.set(title=f"{experiment.mixed_name(b, a)}: {b} bits a weight on average")
    ax.legend()
axes[0][0].set_ylabel("accuracy − uniform (pp, paired, 95% CI)")
fig.suptitle("Mixed precision against uniform precision of the same size")
plt.show()

# %% [markdown]
# ## 5. Seconds, not an epoch
#
# The ZeroQ pipeline, as one would run it to quantize a network without data, is: distil
# one batch, measure the sensitivities on it, solve the dynamic program, calibrate the
# chosen mixed-precision network (here: the first budget). Each stage was timed above on
# this machine. One training epoch is *measured*, not assumed: timed training steps
# (forward, backward, SGD step) of the same network at the same input size and batch
# size, turned into the time of one pass over the full training set (CIFAR-10: 50,000
# images; ImageNet: 1,281,167). Data loading is not included, which makes the epoch look
# shorter and the comparison harder for ZeroQ. The intervals resample the distillation's
# iteration times and the timed training steps: they show the jitter within this run,
# not the spread between runs or machines. When the ratio comes out close to 1 — on
# CIFAR-10, where an epoch is short, it can — the verdict on that criterion can change
# from one run to the next: the ratio is the result.

# %%
with claim.section("timing"):
    timing = experiment.timing(run, P, distilled[0], batches, dp, sens_seconds)
claim.measure("pipeline seconds", timing.pipeline)
claim.measure("pipeline / one training epoch", timing.fraction)
print(timing)
timing.table()

# %%
# Figure: Wall time of each stage of the data-free pipeline on this machine, beside one
#   training epoch.
fig, ax = plt.subplots(figsize=(5.6, 2.4))
seconds = timing.seconds()
ax.barh(list(seconds), list(seconds.values()), color=["C0"] * 4 + ["C2", plots.GREY])
limit = f"{P.max_pipeline_seconds:g} s"
ax.axvline(P.max_pipeline_seconds, ls=":", color="k", lw=1, label=limit)
ax.invert_yaxis()
ax.set(xlabel="wall time (s, log scale)", xscale="log")
ax.set_title(f"Time on this machine ({DEVICE.type})")
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
plt.show()

# %% [markdown]
# ## Verdict

# %%
numbers = experiment.numbers(run, d, correct, mp_correct, agreement, timing)
args = P, run, fp_acc, d, w8a8_diff, correct, mp_correct, agreement, timing
report = notebook.finish(claim, P, numbers, text=experiment.prose(*args))
notebook.table(report)

# %%
# NBVAL_CHECK_OUTPUT
print(claim.verdict_line())

# %% [markdown]
# **Reading the verdict.** At the {glue:text}`preset` preset this run took
# {glue:text}`minutes` minutes and quantized {glue:text}`model_desc` (full precision
# {glue:text}`fp_acc`); the overall verdict is **{glue:text}`verdict`**.
#
# - *Data-free calibration* ({glue:text}`verdict_data_free_calibration`): Distilled Data
#   brought the BN-statistics loss from {glue:text}`bn_before` to {glue:text}`bn_after`.
#   At {glue:text}`low_setting` the network calibrated on it reaches
#   {glue:text}`acc_low_distilled`, against {glue:text}`acc_low_real` with real training
#   images and {glue:text}`acc_low_Gaussian` with Gaussian noise; at W8A8 distilled
#   minus full precision is {glue:text}`w8a8_diff`.
# - *Mixed precision* ({glue:text}`verdict_mixed_precision`): layer sensitivities on
#   Distilled Data rank the layers with a Spearman agreement of
#   {glue:text}`rank_distilled` with real data (Gaussian: {glue:text}`rank_Gaussian`).
#   Against uniform precision of the same size (MP$b$/A$a$ against W$b$A$a$: $b$ bits a
#   weight on average, $a$-bit activations), {glue:text}`mp_results` (random: the mean
#   over the allocations). The card and the table above say which of these
#   comparisons this preset judges.
# - *Seconds, not an epoch* ({glue:text}`verdict_seconds_not_an_epoch`): the pipeline
#   took {glue:text}`pipeline_s` s, {glue:text}`epoch_pct` of one training epoch
#   measured here ({glue:text}`epoch_s` s).
#
# The checks in the verdict line (DP = brute force, at most $2^k$ weight values per
# channel, allocations within their budget) are implementation invariants, not
# evidence: they only decide whether the verdict can be trusted at all — had one failed,
# the verdict would read *inconclusive: implementation check failed*. The evidence is
# the criteria: the two equivalence tests (W8A8 ≈ full precision within
# ±{glue:text}`w8a8_margin`, {glue:text}`low_setting` distilled ≈ real within
# ±{glue:text}`real_margin`) and the one-sided superiority criteria.
#
# What a `cpu` run can and cannot show: the network is a CIFAR-10 ResNet-20 — the
# paper's CIFAR-10 setting, not one of its ImageNet networks.
# How much Gaussian noise misjudges activation ranges may depend on depth, resolution
# and the input statistics, so a `cpu` result about Gaussian calibration does not
# transfer to ImageNet in either direction; the comparison with real-data calibration
# and the mixed-precision results are statements about this network only. At 4 bits
# uniform W4A8 is already within a couple of points of full precision, so mixed
# precision has little room to gain there: a pilot of this preset put MP4/A8 − W4A8 at
# +0.5 pp [−0.2, +1.2] on 2,500 test images, and deciding a difference that small needs
# all 10,000. That criterion is therefore declared *not tested* at `cpu` before the run
# (the table of criteria gives the reason), still measured and shown, and tested by the
# `gpu` preset; the 3-bit budget, where uniform precision loses more, is tested here.
# On CIFAR-10 one epoch is only 50,000 small images while the official distillation
# runs 500 iterations on 64 images (32,000 forward-backward passes), so the paper's
# "0.5% of an epoch", an ImageNet number, is out of reach by arithmetic alone; the `cpu`
# threshold is the qualitative "less than an epoch". Only the `full` preset
# (ImageNet-pretrained ResNet-18, the 50,000 validation images, the official
# distillation on a GPU, the paper's mixed-precision settings MP6/A6 and MP4/A8 with
# bit widths {2, 4, 8}) follows the paper's protocol. The provenance of this run —
# commit, packages, hardware, parameters — is in the results file printed above and on
# the summary page.
