import math

import pandas as pd
import pytest
import torch
from torch import nn

from reprobook import models, params, train
from reprobook.data import CIFAR10_CLASSES, ImageData
from reprobook.masks import FrozenEntries
from reprobook.papers.random_pruning import pruning, sweep
from reprobook.stats import Estimate, mean_ci


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
    assert (
        pruning.count_error(masks.masks, target, density) <= 1
    )  # the notebook's check


def test_count_error_is_the_worst_layer_or_the_global_count_in_weights():
    masks = {  # 10 and 20 weights; targets 0.5·10 = 5 and 0.25·20 = 5 weights
        "a": torch.tensor([True] * 6 + [False] * 4),  # 6 kept: off by 1
        "b": torch.tensor([True] * 5 + [False] * 15),  # 5 kept: exact
    }
    densities = {"a": 0.5, "b": 0.25}
    assert pruning.count_error(masks, densities, 10 / 30) == 1.0
    # against a global target of 0.2·30 = 6 weights the 11 kept are 5 too many
    assert pruning.count_error(masks, densities, 0.2) == pytest.approx(5.0)
    masks["a"] = torch.tensor([True] * 5 + [False] * 5)
    assert pruning.count_error(masks, densities, 10 / 30) == 0.0
    # a drawn mask that lost a layer's weights is caught
    masks["b"] = torch.zeros(20, dtype=torch.bool)
    assert pruning.count_error(masks, densities, 10 / 30) == 5.0


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
    train.fit(net, tiny_data(), cfg, after_step=masks.restore)
    assert masks.pruned_max_abs() == 0.0
    kept = masks.masks["blocks.1.branch.0"]
    moved = (
        net.state_dict()["blocks.1.branch.0.weight"]
        - before["blocks.1.branch.0.weight"]
    )[kept]
    assert moved.abs().max() > 0  # the kept weights did train
    assert all(r["nonzero_density"] == r["density"] for r in masks.table())


def test_without_the_masks_pruned_weights_would_move():
    """The control for the test above: masks applied at init only (no hooks, no restore) do not hold."""
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
                history = train.fit(net, data, cfg, after_step=masks.restore)
                assert len(history) == 1 and not history.attrs["diverged"]
                assert masks.pruned_max_abs() == 0.0, (depth, width, ratio, sparsity)
                total = sum(m.numel() for m in masks.masks.values())
                assert abs(masks.density() - (1 - sparsity)) <= 1 / total


def test_sparse_masks_are_frozen_entries_held_at_zero_with_one_verb():
    torch.manual_seed(0)
    net = small_net()
    masks = pruning.SparseMasks.random(net, 0.5, "erk", seed=0)
    assert isinstance(masks.frozen, FrozenEntries)
    assert set(masks.frozen.params) == {"0.weight", "2.weight", "6.weight"}
    assert not hasattr(masks, "apply") and not callable(masks)
    with torch.no_grad():
        net[2].weight.add_(1.0)  # what a step with weight decay or momentum could do
    assert masks.pruned_max_abs() > 0
    masks.restore()
    assert masks.pruned_max_abs() == 0.0
    assert (net[2].weight[~masks.masks["2"]] == 0).all()
    assert (
        net[2].weight[masks.masks["2"]] != 0
    ).all()  # the kept weights keep their values


def test_a_mask_of_the_wrong_shape_or_layer_is_refused():
    net = small_net()
    with pytest.raises(ValueError, match="mask of 2 has shape"):
        pruning.SparseMasks(net, {"2": torch.ones(3, 3, dtype=torch.bool)})
    with pytest.raises(ValueError, match="layers the model does not have"):
        pruning.SparseMasks(net, {"9": torch.ones(3, dtype=torch.bool)})


def test_family_is_sorted_by_parameter_count_and_named():
    nets = sweep.family([8, 8], [8, 4])
    assert [(d, w) for d, w, _ in nets] == [(8, 4), (8, 8)]
    assert nets[0][2] == models.count_parameters(models.CifarResNet(8, 4))
    assert sweep.model_name(8, 4) == "R8-W4"
    assert sweep.configs(["erk", "uniform"], [0.5, 0.9]) == [
        ("dense", 0.0),
        ("erk", 0.5),
        ("erk", 0.9),
        ("uniform", 0.5),
        ("uniform", 0.9),
    ]
    assert sweep.config_name("dense", 0.0) == "dense"
    assert sweep.config_name("uniform+", 0.95) == "uniform+ 0.95"


