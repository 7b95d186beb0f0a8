import itertools

import pytest
import torch

from reprobook import models, params


def test_parallel_twin_has_the_same_parameters_and_computes_the_first_order_sum():
    torch.manual_seed(0)
    deep = models.ResidualConvNet(
        3, 10, filters=4, kernel=3, blocks=3, branch_scale=0.5
    )
    twin = models.ResidualConvNet(
        3, 10, filters=4, kernel=3, blocks=3, branch_scale=0.5, mode="parallel"
    )
    twin.load_state_dict(deep.state_dict())
    assert models.count_parameters(deep) == models.count_parameters(twin)
    x = torch.randn(2, 4, 8, 8)
    expected = x + 0.5 * sum(g(x) for g in deep.stack.branches)
    assert torch.allclose(twin.stack(x), expected, atol=1e-6)
    sequential = x
    for g in deep.stack.branches:
        sequential = sequential + 0.5 * g(sequential)
    assert torch.allclose(deep.stack(x), sequential, atol=1e-6)
    assert not torch.allclose(deep.stack(x), twin.stack(x))


def test_branch_scale_rules():
    assert models.resolve_branch_scale("1/sqrt(L)", 64) == pytest.approx(1 / 8)
    assert models.resolve_branch_scale("1/L", 64) == pytest.approx(1 / 64)
    assert models.resolve_branch_scale(0.3, 64) == 0.3
    with pytest.raises(ValueError, match="must be one of"):
        models.resolve_branch_scale("1/L^2", 4)
    net = models.ResidualMLP(784, blocks=16, branch_scale="1/L")
    assert net.stack.branch_scale == pytest.approx(1 / 16)


def test_cifar_resnet_depths_and_widths():
    net = models.CifarResNet(depth=20, width=16)
    assert (
        0.26e6 < models.count_parameters(net) < 0.28e6
    )  # ResNet-20 has 0.27M parameters (He et al., Table 6)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="6n\\+2"):
        models.CifarResNet(depth=21)
    with pytest.raises(ValueError, match="multiple of 3"):
        models.cifar_resnet_depth(64)
    assert models.cifar_resnet_depth(9) == 20


def test_norm_free_resnet_has_no_batchnorm():
    net = models.CifarResNet(depth=8, width=4, norm=None, branch_scale="1/L")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert all(block.branch_scale == pytest.approx(1 / 3) for block in net.blocks)


def one_step(net, shape):
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss = torch.nn.functional.cross_entropy(
        net(torch.randn(2, *shape)), torch.tensor([0, 1])
    )
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)


FULL = params.resolve("residual_expansion", "full")
SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


@pytest.mark.parametrize("blocks", FULL["train_blocks"])
def test_full_preset_trainability_nets_take_a_training_step(blocks):
    for norm in (None, "batch"):  # λ changes a number, not the architecture
        net = models.residual_classifier(
            FULL["train_model"],
            SHAPES[FULL["train_dataset"]],
            blocks,
            FULL["train_width"],
            "1/sqrt(L)",
            norm,
        )
        one_step(net, SHAPES[FULL["train_dataset"]])


def test_full_preset_grid_nets_take_a_training_step():
    for dataset, blocks, filters, kernel, mode in itertools.product(
        FULL["grid_datasets"],
        FULL["grid_blocks"],
        FULL["grid_filters"],
        FULL["grid_kernels"],
        models.MODES,
    ):
        net = models.ResidualConvNet(
            SHAPES[dataset][0],
            10,
            filters=filters,
            kernel=kernel,
            blocks=blocks,
            mode=mode,
        )
        one_step(net, SHAPES[dataset])


def test_residual_classifier_kinds():
    assert isinstance(
        models.residual_classifier("mlp", (1, 28, 28), 4, 16), models.ResidualMLP
    )
    with pytest.raises(ValueError, match="'mlp' or 'resnet'"):
        models.residual_classifier("vit", (1, 28, 28), 4, 16)
