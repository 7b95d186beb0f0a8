import itertools
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from reprobook import masks, models, params, train
from reprobook.papers.batchnorm_only import sweep, trainable


def resnet(depth=8, width=8, seed=0):
    torch.manual_seed(seed)
    net = models.CifarResNet(depth, width)
    trainable.init_batchnorm_(net, "uniform", torch.Generator().manual_seed(seed))
    return net


def tiny_data(n=64, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return SimpleNamespace(
        x_train=torch.randn(n, 3, size, size, generator=g),
        y_train=torch.randint(0, 10, (n,), generator=g),
        x_test=torch.randn(16, 3, size, size, generator=g),
        y_test=torch.randint(0, 10, (16,), generator=g),
    )


@pytest.mark.parametrize(
    "depth, width, expected",
    [(14, 16, 1120), (110, 16, 8288), (14, 8, 560), (14, 32, 2240)],
)
def test_batchnorm_count_matches_the_papers_architectures(depth, width, expected):
    # open_lth's cifar_resnet BN parameter counts (the claims file's table)
    assert (
        trainable.batchnorm_parameter_count(models.CifarResNet(depth, width))
        == expected
    )


def test_trainable_counts_per_regime():
    net = resnet(14, 16)
    bn = trainable.batchnorm_parameter_count(net)
    expected = {
        "all": models.count_parameters(net),
        "bn": bn,
        "bn+output": bn + 64 * 10 + 10,
        "output": 64 * 10 + 10,
        "random_per_channel": bn,
        "random_anywhere": bn,
    }
    for regime, count in expected.items():
        sel = trainable.select(net, regime, seed=3)
        assert sel.trainable_count() == count, regime
        assert models.count_parameters(net, trainable_only=True) == sum(
            p.numel() for n, p in net.named_parameters() if n in sel.masks
        ), regime
        sel.release()
    counts = trainable.select(net, "random_per_channel").counts()
    assert counts == dict(bn=0, conv=bn, output=0, other=0)
    assert trainable.select(net, "bn+output").counts() == dict(
        bn=bn, conv=0, output=650, other=0
    )


def test_random_per_channel_picks_two_weights_in_every_output_channel():
    net = resnet(14, 16)
    sel = trainable.select(net, "random_per_channel", seed=0)
    convs = trainable.conv_layers(net)
    assert len(sel.masks) == len(convs)
    for name in convs:
        per_channel = sel.masks[f"{name}.weight"].flatten(1).sum(1)
        assert torch.all(per_channel == 2), (
            name
        )  # 2 per channel = the BN count: one BN channel per conv channel
    other = trainable.select(resnet(14, 16), "random_per_channel", seed=1)
    same = trainable.select(resnet(14, 16), "random_per_channel", seed=0)
    name = f"{list(convs)[3]}.weight"
    assert not torch.equal(sel.masks[name], other.masks[name])
    assert torch.equal(sel.masks[name], same.masks[name])


def test_per_channel_counts_spread_a_remainder():
    counts = trainable.per_channel_counts(10, 23, torch.Generator().manual_seed(0))
    assert (
        counts.sum() == 23
        and set(counts.tolist()) == {2, 3}
        and (counts == 3).sum() == 3
    )
    # the channels that get one more are drawn, not the first ones every time
    extra = {
        tuple(
            (
                trainable.per_channel_counts(10, 23, torch.Generator().manual_seed(s))
                == 3
            )
            .nonzero()
            .flatten()
            .tolist()
        )
        for s in range(5)
    }
    assert len(extra) > 1


def test_the_accuracy_summary_keeps_every_interval_inside_zero_one():
    runs = pd.DataFrame(
        dict(net="ResNet-8", regime="all", seed=[0, 1, 2], test_acc=[0.99, 1.0, 0.96])
    )
    (estimate,) = sweep.accuracy_summary(runs).loc["ResNet-8"]
    assert 0 <= estimate.low <= estimate.mean <= estimate.high <= 1


def test_random_anywhere_uses_all_convolutions():
    net = resnet(14, 16)
    sel = trainable.select(net, "random_anywhere", seed=0, match=5000)
    assert sel.trainable_count() == 5000
    assert (
        len(sel.masks) > len(trainable.conv_layers(net)) // 2
    )  # spread over the network, not one layer
    with pytest.raises(ValueError):
        trainable.select(resnet(8, 4), "random_anywhere", match=10**7)


def test_gradient_mask_zeroes_the_frozen_entries():
    net = resnet()
    sel = trainable.select(net, "random_per_channel", seed=0)
    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))
    F.cross_entropy(net(x), y).backward()
    for name, p in net.named_parameters():
        if name in sel.masks:
            mask = sel.masks[name]
            assert torch.all(p.grad[~mask] == 0) and p.grad[mask].abs().sum() > 0
        else:
            assert p.grad is None and not p.requires_grad