def test_other_ratios_can_run_only_at_the_highest_sparsity():
    """cpu's design: ERK at every sparsity (the moderate one decides 'matches dense'), uniform only
    at the highest, where 'ERK beats uniform' and the gap slopes compare it."""
    runs_of = sweep.configs(["erk", "uniform"], [0.5, 0.9], "highest_sparsity")
    assert runs_of == [("dense", 0.0), ("erk", 0.5), ("erk", 0.9), ("uniform", 0.9)]
    assert sweep.sparsities_of(runs_of, "erk") == [0.5, 0.9]
    assert sweep.sparsities_of(runs_of, "uniform") == [0.9]
    with pytest.raises(ValueError, match="others_at must be one of"):
        sweep.configs(["erk"], [0.5], "moderate")


def test_short_layer_names():
    assert sweep.short_layer_name("stem.0") == "stem"
    assert sweep.short_layer_name("blocks.3.branch.3") == "b3.c3"
    assert sweep.short_layer_name("blocks.3.shortcut.0") == "b3.sc"


def test_density_tables_reach_the_global_density():
    layers, achieved = sweep.density_tables(small_net(), ["erk", "uniform"], [0.5, 0.9])
    assert len(layers) == 4 * 3 and len(achieved) == 4
    assert list(achieved.ratio) == ["ERK", "ERK", "uniform", "uniform"]
    assert (achieved.achieved_density - achieved.target_density).abs().max() <= 1 / 1528
    assert achieved.worst_layer_error_in_weights.max() < 1
    erk = layers[(layers.ratio == "ERK") & (layers.sparsity == 0.5)]
    assert list(erk.density) == pytest.approx(
        [1.0, 388 / 1152, 1.0]
    )  # the hand computation


def fake_runs():
    """Two nets × two seeds: dense, ERK and uniform at sparsity 0.9, accuracies chosen by hand."""
    acc = {  # (model, seed, ratio): accuracy
        ("R8-W2", 0, "dense"): 0.50, ("R8-W2", 0, "erk"): 0.40, ("R8-W2", 0, "uniform"): 0.30,
        ("R8-W2", 1, "dense"): 0.60, ("R8-W2", 1, "erk"): 0.52, ("R8-W2", 1, "uniform"): 0.50,
        ("R8-W4", 0, "dense"): 0.70, ("R8-W4", 0, "erk"): 0.66, ("R8-W4", 0, "uniform"): 0.60,
        ("R8-W4", 1, "dense"): 0.80, ("R8-W4", 1, "erk"): 0.78, ("R8-W4", 1, "uniform"): 0.74,
    }  # fmt: skip
    params = {"R8-W2": 1000, "R8-W4": 4000}
    return pd.DataFrame(
        [
            dict(
                model=m,
                params=params[m],
                seed=seed,
                ratio=r,
                sparsity=0.0 if r == "dense" else 0.9,
                config=sweep.config_name(r, 0.9),
                test_acc=a,
                seconds=1.5,
            )
            for (m, seed, r), a in acc.items()
        ]
    )


def test_gaps_are_paired_within_a_net_and_seed():
    sparse = sweep.paired_gaps(fake_runs())
    assert len(sparse) == 8 and "dense" not in set(sparse.ratio)
    gap = sparse.set_index(["model", "seed", "ratio"]).gap
    assert gap[("R8-W2", 0, "erk")] == pytest.approx(0.10)
    assert gap[("R8-W4", 1, "uniform")] == pytest.approx(0.06)
    gaps = sweep.mean_by(sparse, ["model", "ratio", "sparsity"], "gap")
    e = gaps[("R8-W2", "erk", 0.9)]  # the seeds' gaps 0.10 and 0.08
    assert e.mean == pytest.approx(0.09) and e.n == 2 and e.low < 0.08 < 0.10 < e.high


