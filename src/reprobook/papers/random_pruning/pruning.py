r"""Random pruning at initialization (Liu et al. 2022): layer-wise densities, random masks, sparse training.

Every ``Conv2d`` and ``Linear`` weight is prunable (the first conv, 1x1 shortcuts and the classifier
included); biases and normalization parameters stay dense, as in the official code. A network of layers
:math:`l` with :math:`n_l` weights is pruned to a global density :math:`d` (sparsity :math:`1-d`) with
per-layer densities :math:`d_l`, :math:`\sum_l n_l d_l = d \sum_l n_l`, chosen by one of:

* ``"erk"`` (Erdős–Rényi-Kernel): :math:`d_l = \varepsilon\,\frac{\sum_i s_i}{\prod_i s_i}` for a weight of
  shape :math:`s` (conv: :math:`\frac{n_{out}+n_{in}+k_h+k_w}{n_{out}\,n_{in}\,k_h\,k_w}`; fc:
  :math:`\frac{n_{out}+n_{in}}{n_{out}\,n_{in}}`), one :math:`\varepsilon` solving the budget. A layer with
  :math:`\varepsilon\,\mathrm{raw}_l > 1` is made dense and :math:`\varepsilon` is solved again on the rest,
  until no layer exceeds density 1;
* ``"er"`` (Erdős–Rényi): the same with only the first two dimensions of the shape;
* ``"uniform"``: every layer at :math:`d`;
* ``"uniform+"``: the first layer dense; below :math:`d = 0.2` the last ``Linear`` layer at 0.2; every other
  layer at the one density that keeps the global density at :math:`d` (the official code lets the global
  density drift slightly instead; here every ratio is compared at the same parameter count).

Masks are drawn at random per layer. Unlike the official code's independent Bernoulli draws, a layer
keeps exactly its share of weights (a uniformly random subset of that size; the fractional parts are
distributed by largest remainder), so the achieved per-layer densities are within one weight of
:math:`d_l` and the global density within one weight of :math:`d`.

:class:`SparseMasks` keeps the pruned weights at exactly zero through training, as a
:class:`reprobook.masks.FrozenEntries` held at 0.0: it zeroes them at initialization, masks their
gradients (a hook on each weight) and its :meth:`SparseMasks.restore`, passed as ``after_step`` to
:func:`reprobook.train.fit`, writes the zeros back after every optimizer step (weight decay and momentum
would otherwise move them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from ... import models
from ...masks import FrozenEntries
from ...stats import slope

RATIOS = ("erk", "er", "uniform", "uniform+")
RATIO_NAMES = {"erk": "ERK", "er": "ER", "uniform": "uniform", "uniform+": "uniform+"}


def prunable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The model's ``Conv2d`` and ``Linear`` layers by module name, in registration order."""
    layers = models.layers(model, nn.Conv2d, nn.Linear)
    if not layers:
        raise ValueError(
            f"{type(model).__name__} has no Conv2d or Linear layer to prune"
        )
    return layers


def weight_shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    """Shape of every prunable weight, by layer name."""
    return {name: tuple(m.weight.shape) for name, m in prunable_layers(model).items()}


def _check_density(density: float) -> float:
    density = float(density)
    if not 0 < density <= 1:
        raise ValueError(
            f"density must be in (0, 1], got {density} (sparsity = 1 - density)"
        )
    return density


def erk_densities(
    shapes: Mapping[str, tuple[int, ...]], density: float, kernel: bool = True
) -> dict[str, float]:
    """ERK (``kernel=True``) or ER densities at global density ``density`` (see the module docstring)."""
    density = _check_density(density)
    n = {name: math.prod(s) for name, s in shapes.items()}
    dims = {name: (s if kernel else s[:2]) for name, s in shapes.items()}
    raw = {name: sum(d) / math.prod(d) for name, d in dims.items()}
    dense: set[str] = set()
    while True:
        budget = density * sum(n.values()) - sum(n[name] for name in dense)
        free = [name for name in shapes if name not in dense]
        if not free:
            break
        eps = budget / sum(raw[name] * n[name] for name in free)
        over = {name for name in free if eps * raw[name] > 1}
        if not over:
            break
        dense |= over  # ε only grows as layers turn dense, so every layer over 1 now stays over 1
    return {name: 1.0 if name in dense else eps * raw[name] for name in shapes}


def uniform_densities(
    shapes: Mapping[str, tuple[int, ...]], density: float, dense_first: bool = False
) -> dict[str, float]:
    """Every layer at ``density``; ``dense_first`` gives Uniform+ (see the module docstring)."""
    density = _check_density(density)
    if not dense_first:
        return {name: density for name in shapes}
    names = list(shapes)
    n = {name: math.prod(s) for name, s in shapes.items()}
    fixed = {names[0]: 1.0}
    if density < 0.2 and len(names) > 1:
        fixed[names[-1]] = 0.2
    rest = [name for name in names if name not in fixed]
    budget = density * sum(n.values()) - sum(n[k] * v for k, v in fixed.items())
    if not rest:
        return fixed
    other = budget / sum(n[name] for name in rest)
    if not 0 < other <= 1:
        raise ValueError(
            f"uniform+ cannot reach global density {density}: with the first layer dense the "
            f"other layers would need density {other:.3g}"
        )
    return {name: fixed.get(name, other) for name in names}