@pytest.mark.parametrize(
    "regime, optimizer", list(itertools.product(trainable.REGIMES, ["sgd", "adam"]))
)
def test_frozen_parameters_are_bit_identical_after_training(regime, optimizer):
    net = resnet()
    sel = trainable.select(net, regime, seed=0)
    cfg = train.TrainConfig(
        epochs=2, batch_size=16, lr=0.05, optimizer=optimizer, weight_decay=0.1
    )
    train.fit(net, tiny_data(), cfg, seed=0, device="cpu", after_step=sel.restore)
    changed = sel.changed()
    assert changed["frozen"] == 0 and sel.frozen.frozen_max_change() == 0.0
    assert (
        changed["trainable"] > 0.9 * sel.trainable_count()
    )  # and what should train did move


def test_selection_holds_its_partly_trainable_tensors_with_frozen_entries():
    net = resnet()
    sel = trainable.select(net, "random_per_channel", seed=0)
    assert isinstance(sel.frozen, masks.FrozenEntries)
    assert set(sel.frozen.trains) == set(
        sel.masks
    )  # every tensor here trains only in part
    assert sel.frozen.trainable_count() == sel.trainable_count()
    assert not trainable.select(resnet(), "bn").frozen.trains  # whole tensors: no mask


def test_without_restore_weight_decay_moves_masked_entries():
    # the negative control: a gradient mask alone does not freeze entries under weight decay
    net = resnet()
    sel = trainable.select(net, "random_per_channel", seed=0)
    cfg = train.TrainConfig(epochs=1, batch_size=16, lr=0.05, weight_decay=0.1)
    train.fit(net, tiny_data(), cfg, seed=0, device="cpu")
    assert sel.changed()["frozen"] > 0


def test_release_makes_everything_trainable_and_removes_the_mask():
    net = resnet()
    sel = trainable.select(net, "random_anywhere", seed=0)
    sel.release()
    assert models.count_parameters(net, trainable_only=True) == models.count_parameters(
        net
    )
    F.cross_entropy(net(torch.randn(4, 3, 8, 8)), torch.arange(4)).backward()
    conv = list(trainable.conv_layers(net).values())[1]
    assert (conv.weight.grad != 0).float().mean() > 0.5


def test_unknown_regime():
    with pytest.raises(ValueError, match="regime must be one of"):
        trainable.select(resnet(), "conv")


def test_init_batchnorm_uniform_gamma_zero_beta():
    net = resnet(14, 16)
    g = trainable.gammas(net)
    assert g.min() >= 0 and g.max() <= 1 and 0.4 < g.mean() < 0.6 and g.std() > 0.2
    assert all(torch.all(m.bias == 0) for m in trainable.batchnorm_layers(net).values())
    trainable.init_batchnorm_(net, "ones")
    assert torch.all(trainable.gammas(net) == 1)
    with pytest.raises(ValueError):
        trainable.init_batchnorm_(net, "normal")


def test_gamma_table_counts_small_gammas():
    net = models.CifarResNet(8, 4)
    layers = list(trainable.batchnorm_layers(net).values())
    with torch.no_grad():
        layers[0].weight.copy_(torch.tensor([0.0, -0.005, 0.03, 1.0]))
        for m in layers[1:]:
            m.weight.fill_(0.5)
    table = trainable.gamma_table(net, [0.01, 0.05])
    assert list(table.layer[: len(layers)]) == list(range(len(layers)))
    first, overall = table.iloc[0], table.iloc[-1]
    assert first["below 0.01"] == 0.5 and first["below 0.05"] == 0.75
    total = trainable.gammas(net).numel()
    assert overall["name"] == "overall" and overall["channels"] == total
    assert overall["below 0.01"] == pytest.approx(2 / total) and overall[
        "below 0.05"
    ] == pytest.approx(3 / total)
    assert (
        trainable.fraction_below(torch.tensor([0.001, -0.2, 0.5, -0.009]), 0.01) == 0.5
    )


