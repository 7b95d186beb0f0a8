"""A small, fast trainer for image classifiers held as tensors.

The whole dataset lives on the device as uint8; each step slices a batch, augments it on the device
(random crop with padding and horizontal flip, vectorised over the batch) and normalises it. No
DataLoader, no per-image Python. Data order and augmentation draw from one seeded generator, so two
runs with the same seed and the same initial weights are identical on the CPU.
"""

from __future__ import annotations

import importlib.util
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

with (
    warnings.catch_warnings()
):  # without ipywidgets tqdm.auto warns, then falls back to the text bar
    warnings.simplefilter("ignore")
    from tqdm.auto import tqdm

from .data import ImageData, normaliser


def pick_device(name: str | None = None) -> torch.device:
    """``name`` if given, else CUDA when available, else the CPU."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def progress_enabled() -> bool:
    return os.environ.get("REPROBOOK_PROGRESS", "1") not in ("0", "false", "no")


# In "line" mode a long run also reports at the first evaluation after every this many seconds, so
# that a background `reprobook train-record` (hours) shows its epoch, accuracy, speed and time left.
PROGRESS_EVERY_S = 300.0


def progress_mode() -> str:
    """How a training run reports progress where it runs: ``"bar"`` (a live tqdm bar) in a terminal or
    a Jupyter front end with widgets (Colab, JupyterLab); ``"line"`` (one line when the run ends) where
    neither exists, e.g. under plain papermill, whose output notebook would otherwise fill with bar
    fragments; ``"off"`` with ``REPROBOOK_PROGRESS=0`` (``reprobook run``)."""
    if not progress_enabled():
        return "off"
    if sys.stderr.isatty() or importlib.util.find_spec("ipywidgets") is not None:
        return "bar"
    return "line"


def random_crop_flip(
    x: torch.Tensor, pad: int, generator: torch.Generator, flip: bool = True
) -> torch.Tensor:
    """Random ``pad``-pixel translations (zero padding, then crop back) and horizontal flips, per image."""
    n, _, h, w = x.shape
    if pad:
        padded = F.pad(x, (pad, pad, pad, pad))
        draw = dict(generator=generator, device=generator.device)
        dy = torch.randint(0, 2 * pad + 1, (n, 1, 1), **draw).to(x.device)
        dx = torch.randint(0, 2 * pad + 1, (n, 1, 1), **draw).to(x.device)
        rows = (dy + torch.arange(h, device=x.device).view(1, h, 1)).expand(n, h, w)
        cols = (dx + torch.arange(w, device=x.device).view(1, 1, w)).expand(n, h, w)
        batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
        x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if flip:
        mirror = (
            (torch.rand(n, generator=generator, device=generator.device) < 0.5)
            .to(x.device)
            .view(n, 1, 1, 1)
        )
        x = torch.where(mirror, x.flip(3), x)
    return x


def cutout(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Cutout (DeVries & Taylor 2017): one ``size``×``size`` square per image set to 0, the channel
    mean after normalisation. Its centre is uniform over the image, so near a border the square is
    clipped, as in the official code."""
    n, _, h, w = x.shape
    draw = dict(generator=generator, device=generator.device)
    cy = torch.randint(0, h, (n, 1, 1, 1), **draw).to(x.device)  # (n, 1, 1, 1)
    cx = torch.randint(0, w, (n, 1, 1, 1), **draw).to(x.device)
    rows = torch.arange(h, device=x.device).view(1, 1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, 1, w)
    half = size // 2
    inside = (
        (rows >= cy - half)
        & (rows < cy + half)
        & (cols >= cx - half)
        & (cols < cx + half)
    )  # (n, 1, h, w)
    return x.masked_fill(inside, 0.0)


