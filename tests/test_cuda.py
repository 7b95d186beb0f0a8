"""Tests that need a CUDA GPU (marked ``cuda``; skipped without one): every notebook at `smoke` on
the GPU, the trainer's determinism there, and one training step of every model the `gpu` and `full`
presets build."""

import pytest
import torch
import torch.nn.functional as F
import torchvision

from reprobook import models, params, train
from reprobook.data import ImageData
from reprobook.papers.residual_expansion import residual
from reprobook.papers.wide_attention import attention, experiment, sequences

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]
SCALES = ("gpu", "full")


def one_step(model: torch.nn.Module, x: torch.Tensor, classes: int) -> float:
    """One SGD step on random labels, on the GPU: the loss, which must be finite."""
    model.cuda().train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    y = torch.randint(0, classes, (len(x),), device="cuda")
    loss = F.cross_entropy(model(x.cuda()), y)
    loss.backward()
    opt.step()
    return loss.item()


def cifar_nets(name: str, preset: str) -> set[tuple[int, int]]:
    P = params.resolve(name, preset)
    if name == "batchnorm_only":
        return {(d, P.base_width) for d in P.depths} | {
            (P.width_depth, w) for w in P.widths
        }
    return set(zip(P.depths, P.widths))


@pytest.mark.parametrize("preset", SCALES)
@pytest.mark.parametrize("name", ["batchnorm_only", "random_pruning"])
def test_one_step_of_every_cifar_resnet(name, preset):
    size = params.resolve(name, preset).image_size
    for depth, width in sorted(cifar_nets(name, preset)):
        net = models.CifarResNet(depth, width)
        assert torch.isfinite(
            torch.tensor(one_step(net, torch.randn(8, 3, size, size), 10))
        )


@pytest.mark.parametrize("preset", SCALES)
def test_one_step_of_every_attention_model(preset):
    P = params.resolve("wide_attention", preset)
    for task in P.tasks:
        vocab, length, classes = sequences.task_dims(P, task)
        for _kind, _layers, cfg in experiment.configs(P, task):
            x = torch.randint(1, vocab, (2, length))
            assert torch.isfinite(
                torch.tensor(one_step(attention.build(cfg), x, classes))
            )


@pytest.mark.parametrize("preset", SCALES)
def test_one_step_of_every_residual_classifier(preset):
    P = params.resolve("residual_expansion", preset)
    shape = (3, 32, 32) if P.train_dataset == "cifar10" else (1, 28, 28)
    build = residual.net_factory(P.train_model, shape, P.train_width)
    for blocks in P.train_blocks:
        for rule, norm in residual.CONFIGS:
            loss = one_step(build(blocks, rule, norm), torch.randn(4, *shape), 10)
            assert loss == loss  # λ = 1 may explode at depth; NaN would be a bug


@pytest.mark.parametrize("preset", SCALES)
def test_one_step_of_the_quantized_model(preset):
    P = params.resolve("zeroq", preset)
    if P.model == "cifar_resnet":
        net, size = models.CifarResNet(P.depth, P.width), P.resolution
    else:
        net, size = getattr(torchvision.models, P.model)(weights=None), 224
    assert torch.isfinite(
        torch.tensor(one_step(net, torch.randn(4, 3, size, size), 10))
    )


def test_trainer_is_deterministic_on_cuda():
    """Same seed, same initial weights: the same history on the GPU (cuDNN set deterministic)."""
    g = torch.Generator().manual_seed(0)
    images = ImageData(
        "toy",
        torch.randint(0, 256, (512, 3, 16, 16), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (512,), generator=g),
        torch.randint(0, 256, (128, 3, 16, 16), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (128,), generator=g),
        classes=tuple(map(str, range(10))),
        source="random",
    )
    cfg = train.TrainConfig(epochs=2, batch_size=64, augment=True, precision="bf16")
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    histories = []
    for _ in range(2):
        torch.manual_seed(0)
        net = models.CifarResNet(8, 8)
        histories.append(train.fit(net, images, cfg, seed=0, device="cuda"))
    a, b = (h[["train_loss", "test_loss", "test_acc"]] for h in histories)
    assert a.equals(b)


def test_compiled_training_learns_on_cuda():
    """TrainConfig(compile=True): inductor on the GPU trains the same model to a similar loss."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (1024, 3, 16, 16), dtype=torch.uint8, generator=g)
    y = (x.float().mean((1, 2, 3)) > 127.5).long()  # an easy, learnable label
    images = ImageData("toy", x[:768], y[:768], x[768:], y[768:], ("0", "1"), "random")
    losses = []
    for compile_ in (False, True):
        torch.manual_seed(0)
        cfg = train.TrainConfig(epochs=3, batch_size=64, compile=compile_)
        h = train.fit(
            models.CifarResNet(8, 8, num_classes=2), images, cfg, device="cuda"
        )
        losses.append(h.train_loss.iloc[-1])
    assert losses[1] == pytest.approx(losses[0], rel=0.2, abs=0.05)


def test_every_notebook_runs_at_smoke_on_cuda(tmp_path):
    from pathlib import Path

    from reprobook.runner import run_notebooks

    repo = Path(__file__).resolve().parents[1]
    outcomes = run_notebooks(repo, params.notebooks(), "smoke", {}, tmp_path)
    assert all(o.ok for o in outcomes), {o.notebook: o.error for o in outcomes}