def full_preset_models():
    full = params.load_spec("batchnorm_only").preset("full")
    nets = {(d, full["base_width"]) for d in full["depths"]} | {
        (full["width_depth"], w) for w in full["widths"]
    }
    return sorted(nets), full["regimes"]


def test_full_preset_covers_the_papers_grid():
    nets, regimes = full_preset_models()
    assert set(regimes) == set(trainable.REGIMES)
    assert (866, 16) in nets and (110, 16) in nets and max(w for _, w in nets) >= 128


@pytest.mark.parametrize("depth, width", full_preset_models()[0])
def test_every_full_preset_model_takes_a_step_in_every_regime(depth, width):
    x, y = torch.randn(4, 3, 8, 8), torch.arange(4)
    torch.manual_seed(0)
    net = models.CifarResNet(depth, width)
    for regime in full_preset_models()[1]:
        trainable.init_batchnorm_(net, "uniform", torch.Generator().manual_seed(0))
        sel = trainable.select(net, regime, seed=0)
        opt = train.make_optimizer(net, train.TrainConfig(lr=0.01, weight_decay=1e-4))
        loss = F.cross_entropy(net(x), y)
        assert torch.isfinite(loss)
        loss.backward()
        opt.step()
        sel.restore()
        changed = sel.changed()
        assert changed["frozen"] == 0 and changed["trainable"] > 0, regime
        sel.release()
        with torch.no_grad():  # back to the initial weights for the next regime
            for name, p in net.named_parameters():
                p.copy_(sel.reference[name])
        net.zero_grad(set_to_none=True)


def test_changed_is_bitwise():
    net = resnet()
    sel = trainable.select(net, "bn")
    name, conv = next(iter(trainable.conv_layers(net).items()))
    with torch.no_grad():
        conv.weight[0, 0, 0, 0] = 0.0
    sel.reference[f"{name}.weight"][0, 0, 0, 0] = -0.0  # equal as numbers, not as bits
    assert sel.changed()["frozen"] == 1


def test_the_layer_lists_are_in_module_order_and_skip_non_affine_batchnorms():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.BatchNorm2d(4, affine=False),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 4),
        torch.nn.Linear(4, 2),
    )
    assert list(trainable.batchnorm_layers(net)) == ["1"]
    assert list(trainable.conv_layers(net)) == ["0"]
    assert trainable.output_layer(net)[0] == "5"


# ---------------------------------------------------------------------------------------------
# The sweep and its per-seed numbers


SMOKE = dict(
    params.resolve("batchnorm_only", "smoke"),
    train_examples=0,
    regimes=["all", "bn", "random_per_channel"],
)


def test_nets_are_the_two_sweeps_with_the_shared_network_once():
    nets = sweep.Nets.of(
        dict(depths=[14, 8, 14], base_width=4, width_depth=8, widths=[4, 2])
    )
    assert nets.depth == [(8, 4), (14, 4)] and nets.width == [(8, 2), (8, 4)]
    assert nets.all == [(8, 4), (14, 4), (8, 2)] and nets.deepest == (14, 4)
    assert sweep.label((14, 4)) == "ResNet-14 w4"
    assert sweep.thresholds(0.02) == [0.001, 0.02, 0.05, 0.1]


