r"""ZeroQ's Distilled Data: a batch of inputs optimised until every BatchNorm layer sees its own statistics.

For every BatchNorm layer :math:`i` with running statistics :math:`(\mu_i, \sigma_i)` and input (the
preceding conv's output) :math:`z_i(x)`, and for each sample :math:`b` of the batch, let
:math:`\tilde\mu_{i,b}, \tilde\sigma_{i,b}` be the per-channel mean and standard deviation over the spatial
positions. The official code (Cai et al. 2020) minimises

.. math:: \mathcal L(x) = \frac1B \sum_{i}\sum_b \|\tilde\mu_{i,b} - \mu_i\|_2^2 + \|\tilde\sigma_{i,b} - \sigma_i\|_2^2
          \;+\; \frac1B \sum_b \|\tilde\mu_{0,b} - 0\|_2^2 + \|\tilde\sigma_{0,b} - 1\|_2^2,

the last term on the network input itself, with :math:`\sigma_i = \sqrt{\mathrm{running\_var}_i + 10^{-6}}`,
by Adam (lr 0.5) with ``ReduceLROnPlateau`` (patience 100, min lr 1e-4) for 500 iterations, starting from
uniform noise ``(randint(0, 255) - 127.5) / 5418.75``. No labels, no cross-entropy, no image prior.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ... import models, train

EPS = 1e-6


@dataclass
class Distilled:
    """The distilled batch and how the BN-statistics loss went."""

    images: torch.Tensor  # [B, C, H, W], in the network's (standardised) input space
    loss_before: float  # BN-statistics loss of the initial noise
    loss_after: float  # of the returned batch
    losses: list[float] = field(
        default_factory=list
    )  # per iteration (before each step)
    seconds: float = 0.0  # wall time of the optimisation
    iteration_seconds: list[float] = field(default_factory=list)


def batchnorms(model: nn.Module) -> list[nn.BatchNorm2d]:
    """Every ``BatchNorm2d`` layer of ``model``, in module order."""
    return list(models.layers(model, nn.BatchNorm2d).values())


def _moments(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and std over the spatial positions: ``[B, C]`` each."""
    flat = z.reshape(z.shape[0], z.shape[1], -1)  # [B, C, H·W]
    return flat.mean(2), torch.sqrt(flat.var(2) + EPS)  # μ̃_b, σ̃_b: [B, C] each


def _distance(target: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
    """The official ``own_loss``: squared L2 distance summed over samples and channels, over the batch size."""
    return (target - measured).norm() ** 2 / measured.shape[0]  # (1/B) Σ_b ‖t − m_b‖²


def bn_statistics_loss(model: nn.Module, x: torch.Tensor, per_layer: bool = False):
    """The loss of the module docstring for the batch ``x`` (model in eval mode; differentiable in ``x``).
    With ``per_layer`` also returns the list of per-BN terms (mean + std distance), in module order."""
    bns = batchnorms(model)
    if not bns:
        raise ValueError(
            "the model has no BatchNorm2d layer: Distilled Data needs BN running statistics"
        )
    captured: dict[int, torch.Tensor] = {}
    handles = [
        bn.register_forward_pre_hook(
            lambda m, inp, i=i: captured.__setitem__(i, inp[0])
        )
        for i, bn in enumerate(bns)
    ]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    terms = []
    for i, bn in enumerate(bns):
        mean, std = _moments(captured[i])  # [B, C_i] of BN i's input
        sigma = torch.sqrt(bn.running_var + EPS)  # σ_i = sqrt(running_var_i + ε)
        # (1/B) Σ_b ‖μ̃_{i,b} − μ_i‖² + ‖σ̃_{i,b} − σ_i‖²
        terms.append(_distance(bn.running_mean, mean) + _distance(sigma, std))
    mean, std = _moments(x)  # the (standardised) input itself: target N(0, 1)
    # (1/B) Σ_b ‖μ̃_{0,b} − 0‖² + ‖σ̃_{0,b} − 1‖²
    input_term = _distance(torch.zeros_like(mean[0]), mean)
    input_term = input_term + _distance(torch.ones_like(std[0]), std)
    total = sum(terms) + input_term  # L(x)
    return (total, [t.item() for t in terms]) if per_layer else total


def uniform_init(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """The official code's starting point: ``(randint(0, 255) - 127.5) / 5418.75`` (5418.75 = Var U(-128, 127))."""
    return (torch.randint(0, 255, shape, generator=generator).float() - 127.5) / 5418.75


def distill(
    model: nn.Module,
    shape: tuple[int, ...],
    batch_size: int = 64,
    iterations: int = 500,
    lr: float = 0.5,
    patience: int = 100,
    min_lr: float = 1e-4,
    seed: int = 0,
    init: str = "uniform",
) -> Distilled:
    """Optimise one batch of ``batch_size`` inputs of ``shape`` (C, H, W) to match ``model``'s BN statistics.

    ``init``: ``"uniform"`` (the official code) or ``"gaussian"`` (the paper's text). The model's
    parameters are not changed (they get no gradient step) and it is left in its original mode.
    """
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    full = (batch_size, *shape)
    if init == "uniform":
        x0 = uniform_init(full, g)
    elif init == "gaussian":
        x0 = torch.randn(full, generator=g)
    else:
        raise ValueError(f"init must be 'uniform' or 'gaussian', got {init!r}")
    x = x0.clone().to(device).requires_grad_(True)
    requires = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([x], lr=lr)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, patience=patience, min_lr=min_lr
    )
    losses, times = [], []
    start = time.perf_counter()
    try:
        with train.eval_mode(model):
            for _ in range(iterations):
                tick = time.perf_counter()
                opt.zero_grad(set_to_none=True)
                loss = bn_statistics_loss(model, x)
                loss.backward()
                opt.step()
                losses.append(loss.item())  # synchronises on a GPU
                schedule.step(losses[-1])
                times.append(time.perf_counter() - tick)
            with torch.no_grad():
                after = bn_statistics_loss(model, x).item()
                before = bn_statistics_loss(model, x0.to(device)).item()
    finally:
        for p, r in zip(model.parameters(), requires):
            p.requires_grad_(r)
    return Distilled(
        x.detach(), before, after, losses, time.perf_counter() - start, times
    )


def gaussian_batch(
    shape: tuple[int, ...], batch_size: int, seed: int = 0
) -> torch.Tensor:
    """The ablation's data-free baseline: i.i.d. N(0, 1) inputs (in the standardised input space)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn((batch_size, *shape), generator=g)


def to_pixels(x: torch.Tensor, mean, std) -> np.ndarray:
    """A standardised batch ``[B, C, H, W]`` back to ``[B, H, W, C]`` pixels in [0, 1], for display."""
    m, s = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)
    return (x.detach().cpu() * s + m).clamp(0, 1).permute(0, 2, 3, 1).numpy()


def mosaic(rows, mean, std) -> np.ndarray:
    """Standardised batches ``[B, C, H, W]``, one per row, as one ``[R·H, B·W, C]`` image in [0, 1]."""
    return np.concatenate(
        [np.concatenate(list(to_pixels(x, mean, std)), axis=1) for x in rows], axis=0
    )
