"""masks.FrozenEntries: the one mechanism that keeps chosen entries of parameters still."""

import pytest
import torch
from torch import nn

from reprobook import masks


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def train_steps(model, after_step, steps=5):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    for _ in range(steps):
        loss = model(torch.randn(8, 4)).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        after_step()


def test_frozen_entries_hold_their_values_through_sgd_with_momentum_and_decay():
    model = net()
    trains = torch.rand(3, 4) < 0.5
    before = model[0].weight.detach().clone()
    frozen = masks.FrozenEntries(model, {"0.weight": trains})
    train_steps(model, frozen.restore)
    after = model[0].weight.detach()
    assert torch.equal(after[~trains], before[~trains])
    assert not torch.equal(after[trains], before[trains])  # the others did train
    assert frozen.frozen_max_change() == 0.0 and frozen.trainable_count() == int(
        trains.sum()
    )


def test_without_restore_weight_decay_would_move_the_frozen_entries():
    """Why restore() exists: the gradient mask alone does not keep entries still."""
    model = net()
    trains = torch.zeros(3, 4, dtype=torch.bool)
    frozen = masks.FrozenEntries(model, {"0.weight": trains})
    train_steps(model, lambda: None)
    assert frozen.frozen_max_change() > 0


def test_held_values_can_be_zero_as_for_pruning():
    model = net()
    keep = torch.rand(2, 3) < 0.5
    pruned = masks.FrozenEntries(model, {"2.weight": keep}, held={"2.weight": 0.0})
    assert torch.all(model[2].weight[~keep] == 0)
    train_steps(model, pruned)  # the object itself is callable as after_step
    assert torch.all(model[2].weight[~keep] == 0)
    pruned.remove()
    assert not pruned._hooks


def test_bad_masks_are_named():
    with pytest.raises(ValueError, match="does not have.*nope"):
        masks.FrozenEntries(net(), {"nope": torch.ones(1, dtype=torch.bool)})
    with pytest.raises(ValueError, match="0.weight has shape"):
        masks.FrozenEntries(net(), {"0.weight": torch.ones(2, 2, dtype=torch.bool)})