def test_gap_slopes_are_fitted_per_seed_then_averaged():
    # ERK gaps: seed 0 0.10 → 0.04, seed 1 0.08 → 0.02 over two doublings: −0.03 per doubling each
    slopes = sweep.gap_slopes(sweep.paired_gaps(fake_runs()), ["erk", "uniform"], 0.9)
    assert slopes["erk"].mean == pytest.approx(-0.03) and slopes["erk"].n == 2
    # uniform: seed 0 0.20 → 0.10, seed 1 0.10 → 0.06: −0.05 and −0.02 per doubling
    expected = mean_ci([(0.10 - 0.20) / 2, (0.06 - 0.10) / 2])
    assert slopes["uniform"].to_dict() == pytest.approx(expected.to_dict())


def test_erk_minus_uniform_is_averaged_over_the_family_within_a_seed():
    sparse = sweep.paired_gaps(fake_runs())
    diff = sweep.erk_minus_uniform(sparse, ["R8-W2", "R8-W4"], [0, 1], [0.9])
    assert list(diff["diff"]) == pytest.approx([0.10, 0.02, 0.06, 0.04])
    # seed 0: (0.10 + 0.06) / 2, seed 1: (0.02 + 0.04) / 2
    est = sweep.family_mean(diff, 0.9)
    assert est.mean == pytest.approx(0.055) and est.n == 2
    assert est == mean_ci(diff.groupby("seed")["diff"].mean())


def test_tables_and_numbers():
    runs = fake_runs()
    configs = [sweep.DENSE, ("erk", 0.9), ("uniform", 0.9)]
    table = sweep.accuracy_table(runs, ["R8-W2", "R8-W4"], configs)
    assert list(table.index) == ["dense", "ERK 0.9", "uniform 0.9"]
    assert table.loc["ERK 0.9", "R8-W4"] == pytest.approx(0.72)
    dense = sweep.dense_accuracy(runs)
    assert dense["R8-W2"] == mean_ci([0.5, 0.6], bounds=(0, 1))
    assert dense["R8-W2"].low == 0.0 and dense["R8-W2"].high == 1.0  # t with 1 dof
    acc = sweep.mean_by(runs, ["model", "ratio"], "test_acc", bounds=(0, 1))
    assert all(0 <= e.low <= e.mean <= e.high <= 1 for e in acc.values())
    gaps = sweep.mean_by(sweep.paired_gaps(runs), ["model", "ratio", "sparsity"], "gap")
    shown = sweep.gap_table(gaps, ["R8-W2", "R8-W4"])
    assert shown.loc["ERK 0.9", "R8-W2"].startswith("9.00 [")
    points = sweep.points_table({"erk": Estimate(-0.03, -0.05, -0.01, 2)}, ["ratio"])
    assert points.iloc[0].to_dict() == {
        "ratio": "erk",
        "mean": pytest.approx(-3.0),
        "low": pytest.approx(-5.0),
        "high": pytest.approx(-1.0),
    }
    numbers = sweep.numbers(runs, table, gaps)
    assert numbers["dense_accuracy"] == {"R8-W2": 0.55, "R8-W4": pytest.approx(0.75)}
    assert numbers["accuracy"]["R8-W2 uniform 0.9"] == pytest.approx(0.40)
    assert numbers["gap"]["R8-W4 ERK 0.9"] == pytest.approx(0.03)
    assert numbers["training_seconds"] == 18.0


def test_train_family_runs_every_net_seed_and_configuration():
    data = tiny_data(n=8, size=8)
    cfg = train.TrainConfig(epochs=1, batch_size=4, lr=0.1)
    nets = sweep.family([8], [2])
    configs = sweep.configs(["erk"], [0.5])
    runs, curves = sweep.train_family(nets, [0, 1], configs, data, data, cfg)
    assert list(zip(runs.seed, runs.config)) == [
        (0, "dense"),
        (0, "ERK 0.5"),
        (1, "dense"),
        (1, "ERK 0.5"),
    ]
    assert (runs.pruned_max_abs == 0.0).all()
    assert (runs.mask_error <= 1).all() and runs.mask_error.iloc[0] == 0.0
    dense, sparse = runs.iloc[0], runs.iloc[1]
    shapes = pruning.weight_shapes(models.CifarResNet(8, 2))
    weights = sum(
        math.prod(s) for s in shapes.values()
    )  # biases and BatchNorm stay dense
    assert dense.kept == dense.params
    assert abs(sparse.kept - (dense.params - weights / 2)) <= 1
    assert runs.test_acc.between(0, 1).all() and set(curves.config) == {
        "dense",
        "ERK 0.5",
    }
