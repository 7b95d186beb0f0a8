r"""Which parameters train: all of them, only BatchNorm's affine parameters, only the output layer, or
a matched number of random weights — and what BatchNorm's :math:`\gamma` look like afterwards.

The regimes of Frankle, Schwab & Morcos (2021), "Training BatchNorm and only BatchNorm":

=======================  ==============================================================================
``"all"``                every parameter trains (the usual way)
``"bn"``                 only the BatchNorm affine parameters :math:`\gamma, \beta` train; every weight
                         stays at its random initialization
``"bn+output"``          BatchNorm and the output (last linear) layer
``"output"``             the output layer only (a linear classifier on random features)
``"random_per_channel"`` :math:`k` randomly chosen weights in every output channel of every convolution
                         (the paper's baseline: a ResNet's convolutions have as many output channels as
                         its BatchNorms have channels, so :math:`k = 2` matches the BN count exactly)
``"random_anywhere"``    the same number of weights, drawn uniformly from all convolution weights
=======================  ==============================================================================

A whole tensor that does not train gets ``requires_grad=False`` (the optimizer never sees it). A tensor
of which only some entries train is held by the spine's :class:`~reprobook.masks.FrozenEntries`: a 0/1
gradient mask, and :meth:`Selection.restore` copies the frozen entries back after every optimizer step
(weight decay and momentum move entries whose gradient is zero, so the mask alone would not keep them
frozen).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ... import models
from ...masks import FrozenEntries

REGIMES = ("all", "bn", "bn+output", "output", "random_per_channel", "random_anywhere")
RANDOM_REGIMES = ("random_per_channel", "random_anywhere")
LABELS = {
    "all": "all parameters",
    "bn": "BatchNorm only",
    "bn+output": "BatchNorm + output",
    "output": "output layer only",
    "random_per_channel": "random, k per channel",
    "random_anywhere": "random, anywhere",
}


# ---------------------------------------------------------------------------------------------
# The parts of a network


def batchnorm_layers(model: nn.Module) -> dict[str, _BatchNorm]:
    """Every BatchNorm with affine parameters, by name, in module order (the forward pass here)."""
    return {n: m for n, m in models.layers(model, _BatchNorm).items() if m.affine}


def conv_layers(model: nn.Module) -> dict[str, nn.Conv2d]:
    """Every convolution, by name, in module order."""
    return models.layers(model, nn.Conv2d)


def output_layer(model: nn.Module) -> tuple[str, nn.Linear]:
    """The last ``nn.Linear`` in module order: the classifier."""
    linears = list(models.layers(model, nn.Linear).items())
    if not linears:
        raise ValueError("the model has no nn.Linear output layer")
    return linears[-1]


def batchnorm_parameter_count(model: nn.Module) -> int:
    """Number of BatchNorm affine parameters (γ and β): twice the number of normalised channels."""
    return sum(
        m.weight.numel() + m.bias.numel() for m in batchnorm_layers(model).values()
    )


def init_batchnorm_(
    model: nn.Module, gamma: str = "uniform", generator: torch.Generator | None = None
) -> None:
    """Re-initialise every BatchNorm: β = 0 and γ ~ U[0, 1] (``"uniform"``, open_lth's and PyTorch < 1.2's
    default, which the paper used) or γ = 1 (``"ones"``, today's PyTorch default)."""
    if gamma not in ("uniform", "ones"):
        raise ValueError(f"gamma must be 'uniform' or 'ones', got {gamma!r}")
    with torch.no_grad():
        for m in batchnorm_layers(model).values():
            if gamma == "uniform":
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator))
            else:
                m.weight.fill_(1.0)
            m.bias.zero_()


def init_output_(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """The output layer's weight He-normal with fan-in, as open_lth initialises every layer:
    :math:`W \\sim \\mathcal{N}(0, 2/n_{in})`. PyTorch's default (uniform, std
    :math:`1/\\sqrt{3 n_{in}}`) is 0.41× that spread; BatchNorm does not follow the output layer,
    so its scale reaches the logits of a frozen network unchanged."""
    _, layer = output_layer(model)
    fan_in = layer.weight.shape[1]
    with torch.no_grad():
        std = (
            2.0 / fan_in
        ) ** 0.5  # kaiming_normal_(mode="fan_in", nonlinearity="relu")
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * std)