def test_count_table_matches_bn_and_random_counts():
    counts = sweep.parameter_counts(
        [(8, 4), (14, 4)], ["all", "bn", "random_per_channel"]
    )
    table = sweep.count_table(counts)
    assert list(table.columns) == [
        trainable.LABELS[r] for r in ("all", "bn", "random_per_channel")
    ]
    assert list(table.index) == ["ResNet-8 w4", "ResNet-14 w4"]
    bn = trainable.batchnorm_parameter_count(models.CifarResNet(14, 4))
    assert table.loc["ResNet-14 w4", trainable.LABELS["bn"]] == bn
    assert table.dtypes.eq(int).all()
    # the check: random k/channel trains exactly the γ+β count of every network
    assert sweep.count_mismatch(counts) == 0
    assert (
        counts.bn_parameters == table[trainable.LABELS["bn"]].repeat(3).values
    ).all()
    random = counts.regime == trainable.LABELS["random_per_channel"]
    assert (
        sweep.count_mismatch(counts.assign(trainable=counts.trainable - 3 * random))
        == 3
    )
    # a miscounted BN-only row is not what the check compares against: the independent count is
    assert (
        sweep.count_mismatch(
            counts.assign(
                trainable=counts.trainable + (counts.regime == "BatchNorm only")
            )
        )
        == 0
    )
    assert (
        sweep.count_mismatch(counts[~random]) == 0
    )  # no random regime: nothing to match


def test_frozen_regimes_share_their_optimizer_and_learning_rate():
    P = dict(
        SMOKE, optimizer_all="sgd", lr_all=0.5, optimizer_frozen="adam", lr_frozen=0.01
    )
    assert (
        sweep.train_config(P, "all").optimizer,
        sweep.train_config(P, "all").lr,
    ) == ("sgd", 0.5)
    for regime in ("bn", "random_per_channel", "output"):
        cfg = sweep.train_config(P, regime)
        assert (cfg.optimizer, cfg.lr, cfg.epochs) == ("adam", 0.01, P["epochs"])


def fake_runs():
    """Two seeds; BN-only accuracy 0.2 at depth 8 and 0.4 at depth 32 (seed 0), 0.3 → 0.3 (seed 1)."""
    rows = []
    acc = {(0, 8): 0.2, (0, 32): 0.4, (1, 8): 0.3, (1, 32): 0.3}
    for (seed, depth), a in acc.items():
        net = sweep.label((depth, 4))
        rows.append(
            dict(net=net, depth=depth, width=4, regime="bn", seed=seed, test_acc=a)
        )
        rows.append(
            dict(
                net=net,
                depth=depth,
                width=4,
                regime="random_per_channel",
                seed=seed,
                test_acc=0.1,
            )
        )
        rows.append(
            dict(net=net, depth=depth, width=4, regime="all", seed=seed, test_acc=0.5)
        )
    return pd.DataFrame(rows)


def test_per_seed_numbers_average_over_the_networks_then_slope_per_seed():
    runs, nets = fake_runs(), [(8, 4), (32, 4)]
    assert sweep.per_seed(runs, "bn", nets).tolist() == pytest.approx([0.3, 0.3])
    assert sweep.per_seed(runs, "bn", nets[:1]).tolist() == pytest.approx([0.2, 0.3])
    # seed 0: +0.2 over two doublings (8 → 32) = 0.1 per doubling; seed 1: flat
    assert sweep.slopes(runs, nets, "depth") == pytest.approx([0.1, 0.0])
    adv = sweep.advantage(runs, nets)
    assert adv["ResNet-8 w4"] == pytest.approx([0.1, 0.2])
    assert sweep.accuracy_table(runs).loc["ResNet-32 w4", "BN-only − random"] == 0.25
    xs, ests = sweep.accuracy_by(runs, nets, "depth")["bn"]
    assert xs == [8, 32] and [e.mean for e in ests] == pytest.approx([0.25, 0.35])