SCHEDULES = ("linear", "step", "inverse_sqrt")
OPTIMIZERS = ("sgd", "adam")  # "adam": AdamW, decoupled weight decay
# "bf16": autocast on CUDA, fp32 on the CPU; "bf16-everywhere": autocast on the CPU too (ResNet-20 at
# 32 px on the 2-core AVX512-BF16 CPU: 1.35× fp32 in a bare step loop, a median 1,210 img/s in the
# trainer against 870–1,050 in fp32; not measured for the small cpu-preset nets, which stay fp32).
# Only a CPU with bf16 instructions gains: see slow_precision.
PRECISIONS = ("fp32", "bf16", "bf16-everywhere")


def cpu_has_bf16() -> bool | None:
    """Whether this CPU computes bf16 in hardware (x86: AVX512-BF16 or AMX tiles); ``None`` where
    torch does not say (other architectures, a torch without these private probes)."""
    probes = [
        getattr(torch.cpu, name, None)
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    ]
    if platform.machine().lower() not in ("x86_64", "amd64") or None in probes:
        return None
    return any(probe() for probe in probes)


def slow_precision(precision: str, device: torch.device) -> str | None:
    """Why training in ``precision`` on ``device`` would be slower than fp32, or ``None``: bf16
    autocast on a CPU without bf16 instructions is emulated. ResNet-20 at 32 px, batch 128, a bare
    step loop: on a 2-core AVX2 EPYC (2026-12-06) 38 images/s against 382 in fp32; on a 2-core
    AVX-512 Xeon without AVX512-BF16 or AMX (2026-12-07) 222–239 against 391–437, about 1.8× slower."""
    if (
        precision == "bf16-everywhere"
        and device.type == "cpu"
        and cpu_has_bf16() is False
    ):
        return (
            "precision=bf16-everywhere computes in bf16 on the CPU, and this CPU "
            f"({torch.backends.cpu.get_cpu_capability()}) has no bf16 instructions: "
            "emulated, it trains slower than fp32 (ResNet-20: 10x on an AVX2 EPYC, 1.8x on an "
            "AVX-512 Xeon)"
        )
    return None


