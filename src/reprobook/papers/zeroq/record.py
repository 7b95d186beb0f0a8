"""ZeroQ's model of record: a CIFAR-10 ResNet-20 (width 16, 32 px) trained once by this package and
committed beside this file, so that the `cpu` preset quantizes a network near ResNet-20's published
CIFAR-10 accuracy (91.25%, He et al. 2016) instead of the few-epoch model a 45-minute book could train.
The committed one is below the 91% target (its provenance says by how much); a longer run, a GPU's
minutes, should reach it.

``resnet20-cifar10.pt`` holds the ``state_dict`` (read with ``torch.load(weights_only=True)``: tensors,
no pickled code); ``resnet20-cifar10.json`` its provenance: the recipe below, the seed, the commit and
hardware it was trained on, its training time and curve, its test accuracy, and the weights' SHA-256,
checked on every load. ``reprobook train-record zeroq`` retrains it; nothing else does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import types
import typing
from pathlib import Path

import torch
from torch import nn

from ... import checkpoints, data, models, provenance, stats, summary, train, units
from . import RECORD_SHAPE

FOLDER = Path(__file__).with_name("record")
NAME = "resnet20-cifar10"
(DEPTH, WIDTH, RESOLUTION), SEED = RECORD_SHAPE, 0
# He et al. (2016) train ResNet-20 for 164 epochs to 91.25%. Five recipes of 80–160 epochs were
# tried on 2-core CPUs; all end between 87.4% and 89.5% on the JPEG mirror of CIFAR-10. Every one of
# 1,000 sampled mirror files (train and test) carries the IJG quality-75 quantization tables with
# 4:2:0 chroma subsampling (a 32×32 image keeps 16×16 colour): He et al.'s number is on the original
# pixels.
# - 80 epochs of linear decay, short warm-up, weight decay 5e-4, fp32 (at 6a68612, 87 min):
#   88.67% [88.03, 89.28], the model of record before this one (provenance in git history).
# - The same for 110 epochs with bf16 autocast on the CPU (at 3ce3173, 101 min): 88.43% [87.79,
#   89.05], not more accurate, not committed; record/*.attempt-3ce3173.json.
# - The first recipe plus Cutout 8 px and label smoothing 0.1, in bf16 (at 420aa72, 92 min, median
#   1,205 img/s): 88.71% [88.07, 89.32], more accurate than the first by 4 of 10,000 images (no real
#   difference). Its train accuracy ended at 93.8% and test accuracy still rose in the last epochs.
# - The committed one, below: that recipe for 160 epochs (at 658c5a5, 132 min on a 2-core Xeon with
#   AMX): 89.49% [88.87, 90.08], 78 images of 10,000 more than the one before, whose interval
#   overlaps; still below 91%. It fits its training images (98.0% of a random 10,000 without
#   augmentation, against 89.5% on the test set; measured 2026-12-07): what it lacks is
#   generalisation, not fit, so more epochs alone are unlikely to close the gap. Its BN statistics
#   are the right ones: recomputed over all 50,000 augmented or clean training images in shuffled
#   batches, the test accuracy stays at 89.5–89.6%.
# - He et al.'s own recipe (2026-12-08, at 12b4ccc, 124 min on a 2-core Xeon with AMX, median
#   1,232 img/s): plain momentum 0.9, lr 0.1 with no warm-up, ×0.1 at epochs 80 and 120 of 160
#   (theirs: 32k and 48k of 64k steps, on 45,000 images), weight decay 1e-4, crop + flip only, in
#   bf16 (theirs fp32): 87.46% [86.79, 88.10], 2.0 points below the committed model, whose interval
#   it does not meet, and 3.8 below their 91.25%. Its train accuracy ended at 98.6%. So the paper's
#   recipe is not what the committed one lacks; on this mirror it does worse. Its weights were not
#   kept; its provenance is record/*.attempt-12b4ccc.json.
# - Not a recipe, a probe (2026-12-07, outside the package): stochastic weight averaging
#   (Izmailov et al. 2018) from the committed model, 12 epochs at a constant rate 0.02 with this
#   recipe's augmentation, the weights averaged and the BN statistics recomputed: 89.75% (+0.26
#   points, 26 images of 10,000; each epoch's own weights 81–86%). Not pursued for 91%.
# - Not a recipe, a measure of what such JPEG costs (2026-12-07, outside the package): one more
#   quality-75, 4:2:0 pass (Pillow) over the train and test images, on an 8×8 grid shifted by 4 px
#   (reflect-padded to 40×40, encoded, decoded, cropped back: 31.9 dB PSNR against the mirror; the
#   same pass on the mirror's own grid gives 50.8 dB, nearly no change), then this recipe for 20 epochs,
#   seeds 0 and 1: the mirror 85.96% and 85.82%, with the pass 84.57% and 84.98% (−1.1 points; −1.39
#   and −0.84 per seed). The first pass (original pixels → mirror) cannot be measured here; one more
#   of the same strength costs about a point at 20 epochs, so a gap of that order between He et
#   al.'s 91.25% and what the mirror allows is plausible (not measured at 160 epochs).
RECIPE = train.TrainConfig(
    epochs=160,
    batch_size=128,
    lr=0.1,
    weight_decay=5e-4,
    warmup=0.03,
    augment=True,  # pad-4 random crop + horizontal flip
    cutout=8,  # then one 8×8 square zeroed per image
    label_smoothing=0.1,
    precision="bf16-everywhere",  # bf16 autocast, on the CPU too
    evals=1,
)
# The model of record the book wants (issue 13); the committed one is below it.
TARGET_ACCURACY = 0.91


class RecordError(RuntimeError):
    """The committed weights are missing, altered or of another architecture; the message says how to fix it."""


def build() -> nn.Module:
    torch.manual_seed(SEED)
    return models.CifarResNet(DEPTH, WIDTH, norm="batch")


def paths(folder: Path = FOLDER) -> tuple[Path, Path]:
    return folder / f"{NAME}.pt", folder / f"{NAME}.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recipe_with(changes: dict) -> train.TrainConfig:
    """:data:`RECIPE` with some fields changed (``train-record --set cutout=8``), each checked
    against the field's type; a ``ValueError`` names an unknown field or a value of the wrong type."""
    current = dataclasses.asdict(RECIPE)
    hints = typing.get_type_hints(train.TrainConfig)
    for key, value in changes.items():
        if key not in current:
            raise ValueError(
                f"the recipe has no field {key!r}; fields: {', '.join(current)}"
            )
        if not _fits(value, hints[key]):
            raise ValueError(
                f"recipe field {key} takes {getattr(hints[key], '__name__', hints[key])} "
                f"(it is {current[key]!r}), got {value!r}"
            )
    return train.TrainConfig.of({**current, **changes})