def test_a_tiny_sweep_trains_every_regime_from_one_initialization():
    P = dict(SMOKE, seeds=2, epochs=1.0, batch_size=16)
    data = tiny_data(32)
    data.shape = (3, 8, 8)
    result = sweep.run(P, data, [(8, 2)], device="cpu")
    runs, layers = result.runs, result.layers
    assert len(runs) == 2 * 3 and set(runs.regime) == set(P["regimes"])
    assert runs.frozen_changed.eq(0).all()  # the check the notebook measures
    # every regime of a seed starts from the same γ: the same fraction below threshold
    assert runs.groupby("seed").off_before.nunique().eq(1).all()
    init = {k[3]: v for k, v in result.gammas.items() if k[0] == "init"}
    assert not torch.equal(init[0], init[1])  # seeds differ
    assert torch.equal(
        result.gammas[("random_per_channel", 8, 2, 0)], init[0]
    )  # γ frozen
    assert not torch.equal(result.gammas[("bn", 8, 2, 0)], init[0])  # γ trained
    assert set(layers.stage) == {"before", "after"} and "overall" in set(layers.name)
    below = f"below {P['gamma_threshold']:g}"
    before = sweep.off_fraction(layers, "bn", below, stage="before")
    assert before.tolist() == pytest.approx(
        runs[runs.regime == "bn"].off_before.tolist()
    )
    assert len(sweep.per_layer(layers, (8, 2), below, "bn")) == len(
        trainable.batchnorm_layers(models.CifarResNet(8, 2))
    )
    summary = sweep.gamma_summary(layers, [below])
    assert list(summary.index) == ["initialization", *P["regimes"]]
    assert sweep.log_abs_gammas(result.gammas, "init").max() <= 0.0  # γ ~ U[0, 1]
    counts = sweep.parameter_counts([(8, 2)], P["regimes"])
    numbers = sweep.numbers(result, [(8, 2)], counts, below)
    # what the criteria record is not repeated
    assert "accuracy bn" not in numbers and "off_fraction bn" not in numbers
    assert {
        "accuracy random_per_channel",
        "off_fraction all",
        "off_fraction_init",
    } <= set(numbers)
    assert len(numbers["runs"]) == 6 and np.isfinite(numbers["off_fraction_init"])


def test_a_sweep_without_restore_records_moved_frozen_entries(monkeypatch):
    # weight decay moves the masked entries of random k/channel unless they are restored
    monkeypatch.setattr(trainable.Selection, "restore", lambda self: None)
    P = dict(SMOKE, seeds=1, epochs=1.0, batch_size=16, weight_decay=0.1)
    data = tiny_data(32)
    data.shape = (3, 8, 8)
    runs = sweep.run(P, data, [(8, 2)], device="cpu").runs.set_index("regime")
    assert runs.frozen_changed["random_per_channel"] > 0
    assert runs.frozen_changed["all"] == 0 and runs.frozen_changed["bn"] == 0


@pytest.mark.parametrize(
    "override, message",
    [
        (dict(depths=[8, 10]), "6n\\+2"),
        (dict(width_depth=12), "6n\\+2"),
        (dict(widths=[4]), "at least 2 different"),
        (dict(regimes=["all", "bn"]), "must include"),
    ],
)
def test_the_spec_rejects_what_the_sweeps_cannot_compare(override, message):
    with pytest.raises(params.ParameterError, match=message):
        params.resolve("batchnorm_only", "smoke", override)


def test_one_depth_only_where_the_depth_trend_is_not_tested():
    """The spec accepts one depth where the preset declares 'rises with depth' not tested (cpu trains
    one) and refuses it, when parameters are resolved, where the preset tests it."""
    P = params.resolve("batchnorm_only", "cpu", dict(depths=[14, 14]))
    nets = sweep.Nets.of(P)
    assert nets.depth == [(14, P["base_width"])]
    assert list(nets.sweeps(P)) == ["width"]  # no depth trend to draw
    spec = params.load_spec("batchnorm_only")
    assert not spec.tests("rises with depth", "cpu") and spec.tests(
        "rises with depth", "gpu"
    )
    with pytest.raises(params.ParameterError, match="needs two or more depths"):
        params.resolve("batchnorm_only", "gpu", dict(depths=[14, 14]))
    both = sweep.Nets.of(params.resolve("batchnorm_only", "gpu", {}))
    assert list(both.sweeps(P)) == ["depth", "width"]


def test_output_layer_is_he_normal_fan_in_as_open_lth():
    net = models.CifarResNet(8, 64)  # output layer 256 → 10: 2,560 weights
    before = trainable.output_layer(net)[1].weight.std().item()
    trainable.init_output_(net, torch.Generator().manual_seed(0))
    weight = trainable.output_layer(net)[1].weight
    he = (2 / weight.shape[1]) ** 0.5
    assert abs(weight.std().item() / he - 1) < 0.05
    assert abs(before / he - 1 / 6**0.5) < 0.05  # PyTorch's default: 0.41× the spread
