"""Frozen entries: parts of parameter tensors that must not move during training.

A :class:`FrozenEntries` holds, per parameter, a boolean mask of the entries that *train* and the
values the other entries are held at. It multiplies their gradients by the mask (a hook) and, after
every optimizer step, :meth:`FrozenEntries.restore` writes the held values back: weight decay and
momentum move entries whose gradient is zero, so a gradient mask alone would not keep them still.

Pruning holds the pruned weights at zero; training only some weights holds the others at their
initial values. Pass ``restore`` to ``train.fit(after_step=...)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


class FrozenEntries:
    """``trains[name]`` (bool, the parameter's shape) marks the entries of ``name`` that train; the
    others are set to ``held[name]`` now (default: their current values) and after every step."""

    def __init__(
        self,
        model: nn.Module,
        trains: Mapping[str, torch.Tensor],
        held: Mapping[str, torch.Tensor | float] | None = None,
    ):
        params = dict(model.named_parameters())
        unknown = sorted(set(trains) - set(params))
        if unknown:
            raise ValueError(f"masks for parameters the model does not have: {unknown}")
        self.params = {name: params[name] for name in trains}
        self.trains: dict[str, torch.Tensor] = {}
        self.held: dict[str, torch.Tensor] = {}
        for name, p in self.params.items():
            mask = trains[name].to(torch.bool)
            if tuple(mask.shape) != tuple(p.shape):
                raise ValueError(
                    f"mask of {name} has shape {tuple(mask.shape)}, parameter {tuple(p.shape)}"
                )
            value = (held or {}).get(name, p.detach())
            self.trains[name] = mask.cpu()
            self.held[name] = (
                torch.as_tensor(value, dtype=p.dtype)
                .expand(p.shape)
                .detach()
                .cpu()
                .clone()
            )
        self._on: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self._hooks = [
            p.register_hook(lambda grad, name=name: grad * self._device(name, grad)[0])
            for name, p in self.params.items()
        ]
        self.restore()

    def _device(
        self, name: str, like: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The mask (in ``like``'s dtype) and the held values on ``like``'s device, copied there once."""
        key = (name, like.device, like.dtype)
        if key not in self._on:
            self._on[key] = (
                self.trains[name].to(like.device, like.dtype),
                self.held[name].to(like.device),
            )
        return self._on[key]

    @torch.no_grad()
    def restore(self) -> None:
        """Write the held values back into every frozen entry (in place)."""
        for name, p in self.params.items():
            mask, held = self._device(name, p)
            p.copy_(torch.where(mask.bool(), p, held))

    __call__ = restore  # so the object itself can be ``after_step``

    def remove(self) -> None:
        """Remove the gradient hooks; the parameters keep their current values."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def trainable_count(self) -> int:
        return sum(int(m.sum()) for m in self.trains.values())

    @torch.no_grad()
    def frozen_max_change(self) -> float:
        """Largest |value − held value| over the frozen entries: exactly 0.0 while they hold."""
        changes = [
            (p.detach().cpu() - self.held[n])[~self.trains[n]].abs()
            for n, p in self.params.items()
        ]
        return max((float(c.max()) for c in changes if c.numel()), default=0.0)