@dataclass
class TrainConfig:
    """One training run's budget and optimizer. The defaults are the book's `cpu` choices; the
    `full` presets set the official protocols through the same fields (e.g. open_lth: ``sgd``,
    ``nesterov=False``, ``schedule="step"``, ``milestones=(80, 120)``; LRA: ``adam``,
    ``betas=(0.9, 0.98)``, ``eps=1e-9``, ``schedule="inverse_sqrt"``, ``warmup_steps=1000``)."""

    # may be fractional: the run stops after round(epochs * steps_per_epoch) steps
    epochs: float = 1.0
    batch_size: int = 128
    lr: float = 0.05  # the peak learning rate of every schedule
    momentum: float = 0.9
    # SGD with Nesterov momentum; False: PyTorch's plain (heavy-ball) momentum
    nesterov: bool = True
    weight_decay: float = 5e-4
    optimizer: str = "sgd"  # "sgd" or "adam" (AdamW: decoupled weight decay)
    betas: tuple[float, float] = (0.9, 0.999)  # Adam
    eps: float = 1e-8  # Adam
    schedule: str = "linear"  # one of SCHEDULES, see lr_factor
    warmup: float = 0.1  # fraction of the steps with a linear warm-up
    warmup_steps: int | None = None  # a warm-up of this many steps instead
    # "step": the rate is multiplied by lr_gamma after each of these epochs (MultiStepLR)
    milestones: tuple[float, ...] = ()
    lr_gamma: float = 0.1
    # one of PRECISIONS, see autocast
    precision: str = "fp32"
    # random crop (pad 4 for 32 px, 2 otherwise) + flip; not for digits
    augment: bool = False
    # side of a Cutout square per training image (0: none), after the crop and flip; e.g. 8 px
    cutout: int = 0
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    # evaluations on the test split per epoch (history rows); 0: one, after the last step (for runs
    # whose caller reads only the final row: each skipped evaluation is a pass over the test split)
    evals: int = 1
    # NHWC convolutions for image batches: 1.1–1.3× faster on the CPU (where channels_last_is_safe)
    channels_last: bool = True
    # torch.compile the training forward pass (off by default: compiling takes longer than a
    # cpu-preset run; evaluation always runs the eager model)
    compile: bool = False

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {PRECISIONS}, got {self.precision!r}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"
            )
        if self.evals < 0:
            raise ValueError(
                f"evals counts evaluations per epoch (>= 0; 0: only after the last step), got {self.evals}"
            )
        if self.cutout < 0:
            raise ValueError(
                f"cutout is a square's side in pixels (>= 0), got {self.cutout}"
            )
        # numbers outside these ranges would train nothing, or diverge, well after the run started
        for name, holds, allowed in (
            ("epochs", self.epochs > 0, "> 0 (may be fractional)"),
            ("batch_size", self.batch_size >= 1, ">= 1"),
            ("lr", self.lr > 0, "> 0"),
            ("momentum", 0 <= self.momentum < 1, "in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, ">= 0"),
            ("warmup", 0 <= self.warmup <= 1, "a fraction of the steps, in [0, 1]"),
            ("warmup_steps", (self.warmup_steps or 0) >= 0, ">= 0, or None"),
            ("lr_gamma", self.lr_gamma > 0, "> 0"),
            ("eps", self.eps > 0, "> 0"),
            ("betas", all(0 <= b < 1 for b in self.betas), "two numbers in [0, 1)"),
            ("label_smoothing", 0 <= self.label_smoothing < 1, "in [0, 1)"),
            ("grad_clip", self.grad_clip is None or self.grad_clip > 0, "> 0, or None"),
        ):
            if not holds:
                raise ValueError(
                    f"{name} must be {allowed}, got {getattr(self, name)!r}"
                )

    @classmethod
    def of(cls, params: Mapping, **overrides) -> TrainConfig:
        """The fields a notebook's parameters name (``params[field]`` for every field present),
        then ``overrides``: one way from a preset to a run, so a preset that adds e.g. ``schedule``
        changes the run without a line in the notebook. A parameter ``lr_drops`` (fractions of the
        run, e.g. ``[0.5, 0.75]``: epochs 80 and 120 of 160) becomes ``milestones`` in epochs."""
        names = {f.name for f in fields(cls)}
        picked = {k: params[k] for k in names if k in params}
        for key in ("betas", "milestones"):  # lists in YAML, tuples here
            if key in picked and picked[key] is not None:
                picked[key] = tuple(picked[key])
        config = {**picked, **overrides}
        if "lr_drops" in params:  # fractions of the run → milestones in epochs
            epochs = config.get("epochs", cls.epochs)
            config.setdefault(
                "milestones", tuple(f * epochs for f in params["lr_drops"])
            )
        return cls(**config)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=cfg.lr,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov and cfg.momentum > 0,
            weight_decay=cfg.weight_decay,
        )
    if cfg.optimizer == "adam":
        return torch.optim.AdamW(
            params,
            lr=cfg.lr,
            betas=cfg.betas,
            eps=cfg.eps,
            weight_decay=cfg.weight_decay,
        )
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {cfg.optimizer!r}")


def lr_factor(
    step: int, total: int, cfg: TrainConfig, steps_per_epoch: int = 1
) -> float:
    """The learning rate of optimizer step ``step`` (0-based, of ``total``) as a fraction of
    ``cfg.lr``, after a linear warm-up over ``w`` steps (``cfg.warmup_steps``, else
    ``round(cfg.warmup · total)``):

    * ``"linear"``: then linear decay to zero at ``total``;
    * ``"step"``: then ``lr_gamma`` to the power of the milestones passed, a milestone ``m``
      taking effect from epoch ``m`` (step ``m · steps_per_epoch``), as MultiStepLR stepped
      once per epoch;
    * ``"inverse_sqrt"``: then :math:`\\sqrt{w / (s+1)}` (Vaswani et al. 2017, eq. 3; LRA's
      ``linear_warmup * rsqrt_decay``).
    """
    w = cfg.warmup_steps if cfg.warmup_steps is not None else round(cfg.warmup * total)
    w = max(1, w)
    if cfg.schedule == "linear":
        return (
            (step + 1) / w if step < w else max(0.0, (total - step) / max(1, total - w))
        )
    warm = min(1.0, (step + 1) / w)
    if cfg.schedule == "step":
        epoch = step // steps_per_epoch  # completed epochs
        return warm * cfg.lr_gamma ** sum(epoch >= m for m in cfg.milestones)
    return warm * math.sqrt(w / max(step + 1, w))  # inverse_sqrt


