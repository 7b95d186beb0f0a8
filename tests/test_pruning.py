import math

import pytest
import torch
from torch import nn

from reprobook import models, params, train
from reprobook.data import CIFAR10_CLASSES, ImageData
from reprobook.papers.random_pruning import pruning


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny-batch steps gain nothing from a second thread, and on oversubscribed cores (parallel jobs)
    OpenMP spin-waits cost seconds per step: run these tests on one thread, then restore the setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_net():
    """conv A [8,3,3,3] (216 weights), conv B [16,8,3,3] (1152), fc C [10,16] (160): 1528 weights."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


def test_prunable_layers_are_every_conv_and_linear_in_order():
    assert list(pruning.weight_shapes(small_net())) == ["0", "2", "6"]
    net = models.CifarResNet(8, 4)
    names = list(pruning.prunable_layers(net))
    assert names[0] == "stem.0" and names[-1] == "head.2"
    assert (
        sum("shortcut" in n for n in names) == 2
    )  # the two 1x1 downsampling convs are pruned too
    with pytest.raises(ValueError, match="no Conv2d or Linear"):
        pruning.prunable_layers(nn.Sequential(nn.ReLU()))


def test_erk_matches_a_hand_computation():
    # raw = Σshape/Πshape: A 17/216, B 30/1152, C 26/160. Budget 0.5·1528 = 764 weights.
    # round 1: ε = 764/(17+30+26) = 10.47 → C: 10.47·26/160 = 1.70 > 1, dense.
    # round 2: ε = (764−160)/(17+30) = 12.85 → A: 12.85·17/216 = 1.011 > 1, dense.
    # round 3: ε = (764−160−216)/30 → B = 388/1152.
    d = pruning.layer_densities(small_net(), 0.5, "erk")
    assert d["0"] == 1.0 and d["6"] == 1.0
    assert d["2"] == pytest.approx(388 / 1152, rel=1e-12)
    # at density 0.4 only C saturates (round 1: ε = 611.2/73 = 8.37, C at 1.36); then ε = (611.2 − 160)/47
    d = pruning.layer_densities(small_net(), 0.4, "erk")
    eps = (0.4 * 1528 - 160) / 47
    assert d["6"] == 1.0
    assert d["0"] == pytest.approx(eps * 17 / 216) and d["2"] == pytest.approx(
        eps * 30 / 1152
    )
    assert d["0"] == pytest.approx(0.7556, abs=1e-4)
    # at a low density nothing saturates: one ε for all
    d = pruning.layer_densities(small_net(), 0.1, "erk")
    assert d["6"] == pytest.approx(152.8 / 73 * 26 / 160)


def test_er_uses_only_the_first_two_dimensions():
    # raw: A (8+3)/24, B (16+8)/128, C 26/160; density 0.1: ε = 152.8/(11·9 + 24·9 + 26) = 152.8/341
    d = pruning.layer_densities(small_net(), 0.1, "er")
    eps = 152.8 / 341
    assert d["0"] == pytest.approx(eps * 11 / 24) and d["2"] == pytest.approx(
        eps * 24 / 128
    )
    assert d["6"] == pytest.approx(eps * 26 / 160)


def test_erk_on_resnet20_at_sparsity_09_matches_the_paper_code():
    net = models.CifarResNet(20, 16)
    d = pruning.layer_densities(net, 0.1, "erk")
    assert d["head.2"] == 1.0 and d["blocks.3.shortcut.0"] == 1.0
    assert d["stem.0"] == pytest.approx(0.98, abs=0.01)
    assert (
        d["blocks.8.branch.3"] < 0.1 < d["blocks.0.branch.0"]
    )  # wide layers sparser than narrow ones
    shapes = pruning.weight_shapes(net)
    n = {k: math.prod(s) for k, s in shapes.items()}
    assert sum(d[k] * n[k] for k in n) == pytest.approx(0.1 * sum(n.values()))
    assert all(0 < v <= 1 for v in d.values())


def test_uniform_and_uniform_plus():
    shapes = pruning.weight_shapes(models.CifarResNet(14, 8))
    n = {k: math.prod(s) for k, s in shapes.items()}
    assert set(pruning.layer_densities(shapes, 0.3, "uniform").values()) == {0.3}
    for density in (0.5, 0.1):
        d = pruning.layer_densities(shapes, density, "uniform+")
        assert d["stem.0"] == 1.0
        assert sum(d[k] * n[k] for k in n) == pytest.approx(density * sum(n.values()))
        others = {v for k, v in d.items() if k not in ("stem.0", "head.2")}
        assert len(others) == 1 and others.pop() < density
    assert pruning.layer_densities(shapes, 0.1, "uniform+")["head.2"] == 0.2
    assert pruning.layer_densities(shapes, 0.5, "uniform+")["head.2"] < 0.5
    with pytest.raises(ValueError, match="uniform\\+ cannot reach"):
        pruning.layer_densities(
            small_net(), 0.1, "uniform+"
        )  # the first layer alone is 14% of the net


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5])
def test_bad_density_or_ratio(bad):
    with pytest.raises(ValueError, match="density must be in"):
        pruning.layer_densities(small_net(), bad, "erk")
    with pytest.raises(ValueError, match="ratio must be one of"):
        pruning.layer_densities(small_net(), 0.5, "snip")


@pytest.mark.parametrize("ratio", pruning.RATIOS)
@pytest.mark.parametrize("density", [0.05, 0.2, 0.5, 0.9, 1.0])
def test_achieved_densities_are_the_targets_within_one_weight(ratio, density):
    net = models.CifarResNet(14, 6)
    try:
        target = pruning.layer_densities(net, density, ratio)
    except ValueError:
        assert ratio == "uniform+" and density == 0.05
        return
    masks = pruning.SparseMasks(
        net, pruning.random_masks(net, target, torch.Generator().manual_seed(1))
    )
    rows = masks.table()
    total = sum(r["weights"] for r in rows)
    for r in rows:
        assert abs(r["kept"] - target[r["layer"]] * r["weights"]) < 1
        assert (
            r["nonzero_density"] == r["density"]
        )  # the weights were zeroed exactly where the mask says
    assert abs(sum(r["kept"] for r in rows) - density * total) <= 1
    assert abs(masks.density() - density) <= 1 / total


def test_masks_are_seeded_and_random():
    net = models.CifarResNet(8, 8)
    d = pruning.layer_densities(net, 0.5, "erk")
    a = pruning.random_masks(net, d, torch.Generator().manual_seed(0))
    b = pruning.random_masks(net, d, torch.Generator().manual_seed(0))
    c = pruning.random_masks(net, d, torch.Generator().manual_seed(1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["blocks.2.branch.3"], c["blocks.2.branch.3"])
    # kept positions spread over the whole tensor (not e.g. the first k entries)
    flat = a["blocks.2.branch.3"].flatten().float()
    half = len(flat) // 2
    target = d["blocks.2.branch.3"]
    assert (
        abs(flat[:half].mean() - target) < 0.05
        and abs(flat[half:].mean() - target) < 0.05
    )


def test_gradients_of_pruned_weights_are_zero():
    torch.manual_seed(0)
    net = models.CifarResNet(8, 4)
    masks = pruning.SparseMasks.random(net, 0.3, "uniform", seed=0)
    net(torch.randn(4, 3, 8, 8)).square().sum().backward()
    for name, layer in pruning.prunable_layers(net).items():
        grad = layer.weight.grad
        assert grad[~masks.masks[name]].abs().max() == 0
        assert grad[masks.masks[name]].abs().max() > 0


def tiny_data(n=8, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return ImageData("cifar10", x, y, x[:2], y[:2], CIFAR10_CLASSES, "synthetic")


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_pruned_weights_are_zero_after_training(optimizer):
    torch.manual_seed(0)
    net = models.CifarResNet(8, 4)
    masks = pruning.SparseMasks.random(net, 0.2, "erk", seed=3)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    cfg = train.TrainConfig(
        epochs=3, batch_size=4, lr=0.1, weight_decay=5e-3, optimizer=optimizer
    )
    train.fit(net, tiny_data(), cfg, after_step=masks)
    assert masks.pruned_max_abs() == 0.0
    kept = masks.masks["blocks.1.branch.0"]
    moved = (
        net.state_dict()["blocks.1.branch.0.weight"]
        - before["blocks.1.branch.0.weight"]
    )[kept]
    assert moved.abs().max() > 0  # the kept weights did train
    assert all(r["nonzero_density"] == r["density"] for r in masks.table())


def test_without_the_masks_pruned_weights_would_move():
    """The control for the test above: masks applied at init only (no hooks, no after_step) do not hold."""
    torch.manual_seed(0)
    net = models.CifarResNet(8, 4)
    masks = pruning.SparseMasks.random(net, 0.2, "erk", seed=3)
    masks.remove()
    train.fit(net, tiny_data(), train.TrainConfig(epochs=2, batch_size=4, lr=0.1))
    assert masks.pruned_max_abs() > 0


def test_gap_slope():
    assert pruning.gap_slope([4, 8, 16, 32], [5.0, 4.0, 3.0, 2.0]) == pytest.approx(
        -1.0
    )
    assert pruning.gap_slope([1e3, 4e3], [1.0, 1.0]) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        pruning.gap_slope([8], [1.0])


@pytest.mark.parametrize("preset", params.PRESETS)
def test_every_preset_model_can_be_pruned_and_trained_one_step(preset):
    """Every model of the preset's family, at every ratio and sparsity: masked, one SGD step (weight decay,
    momentum) through train.fit on a tiny batch, pruned weights still exactly zero, global density on target."""
    p = params.load_spec("random_pruning").preset(preset)
    assert len(p["depths"]) == len(p["widths"])
    assert {"erk", "uniform"} <= set(p["ratios"])
    data = tiny_data(n=2, size=p["image_size"])
    cfg = train.TrainConfig(
        epochs=1, batch_size=2, lr=p["lr"], weight_decay=p["weight_decay"]
    )
    for depth, width in zip(p["depths"], p["widths"]):
        torch.manual_seed(0)
        init = models.CifarResNet(depth, width).state_dict()
        for ratio in p["ratios"]:
            for sparsity in p["sparsities"]:
                net = models.CifarResNet(depth, width)
                net.load_state_dict(init)
                masks = pruning.SparseMasks.random(net, 1 - sparsity, ratio, seed=0)
                history = train.fit(net, data, cfg, after_step=masks)
                assert len(history) == 1 and not history.attrs["diverged"]
                assert masks.pruned_max_abs() == 0.0, (depth, width, ratio, sparsity)
                total = sum(m.numel() for m in masks.masks.values())
                assert abs(masks.density() - (1 - sparsity)) <= 1 / total