# ---------------------------------------------------------------------------------------------
# Choosing the trainable parameters


def per_channel_counts(
    channels: int, total: int, generator: torch.Generator
) -> torch.Tensor:
    """Split ``total`` over ``channels`` as evenly as possible: ``total // channels`` each, one more for
    ``total % channels`` randomly chosen channels."""
    k, extra = divmod(total, channels)
    counts = torch.full((channels,), k, dtype=torch.long)
    counts[torch.randperm(channels, generator=generator)[:extra]] += 1
    return counts


def random_per_channel_masks(
    convs: dict[str, nn.Conv2d], total: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Masks over the convolution weights with ``total`` entries set, spread evenly over the output
    channels of all convolutions (k = total / channels each), positions within a channel uniform."""
    channels = [m.weight.shape[0] for m in convs.values()]
    counts = per_channel_counts(sum(channels), total, generator).split(channels)
    masks = {}
    for (name, m), k in zip(convs.items(), counts):
        out, fan = m.weight.shape[0], m.weight[0].numel()
        if int(k.max()) > fan:
            raise ValueError(
                f"{name}: {int(k.max())} weights per channel asked, a channel has only {fan}"
            )
        # [out, fan]: a random permutation of 0..fan-1 per row; the k smallest ranks train
        rank = torch.rand(out, fan, generator=generator).argsort(1).argsort(1)
        masks[f"{name}.weight"] = (rank < k.view(-1, 1)).view_as(m.weight)
    return masks


def random_anywhere_masks(
    convs: dict[str, nn.Conv2d], total: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Masks with ``total`` entries set, drawn uniformly without replacement from all convolution weights."""
    sizes = [m.weight.numel() for m in convs.values()]
    if total > sum(sizes):
        raise ValueError(
            f"{total} weights asked, the convolutions have only {sum(sizes)}"
        )
    flat = torch.zeros(sum(sizes), dtype=torch.bool)
    flat[torch.randperm(sum(sizes), generator=generator)[:total]] = True
    return {
        f"{name}.weight": part.view_as(m.weight)
        for (name, m), part in zip(convs.items(), flat.split(sizes))
    }


def _bits(t: torch.Tensor) -> torch.Tensor:
    """A float tensor's bit patterns as integers, so that comparing them is bitwise (-0.0 ≠ 0.0, NaN = NaN)."""
    if not t.is_floating_point():
        return t
    return t.contiguous().view(
        {2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    )


@dataclass
class Selection:
    """The trainable entries of a model. ``masks`` maps a parameter name to ``None`` (the whole tensor
    trains) or a boolean mask (these entries train); a name that is absent is frozen. ``frozen`` holds
    the frozen entries of the partly-trainable tensors: pass :meth:`restore` (or ``frozen``) to
    ``train.fit(after_step=...)``."""

    regime: str
    model: nn.Module = field(repr=False)
    masks: dict[str, torch.Tensor | None]
    reference: dict[str, torch.Tensor] = field(repr=False)  # every value when selected
    frozen: FrozenEntries = field(repr=False)

    def trainable_count(self) -> int:
        params = dict(self.model.named_parameters())
        return sum(
            params[n].numel() if m is None else int(m.sum())
            for n, m in self.masks.items()
        )

    def counts(self) -> dict[str, int]:
        """Trainable entries by kind: BatchNorm, convolution, output layer, other."""
        bn = {
            f"{n}.{p}" for n in batchnorm_layers(self.model) for p in ("weight", "bias")
        }
        conv = {
            f"{n}.{p}"
            for n, m in conv_layers(self.model).items()
            for p, _ in m.named_parameters()
        }
        out_name, out = output_layer(self.model)
        head = {f"{out_name}.{p}" for p, _ in out.named_parameters()}
        params = dict(self.model.named_parameters())
        counts = dict(bn=0, conv=0, output=0, other=0)
        for n, m in self.masks.items():
            kind = (
                "bn"
                if n in bn
                else "conv"
                if n in conv
                else "output"
                if n in head
                else "other"
            )
            counts[kind] += params[n].numel() if m is None else int(m.sum())
        return counts

    def restore(self) -> None:
        """Copy the frozen entries of partly-trainable tensors back (after every optimizer step)."""
        self.frozen.restore()

    @torch.no_grad()
    def changed(self) -> dict[str, int]:
        """How many frozen and how many trainable entries differ (bitwise) from their selected values."""
        out = dict(frozen=0, trainable=0)
        for n, p in self.model.named_parameters():
            differs = _bits(p.detach().cpu()) != _bits(self.reference[n])
            if n not in self.masks:
                train = torch.zeros_like(differs)
            elif self.masks[n] is None:
                train = torch.ones_like(differs)
            else:
                train = self.masks[n]
            out["frozen"] += int((differs & ~train).sum())
            out["trainable"] += int((differs & train).sum())
        return out

    def release(self) -> None:
        """Remove the gradient masks and make every parameter trainable again."""
        self.frozen.remove()
        for p in self.model.parameters():
            p.requires_grad_(True)


def select(
    model: nn.Module, regime: str, seed: int = 0, match: int | None = None
) -> Selection:
    """Freeze ``model`` for ``regime`` (see the module docstring) and return the :class:`Selection`.

    The random regimes train ``match`` convolution weights (default: the BatchNorm γ+β count, the
    paper's matched baseline), chosen with ``seed``; BatchNorm and the output layer stay frozen.
    """
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
    names = dict(model.named_parameters())
    bn = [f"{n}.{p}" for n in batchnorm_layers(model) for p in ("weight", "bias")]
    out_name, out = output_layer(model)
    head = [f"{out_name}.{p}" for p, _ in out.named_parameters()]
    if regime in ("bn", "bn+output") and not bn:
        raise ValueError("the model has no BatchNorm with affine parameters")
    masks: dict[str, torch.Tensor | None]
    if regime == "all":
        masks = {n: None for n in names}
    elif regime == "bn":
        masks = {n: None for n in bn}
    elif regime == "bn+output":
        masks = {n: None for n in bn + head}
    elif regime == "output":
        masks = {n: None for n in head}
    else:
        total = batchnorm_parameter_count(model) if match is None else match
        g = torch.Generator().manual_seed(seed)
        pick = (
            random_per_channel_masks
            if regime == "random_per_channel"
            else random_anywhere_masks
        )
        masks = {n: m for n, m in pick(conv_layers(model), total, g).items() if m.any()}
    reference = {n: p.detach().cpu().clone() for n, p in names.items()}
    for n, p in names.items():
        p.requires_grad_(n in masks)
    partly = {n: m for n, m in masks.items() if m is not None}
    return Selection(regime, model, masks, reference, FrozenEntries(model, partly))


# ---------------------------------------------------------------------------------------------
# γ statistics


def gammas(model: nn.Module) -> torch.Tensor:
    """Every BatchNorm γ of the model, concatenated (CPU, float)."""
    return torch.cat(
        [
            m.weight.detach().float().cpu().flatten()
            for m in batchnorm_layers(model).values()
        ]
    )


def fraction_below(values: torch.Tensor, threshold: float) -> float:
    """Fraction of ``values`` with ``|value| < threshold``."""
    return float((values.abs() < threshold).float().mean())


def gamma_table(model: nn.Module, thresholds: list[float]) -> pd.DataFrame:
    """One row per BatchNorm layer (forward order) and one ``overall`` row: channels, mean |γ| and the
    fraction of channels with |γ| below each threshold (a channel with γ ≈ 0 is switched off)."""
    rows = []
    for i, (name, m) in enumerate(batchnorm_layers(model).items()):
        g = m.weight.detach().float().cpu()
        rows.append(
            dict(
                layer=i,
                name=name,
                channels=g.numel(),
                mean_abs_gamma=float(g.abs().mean()),
                **{f"below {t:g}": fraction_below(g, t) for t in thresholds},
            )
        )
    g = gammas(model)
    rows.append(
        dict(
            layer=-1,
            name="overall",
            channels=g.numel(),
            mean_abs_gamma=float(g.abs().mean()),
            **{f"below {t:g}": fraction_below(g, t) for t in thresholds},
        )
    )
    return pd.DataFrame(rows)
