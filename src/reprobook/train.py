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
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

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
        dy = torch.randint(0, 2 * pad + 1, (n, 1, 1), generator=generator).to(x.device)
        dx = torch.randint(0, 2 * pad + 1, (n, 1, 1), generator=generator).to(x.device)
        rows = (dy + torch.arange(h, device=x.device).view(1, h, 1)).expand(n, h, w)
        cols = (dx + torch.arange(w, device=x.device).view(1, 1, w)).expand(n, h, w)
        batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
        x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if flip:
        mirror = (
            (torch.rand(n, generator=generator) < 0.5).to(x.device).view(n, 1, 1, 1)
        )
        x = torch.where(mirror, x.flip(3), x)
    return x


@dataclass
class TrainConfig:
    epochs: float = 1.0  # may be fractional: the run stops after round(epochs * steps_per_epoch) steps
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    optimizer: str = "sgd"  # "sgd" (Nesterov) or "adam"
    warmup: float = (
        0.1  # fraction of steps with a linear warm-up; then linear decay to zero
    )
    augment: bool = (
        False  # random crop (pad 4 for 32 px, 2 otherwise) + flip; not for digits
    )
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    evals: int = 1  # evaluations on the test split per epoch (history rows)
    channels_last: bool = (
        True  # NHWC convolutions for image batches: 1.1–1.3× faster on the CPU
    )


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=cfg.lr,
            momentum=cfg.momentum,
            nesterov=cfg.momentum > 0,
            weight_decay=cfg.weight_decay,
        )
    if cfg.optimizer == "adam":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {cfg.optimizer!r}")


def lr_factor(step: int, total: int, warmup: float) -> float:
    """Linear warm-up over ``warmup·total`` steps, then linear decay to zero at ``total``."""
    w = max(1, round(warmup * total))
    return (step + 1) / w if step < w else max(0.0, (total - step) / max(1, total - w))


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
    mixed_precision: bool = True,
) -> torch.Tensor:
    """Float logits ``[N, classes]`` of ``model`` (eval mode) on ``inputs(x)``, in batches, on the model's
    device. ``mixed_precision=False`` keeps bf16 autocast off on CUDA (fake quantization needs fp32)."""
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
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``inputs(x)`` with labels ``y``, in eval mode."""
    logits = predict(model, x, inputs, batch_size)
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


def autocast(device: torch.device):
    """bf16 autocast on CUDA; full precision on the CPU (bf16 matmuls are slow and noisy there)."""
    return (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda"
        else nullcontext()
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
    nhwc = cfg.channels_last and x.dim() == 4  # images [N, C, H, W], not token ids
    layout = torch.channels_last if nhwc else torch.contiguous_format
    model.to(dev, memory_format=layout).train()
    normalised = model_inputs(data, dev)

    def inputs(batch: torch.Tensor) -> torch.Tensor:
        return normalised(batch).contiguous(memory_format=layout)

    g = torch.Generator().manual_seed(seed)
    opt = make_optimizer(model, cfg)
    base_lrs = [group["lr"] for group in opt.param_groups]
    steps_per_epoch = max(1, len(x) // cfg.batch_size)
    total = max(1, round(cfg.epochs * steps_per_epoch))
    eval_every = max(1, steps_per_epoch // max(1, cfg.evals))
    pad = 4 if x.shape[-1] >= 32 else 2

    rows, diverged, order = [], False, torch.empty(0, dtype=torch.long)
    run_loss = run_correct = run_seen = 0.0
    start = last = time.perf_counter()
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
            xb = random_crop_flip(xb, pad, g)
        for group, base in zip(opt.param_groups, base_lrs):
            group["lr"] = base * lr_factor(step, total, cfg.warmup)
        with autocast(dev):
            logits = model(inputs(xb))
            loss = F.cross_entropy(
                logits.float(), yb, label_smoothing=cfg.label_smoothing
            )
        if not torch.isfinite(loss):
            diverged = True
        else:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if after_step is not None:
                after_step()
            run_loss += loss.item() * len(yb)
            run_correct += (logits.argmax(1) == yb).sum().item()
            run_seen += len(yb)
        if diverged or (step + 1) % eval_every == 0 or step + 1 == total:
            now = time.perf_counter()
            test_loss, test_acc = evaluate(model, x_test, y_test, inputs)
            rows.append(
                dict(
                    epoch=(step + 1) / steps_per_epoch,
                    step=step + 1,
                    lr=opt.param_groups[0]["lr"],
                    train_loss=run_loss / run_seen if run_seen else math.nan,
                    train_acc=run_correct / run_seen if run_seen else math.nan,
                    test_loss=test_loss,
                    test_acc=test_acc,
                    seconds=now - start,
                    images_per_s=run_seen / max(now - last, 1e-9),
                )
            )
            bar.set_postfix(
                loss=f"{rows[-1]['train_loss']:.3f}", test_acc=f"{test_acc:.3f}"
            )
            run_loss = run_correct = run_seen = 0.0
            last = time.perf_counter()
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