def _fits(value, hint) -> bool:
    """Whether ``value`` (read from YAML) suits a TrainConfig field annotated ``hint``: a number
    for a float (5 for 5.0), an int for an int, a list for a tuple, exactly a bool or a str."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    kind = type(value)
    for option in options:
        origin = typing.get_origin(option) or option
        if (
            (option is type(None) and value is None)
            or (origin is float and kind in (int, float))
            or (origin is tuple and kind in (list, tuple))
            or origin is kind
        ):
            return True
    return False


def fit(
    folder: Path = FOLDER, device: str | None = None, recipe: train.TrainConfig = RECIPE
) -> dict:
    """Train the model of record on the 50,000 CIFAR-10 training images by ``recipe``, evaluate it
    on the 10,000 test images and write the weights and their provenance into ``folder``; returns
    the provenance."""
    cifar = data.load("cifar10")
    started = time.time()
    where = provenance.collect(
        started=started
    )  # the code as it was when training began
    model = build()
    history = train.fit(model, cifar, recipe, seed=SEED, device=device, desc=NAME)
    seconds = time.time() - started
    correct = train.correct(
        model.to(train.pick_device(device)),
        cifar.x_test,
        cifar.y_test,
        data.normaliser(cifar.mean, cifar.std, train.pick_device(device)),
    )
    accuracy = stats.proportion_ci(int(correct.sum()), len(correct))  # exact interval
    weights, meta_path = paths(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with data.atomic_write(weights) as tmp:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    meta = dict(
        name=NAME,
        architecture=dict(arch="CifarResNet", depth=DEPTH, width=WIDTH, norm="batch"),
        data=dict(
            dataset="cifar10",
            resolution=RESOLUTION,
            train_images=len(cifar.y_train),
            source=cifar.source,  # e.g. the JPEG mirror, whose pixels differ slightly
        ),
        recipe=dataclasses.asdict(recipe),
        seed=SEED,
        command=" ".join(
            ["reprobook train-record zeroq"]
            + [
                f"--set {k}={v}"
                for k, v in dataclasses.asdict(recipe).items()
                if v != getattr(RECIPE, k)
            ]
        ),
        test_accuracy=accuracy.to_dict(),
        test_images=len(correct),
        train_seconds=seconds,
        diverged=bool(history.attrs.get("diverged")),
        history=history.to_dict("records"),
        provenance=where,
        sha256=sha256(weights),
    )
    with data.atomic_write(meta_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, default=str) + "\n")
    return meta


def load(folder: Path = FOLDER) -> tuple[nn.Module, dict]:
    """The committed model (eval mode, on the CPU) and its provenance; :class:`RecordError` when the
    files are missing or the weights are not the ones the provenance describes."""
    weights, meta_path = paths(folder)
    fix = (
        "run `reprobook train-record zeroq` (about 2 h on 2 CPU cores with bf16 instructions, "
        "about 6 h with `--set precision=fp32` on 2 AVX2 cores; on a GPU, not yet timed)"
    )
    if not (weights.is_file() and meta_path.is_file()):
        raise RecordError(f"the ZeroQ model of record is missing from {folder}; {fix}")
    meta = json.loads(meta_path.read_text())
    if sha256(weights) != meta.get("sha256"):
        raise RecordError(
            f"{weights} does not match the SHA-256 in {meta_path.name} (altered or half-written); {fix}"
        )
    try:
        model = checkpoints.load_into(build(), weights)
    except RuntimeError as err:  # another architecture's state_dict
        raise RecordError(
            f"{weights} is not a CifarResNet-{DEPTH}: {err}; {fix}"
        ) from None
    return model.eval(), meta


def recipe_text(recipe: dict) -> str:
    """A recipe (``dataclasses.asdict`` of a TrainConfig, as the provenance keeps it) as the page
    quotes it: ``SGD with Nesterov momentum 0.9, lr 0.1, linear decay after a 3% warm-up, weight
    decay 0.0005, batch 128, crop + flip, Cutout 8 px, label smoothing 0.1, bf16``; Cutout and
    label smoothing are named only where they are on."""
    r = {**dataclasses.asdict(train.TrainConfig()), **recipe}
    if r["optimizer"] == "sgd":
        kind = "Nesterov momentum" if r["nesterov"] else "momentum"
        optimizer = f"SGD with {kind} {r['momentum']:g}"
    else:
        optimizer = f"AdamW with β = {r['betas'][0]:g}, {r['betas'][1]:g}"
    if r["warmup_steps"]:
        warmup = f"after {r['warmup_steps']} warm-up steps"
    elif r["warmup"]:
        warmup = f"after a {r['warmup']:.0%} warm-up"
    else:  # He et al.'s ResNet-20: the full rate from the first step
        warmup = "with no warm-up"
    if r["schedule"] == "step":  # MultiStepLR
        steps = ", ".join(f"{m:g}" for m in r["milestones"])
        schedule = f"×{r['lr_gamma']:g} at epochs {steps}"
    elif r["schedule"] == "inverse_sqrt":
        schedule = "inverse-square-root decay"
    else:
        schedule = f"{r['schedule']} decay"
    parts = [
        f"{optimizer}, lr {r['lr']:g}, {schedule} {warmup}",
        f"weight decay {r['weight_decay']:g}, batch {r['batch_size']}",
        "crop + flip" if r["augment"] else "no augmentation",
        f"Cutout {r['cutout']} px" if r["cutout"] else "",
        f"label smoothing {r['label_smoothing']:g}" if r["label_smoothing"] else "",
        "bf16" if r["precision"] != "fp32" else "fp32",
    ]
    return ", ".join(part for part in parts if part)


def describe(meta: dict) -> str:
    """One line for the page: what the model is, how well it does, how, where and when it was
    trained."""
    acc = meta["test_accuracy"]
    hw = meta["provenance"]["hardware"]
    where = hw.get("gpu") or f"{hw.get('cores')}-core {hw.get('cpu')}"
    commit = (meta["provenance"].get("git_commit") or "unknown")[:7]
    # trained beside other runs (.ci/gpu/run --jobs): its minutes include their load
    shared = summary.shared_text(meta["provenance"])
    return (
        f"ResNet-{DEPTH} (width {WIDTH}, {RESOLUTION} px), seed {meta['seed']}: test accuracy "
        f"{100 * acc['mean']:.2f}% [{100 * acc['low']:.2f}, {100 * acc['high']:.2f}] on "
        f"{meta['test_images']:,} images"
        + (f" (target {TARGET_ACCURACY:.0%})" if acc["mean"] < TARGET_ACCURACY else "")
        + f"; trained for {units.count(meta['recipe']['epochs'], 'epoch')} ({recipe_text(meta['recipe'])}) "
        f"in {meta['train_seconds'] / 60:.0f} min on {where}{f' ({shared})' if shared else ''} "
        f"at commit {commit}, "
        f"{meta['provenance']['started_utc'][:10]}"
    )