def layer_densities(
    model_or_shapes: nn.Module | Mapping[str, tuple[int, ...]],
    density: float,
    ratio: str = "erk",
) -> dict[str, float]:
    """Per-layer densities of a model (or of weight shapes) for one of :data:`RATIOS`."""
    shapes = (
        weight_shapes(model_or_shapes)
        if isinstance(model_or_shapes, nn.Module)
        else dict(model_or_shapes)
    )
    if ratio == "erk":
        return erk_densities(shapes, density)
    if ratio == "er":
        return erk_densities(shapes, density, kernel=False)
    if ratio == "uniform":
        return uniform_densities(shapes, density)
    if ratio == "uniform+":
        return uniform_densities(shapes, density, dense_first=True)
    raise ValueError(f"ratio must be one of {RATIOS}, got {ratio!r}")


def kept_counts(
    shapes: Mapping[str, tuple[int, ...]], densities: Mapping[str, float]
) -> dict[str, int]:
    """Weights kept per layer: ``d_l·n_l`` rounded by largest remainder so that the total is
    ``round(Σ d_l·n_l)`` and every layer is within one weight of its target."""
    n = {name: math.prod(s) for name, s in shapes.items()}
    target = {name: min(1.0, max(0.0, densities[name])) * n[name] for name in shapes}
    counts = {name: math.floor(t) for name, t in target.items()}
    short = round(sum(target.values())) - sum(counts.values())
    by_remainder = sorted(
        shapes, key=lambda name: target[name] - counts[name], reverse=True
    )
    for name in by_remainder[: max(0, short)]:
        counts[name] += 1
    return counts


def random_masks(
    model: nn.Module,
    densities: Mapping[str, float],
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """A random boolean mask per prunable layer keeping exactly ``kept_counts`` weights (uniform subset)."""
    shapes = weight_shapes(model)
    missing = set(shapes) - set(densities)
    if missing:
        raise ValueError(f"no density for layers {sorted(missing)}")
    masks = {}
    for name, k in kept_counts(shapes, densities).items():
        n = math.prod(shapes[name])
        flat = torch.zeros(n, dtype=torch.bool)
        flat[torch.randperm(n, generator=generator)[:k]] = True
        masks[name] = flat.view(shapes[name])
    return masks


def count_error(
    masks: Mapping[str, torch.Tensor], densities: Mapping[str, float], density: float
) -> float:
    """How far, in weights, ``masks`` are from their targets: the largest of every layer's
    ``|kept_l − d_l·n_l|`` and the global ``|Σ_l kept_l − d·Σ_l n_l|`` (at most one by construction)."""
    n = {name: m.numel() for name, m in masks.items()}
    kept = {name: int(m.sum()) for name, m in masks.items()}
    per_layer = [abs(kept[name] - densities[name] * n[name]) for name in masks]
    overall = abs(sum(kept.values()) - density * sum(n.values()))  # Σ kept vs d·N
    return float(max(per_layer + [overall]))


class SparseMasks:
    """Fixed masks on a model's prunable weights: pruned weights are zero now and after every step.

    ``SparseMasks(model, masks)`` holds the pruned entries of every masked weight at 0.0 through a
    :class:`reprobook.masks.FrozenEntries` (their gradients are masked by a hook); pass :meth:`restore`
    as ``train.fit(after_step=...)`` so that weight decay or momentum cannot move them either.
    """

    def __init__(self, model: nn.Module, masks: Mapping[str, torch.Tensor]):
        layers = prunable_layers(model)
        unknown = set(masks) - set(layers)
        if unknown:
            raise ValueError(
                f"masks for layers the model does not have: {sorted(unknown)}"
            )
        self.model = model
        self.masks = {
            name: masks[name].to(torch.bool) for name in layers if name in masks
        }
        self._weights = {name: layers[name].weight for name in self.masks}
        for name, weight in self._weights.items():
            if tuple(self.masks[name].shape) != tuple(weight.shape):
                raise ValueError(
                    f"mask of {name} has shape {tuple(self.masks[name].shape)}, "
                    f"weight {tuple(weight.shape)}"
                )
        weights = {f"{name}.weight": m for name, m in self.masks.items()}
        self.frozen = FrozenEntries(model, weights, held=dict.fromkeys(weights, 0.0))

    @classmethod
    def random(
        cls, model: nn.Module, density: float, ratio: str = "erk", seed: int = 0
    ) -> SparseMasks:
        """Prune ``model`` at random to global ``density`` with layer-wise ``ratio`` (mask seeded by ``seed``)."""
        g = torch.Generator().manual_seed(seed)
        return cls(
            model, random_masks(model, layer_densities(model, density, ratio), g)
        )

    def restore(self) -> None:
        """Write 0.0 back into every pruned weight (in place): the ``after_step`` of training."""
        self.frozen.restore()

    def remove(self) -> None:
        """Remove the gradient hooks (the weights stay as they are)."""
        self.frozen.remove()

    def table(self) -> list[dict]:
        """Per layer: name, shape, weights, kept, mask density, and nonzero density of the weight now."""
        return [
            dict(
                layer=name,
                shape=tuple(w.shape),
                weights=w.numel(),
                kept=int(self.masks[name].sum()),
                density=self.masks[name].float().mean().item(),
                nonzero_density=(w != 0).float().mean().item(),
            )
            for name, w in self._weights.items()
        ]

    def density(self) -> float:
        """Global density of the masks over every masked weight."""
        return self.frozen.trainable_count() / sum(
            m.numel() for m in self.masks.values()
        )

    def pruned_max_abs(self) -> float:
        """Largest |weight| among the pruned entries: exactly 0.0 while the masks hold."""
        return self.frozen.frozen_max_change()


def gap_slope(sizes, gaps) -> float:
    """Least-squares slope of ``gaps`` against ``log2(sizes)``: the change of the gap per doubling of size."""
    return slope([math.log2(s) for s in sizes], list(gaps))
