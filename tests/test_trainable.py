import itertools
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from reprobook import models, params, train
from reprobook.papers.batchnorm_only import trainable


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
    for name, _conv in convs:
        per_channel = sel.masks[f"{name}.weight"].flatten(1).sum(1)
        assert torch.all(per_channel == 2), (
            name
        )  # 2 per channel = the BN count: one BN channel per conv channel
    other = trainable.select(resnet(14, 16), "random_per_channel", seed=1)
    same = trainable.select(resnet(14, 16), "random_per_channel", seed=0)
    name = f"{convs[3][0]}.weight"
    assert not torch.equal(sel.masks[name], other.masks[name])
    assert torch.equal(sel.masks[name], same.masks[name])


def test_per_channel_counts_spread_a_remainder():
    counts = trainable.per_channel_counts(10, 23, torch.Generator().manual_seed(0))
    assert (
        counts.sum() == 23
        and set(counts.tolist()) == {2, 3}
        and (counts == 3).sum() == 3
    )


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
    train.fit(net, tiny_data(), cfg, seed=0, device="cpu", after_step=sel.after_step)
    changed = sel.changed()
    assert changed["frozen"] == 0
    assert (
        changed["trainable"] > 0.9 * sel.trainable_count()
    )  # and what should train did move


def test_without_after_step_weight_decay_moves_masked_entries():
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
    conv = trainable.conv_layers(net)[1][1]
    assert (conv.weight.grad != 0).float().mean() > 0.5


def test_unknown_regime():
    with pytest.raises(ValueError, match="regime must be one of"):
        trainable.select(resnet(), "conv")


def test_init_batchnorm_uniform_gamma_zero_beta():
    net = resnet(14, 16)
    g = trainable.gammas(net)
    assert g.min() >= 0 and g.max() <= 1 and 0.4 < g.mean() < 0.6 and g.std() > 0.2
    assert all(torch.all(m.bias == 0) for _, m in trainable.batchnorm_layers(net))
    trainable.init_batchnorm_(net, "ones")
    assert torch.all(trainable.gammas(net) == 1)
    with pytest.raises(ValueError):
        trainable.init_batchnorm_(net, "normal")


def test_gamma_table_counts_small_gammas():
    net = models.CifarResNet(8, 4)
    layers = trainable.batchnorm_layers(net)
    with torch.no_grad():
        layers[0][1].weight.copy_(torch.tensor([0.0, -0.005, 0.03, 1.0]))
        for _, m in layers[1:]:
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
        sel.after_step()
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
    conv = trainable.conv_layers(net)[0][1]
    with torch.no_grad():
        conv.weight[0, 0, 0, 0] = 0.0
    sel.reference[f"{trainable.conv_layers(net)[0][0]}.weight"][
        0, 0, 0, 0
    ] = -0.0  # equal as numbers, not as bits
    assert sel.changed()["frozen"] == 1