def model_inputs(data, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """How a batch of ``data.x_*`` becomes model input: uint8 images are standardised with the dataset's
    channel statistics; anything else (token ids, features) goes in as it is."""
    if isinstance(data, ImageData):
        return normaliser(data.mean, data.std, device)
    return lambda x: x


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the block, back in the mode it had afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.inference_mode()
def predict(
    model: nn.Module,
    x: torch.Tensor,
    inputs: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    batch_size: int = 1000,
    mixed_precision: bool = False,
) -> torch.Tensor:
    """Float logits ``[N, classes]`` of ``model`` (eval mode) on ``inputs(x)``, in batches, on the model's
    device, in fp32 unless ``mixed_precision`` (bf16 autocast on CUDA; fake quantization needs fp32)."""
    device = next(model.parameters()).device
    out = []
    with eval_mode(model):
        for i in range(0, len(x), batch_size):
            with autocast(device) if mixed_precision else nullcontext():
                out.append(model(inputs(x[i : i + batch_size].to(device))).float())
    return torch.cat(out)


def correct(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, inputs=lambda x: x, **kw
) -> torch.Tensor:
    """Per-example correctness (bool, on the CPU): the unit of the paired comparisons."""
    return predict(model, x, inputs, **kw).argmax(1).cpu() == y.cpu()


def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    inputs: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    batch_size: int = 1000,
    mixed_precision: bool = False,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``inputs(x)`` with labels ``y``, in eval mode."""
    logits = predict(model, x, inputs, batch_size, mixed_precision)
    y = y.to(logits.device)
    correct = (
        (logits.argmax(1) == y).sum().item()
    )  # an int: the accuracy is correct / N exactly
    return F.cross_entropy(logits, y).item(), correct / len(y)


def final_losses(model: nn.Module, data, device: str | None = None) -> dict[str, float]:
    """Loss and accuracy of the trained model on the whole training and test splits (eval mode)."""
    dev = pick_device(device)
    inputs = model_inputs(data, dev)
    train_loss, train_acc = evaluate(
        model, data.x_train.to(dev), data.y_train.to(dev), inputs
    )
    test_loss, test_acc = evaluate(
        model, data.x_test.to(dev), data.y_test.to(dev), inputs
    )
    return dict(
        train_loss=train_loss,
        train_acc=train_acc,
        test_loss=test_loss,
        test_acc=test_acc,
    )


def autocast(device: torch.device, precision: str = "bf16"):
    """bf16 autocast on CUDA for ``"bf16"`` and on CUDA or the CPU for ``"bf16-everywhere"``;
    otherwise full precision. Weights, optimiser state and losses stay fp32 either way."""
    if precision == "bf16-everywhere" or (
        precision == "bf16" and device.type == "cuda"
    ):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


# On the CPU, the backward pass of a strided convolution in channels_last with fewer than this many
# input channels went wrong (torch 2.14.1 on a 2-core AVX2 AMD EPYC, 2026-12-06): a 1x1 stride-2
# convolution from 1-7 channels gave gradients 2% to 14,000% off the contiguous layout's, and from
# 1-3 channels often hung or corrupted the heap ('double free or corruption'). It killed
# random_pruning's kernel at its first width-4 ResNet-8 (4 -> 8-channel shortcut). Of 201 lone
# convolutions compared (1-7 channels unstrided, 1x1 and 3x3; 1-7 channels 3x3 stride-2; 8-32 channels
# 1x1 and 3x3 stride-2), only the 1x1 stride-2 ones from 1-7 channels disagreed (others: ~1e-6). The
# rule keeps every strided one from fewer than 8 out; tests/test_train.py checks the book's nets.
NHWC_MIN_STRIDED_INPUT = 8


def channels_last_is_safe(model: nn.Module, device: torch.device) -> bool:
    """Whether ``model`` may train in channels_last on ``device``: anywhere but the CPU, and there
    unless a strided convolution reads fewer than :data:`NHWC_MIN_STRIDED_INPUT` channels."""
    if device.type != "cpu":
        return True
    return not any(
        isinstance(m, nn.Conv2d)
        and max(m.stride) > 1
        and m.in_channels < NHWC_MIN_STRIDED_INPUT
        for m in model.modules()
    )


def _compile(model: nn.Module) -> nn.Module:
    """``torch.compile`` with its default backend (inductor): worth it on a GPU for long runs."""
    return torch.compile(model)


def progress_line(desc: str, row: dict, total: int, epochs: float) -> str:
    """``resnet20-cifar10: epoch 12/140, train loss 1.041, test accuracy 0.691, 1,193 images/s,
    14 min so far, about 101 min left`` — one history row of a run still going; the time left
    assumes the steps to come run as fast as those so far."""
    left = row["seconds"] / row["step"] * (total - row["step"])
    return (
        f"{desc}: epoch {round(row['epoch'], 2):g}/{epochs:g}, train loss {row['train_loss']:.3f}, "
        f"test accuracy {row['test_acc']:.3f}, {row['images_per_s']:,.0f} images/s, "
        f"{row['seconds'] / 60:.0f} min so far, about {left / 60:.0f} min left"
    )


def fit(
    model: nn.Module,
    data,
    cfg: TrainConfig,
    seed: int = 0,
    device: str | None = None,
    desc: str = "train",
    after_step: Callable[[], None] | None = None,
) -> pd.DataFrame:
    """Train ``model`` on ``data.x_train`` and return its history, one row per evaluation.

    ``data`` is an :class:`~reprobook.data.ImageData` or any object with ``x_train``, ``y_train``,
    ``x_test``, ``y_test`` tensors (see :func:`model_inputs`). ``after_step`` runs after every optimizer
    step, e.g. to re-apply pruning masks or restore frozen entries (weight decay and momentum move
    parameters whose gradient is zero).

    Columns: epoch, step, lr, train_loss, train_acc (both over the steps since the last row), test_loss,
    test_acc, seconds, images_per_s. ``history.attrs["diverged"]`` is True when the loss became non-finite;
    training then stops and the final row evaluates the diverged model.
    """
    dev = pick_device(device)
    x, y = data.x_train.to(dev), data.y_train.to(dev)
    x_test, y_test = data.x_test.to(dev), data.y_test.to(dev)
    # images [N, C, H, W] (not token ids), in a net whose convolutions the layout suits here
    nhwc = cfg.channels_last and x.dim() == 4 and channels_last_is_safe(model, dev)
    layout = torch.channels_last if nhwc else torch.contiguous_format
    model.to(dev, memory_format=layout).train()
    normalised = model_inputs(data, dev)

    def inputs(batch: torch.Tensor) -> torch.Tensor:
        return normalised(batch).contiguous(memory_format=layout)

    forward = _compile(model) if cfg.compile else model  # shares the parameters
    g = torch.Generator().manual_seed(seed)
    opt = make_optimizer(model, cfg)
    base_lrs = [group["lr"] for group in opt.param_groups]
    steps_per_epoch = max(1, len(x) // cfg.batch_size)
    total = max(1, round(cfg.epochs * steps_per_epoch))
    eval_every = max(1, steps_per_epoch // cfg.evals) if cfg.evals else total
    pad = 4 if x.shape[-1] >= 32 else 2

    rows, diverged, order = [], False, torch.empty(0, dtype=torch.long)
    # Running sums stay on the device: on CUDA nothing waits for the GPU between evaluations
    # (the loss is checked for divergence there); on the CPU every step is checked.
    wide = (
        torch.float64 if dev.type in ("cpu", "cuda") else torch.float32
    )  # MPS: no f64
    run_loss = torch.zeros((), dtype=wide, device=dev)
    run_correct = torch.zeros((), dtype=torch.long, device=dev)
    run_seen, check_every_step = 0, dev.type == "cpu"
    # augmentation draws on the device's own generator: no host copy per step on CUDA
    aug = g if dev.type == "cpu" else torch.Generator(dev).manual_seed(seed)
    start = last = told = time.perf_counter()
    mode = progress_mode()
    bar = tqdm(
        range(total), desc=desc, disable=mode != "bar", leave=False, mininterval=2
    )
    for step in bar:
        k = step % steps_per_epoch
        if k == 0:
            order = torch.randperm(len(x), generator=g).to(dev)
        idx = order[k * cfg.batch_size : (k + 1) * cfg.batch_size]
        xb, yb = x[idx], y[idx]
        if cfg.augment:
            xb = random_crop_flip(xb, pad, aug)
        for group, base in zip(opt.param_groups, base_lrs):
            group["lr"] = base * lr_factor(step, total, cfg, steps_per_epoch)
        with autocast(dev, cfg.precision):
            batch = inputs(xb)
            if cfg.cutout:
                batch = cutout(batch, cfg.cutout, aug)
            logits = forward(batch)
            loss = F.cross_entropy(
                logits.float(), yb, label_smoothing=cfg.label_smoothing
            )
        if check_every_step and not torch.isfinite(loss):
            diverged = True
        else:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if after_step is not None:
                after_step()
            run_loss += loss.detach().to(wide) * len(yb)
            run_correct += (logits.argmax(1) == yb).sum()
            run_seen += len(yb)
        at_eval = (step + 1) % eval_every == 0 or step + 1 == total
        if at_eval and not check_every_step and not torch.isfinite(run_loss):
            diverged = True  # CUDA: detected at the evaluation after the first bad step
        if diverged or at_eval:
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)  # the clock measures finished work
            now = time.perf_counter()
            test_loss, test_acc = evaluate(
                model, x_test, y_test, inputs, mixed_precision=cfg.precision == "bf16"
            )
            rows.append(
                dict(
                    epoch=(step + 1) / steps_per_epoch,
                    step=step + 1,
                    lr=opt.param_groups[0]["lr"],
                    train_loss=run_loss.item() / run_seen if run_seen else math.nan,
                    train_acc=run_correct.item() / run_seen if run_seen else math.nan,
                    test_loss=test_loss,
                    test_acc=test_acc,
                    seconds=now - start,
                    images_per_s=run_seen / max(now - last, 1e-9),
                )
            )
            bar.set_postfix(
                loss=f"{rows[-1]['train_loss']:.3f}", test_acc=f"{test_acc:.3f}"
            )
            if mode == "line" and step + 1 < total and now - told >= PROGRESS_EVERY_S:
                print(progress_line(desc, rows[-1], total, cfg.epochs), flush=True)
                told = now
            run_loss.zero_(), run_correct.zero_()
            run_seen, last = 0, time.perf_counter()
        if diverged:
            break
    bar.close()
    model.to(memory_format=torch.contiguous_format)  # callers see the usual layout
    if mode == "line" and rows:
        last_row = rows[-1]
        print(
            f"{desc}: {last_row['step']} steps, test accuracy {last_row['test_acc']:.3f}, "
            f"{last_row['seconds']:.0f} s" + (" (diverged)" if diverged else ""),
            flush=True,
        )
    history = pd.DataFrame(rows)
    history.attrs["diverged"] = diverged
    return history
