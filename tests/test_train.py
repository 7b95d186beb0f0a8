import contextlib
import copy
import dataclasses
import math
import os
import re
import subprocess
import sys

import pytest
import torch
from torch import nn

from reprobook import models, train
from reprobook.data import ImageData


def toy_data(n=256, seed=0) -> ImageData:
    """Two easy classes: bright top half against bright bottom half, 1x8x8 'digits'."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randint(0, 60, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    x[y == 0, :, :4] += 150
    x[y == 1, :, 4:] += 150
    return ImageData(
        "mnist",
        x[: n * 3 // 4],
        y[: n * 3 // 4],
        x[n * 3 // 4 :],
        y[n * 3 // 4 :],
        ("0", "1"),
        "toy",
    )


def test_crop_and_flip_are_translations_and_mirrors_of_each_image():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6)
    out = train.random_crop_flip(x, pad=2, generator=g)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(len(x)):
        windows = [
            padded[i, :, dy : dy + 6, dx : dx + 6] for dy in range(5) for dx in range(5)
        ]
        assert any(
            torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows
        )
    assert torch.equal(train.random_crop_flip(x, pad=0, generator=g, flip=False), x)


def test_cutout_zeroes_one_clipped_square_per_image_and_nothing_else():
    g = torch.Generator().manual_seed(0)
    x = torch.ones(64, 3, 8, 8)
    out = train.cutout(x, size=4, generator=g)
    zeroed = out[:, 0] == 0  # (n, h, w): the same square in every channel
    assert torch.equal(out == 0, zeroed.unsqueeze(1).expand_as(out))
    for square in zeroed:
        rows, cols = (
            square.any(1).nonzero().flatten(),
            square.any(0).nonzero().flatten(),
        )
        assert (
            1 <= len(rows) <= 4 and 1 <= len(cols) <= 4
        )  # clipped at a border, never larger
        assert square.sum() == len(rows) * len(cols)  # one rectangle
        assert torch.equal(rows, torch.arange(rows[0], rows[-1] + 1))
    assert (
        zeroed.flatten(1).sum(1) == 16
    ).any()  # a square inside the image keeps its size
    assert torch.equal(out, train.cutout(x, 4, torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="cutout"):
        train.TrainConfig(cutout=-1)


def test_cutout_trains_only_when_asked():
    data, cfg = toy_data(), train.TrainConfig(epochs=1, batch_size=32, augment=True)
    runs = []
    for c in (cfg, cfg, dataclasses.replace(cfg, cutout=4)):
        torch.manual_seed(0)
        model = models.ResidualConvNet(1, 2, filters=4, blocks=2)
        train.fit(model, data, c, seed=0)
        runs.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_lr_schedule_warms_up_then_decays_to_zero():
    cfg = train.TrainConfig(warmup=0.1)
    factors = [train.lr_factor(s, 100, cfg) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(1 / 90) and all(
        a >= b for a, b in zip(factors[9:], factors[10:])
    )


def test_step_schedule_is_multisteplr_stepped_per_epoch():
    """open_lth's CIFAR protocol: ×0.1 after epochs 80 and 120 of 160 (here 10 steps an epoch),
    compared with PyTorch's own MultiStepLR."""
    cfg = train.TrainConfig(schedule="step", milestones=(80, 120), warmup=0.0)
    mine = [train.lr_factor(s, 1600, cfg, steps_per_epoch=10) for s in range(1600)]
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    ref = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[80, 120], gamma=0.1)
    theirs = []
    for _epoch in range(160):
        theirs += [opt.param_groups[0]["lr"]] * 10
        opt.step()
        ref.step()
    assert mine == pytest.approx(theirs)
    assert mine[799] == 1.0 and mine[800] == pytest.approx(0.1)
    assert mine[1200] == pytest.approx(0.01)


def test_inverse_sqrt_schedule_peaks_after_warmup_then_decays_as_rsqrt():
    """LRA: linear warm-up over 1,000 steps to the peak, then sqrt(w / step)."""
    cfg = train.TrainConfig(schedule="inverse_sqrt", warmup_steps=1000)
    f = [train.lr_factor(s, 5000, cfg) for s in range(5000)]
    assert f[0] == pytest.approx(1e-3) and f[999] == pytest.approx(1.0)
    assert f[3999] == pytest.approx(0.5)  # sqrt(1000 / 4000)
    assert max(f) == 1.0 and all(a >= b for a, b in zip(f[999:], f[1000:]))


def test_unknown_schedule_or_precision_is_rejected():
    with pytest.raises(ValueError, match="schedule must be one of"):
        train.TrainConfig(schedule="cosine")
    with pytest.raises(ValueError, match="precision must be one of"):
        train.TrainConfig(precision="fp8")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train.TrainConfig(optimizer="lion")


@pytest.mark.parametrize(
    "field, value",
    [
        ("epochs", 0),
        ("epochs", -1),
        ("batch_size", 0),
        ("lr", 0.0),
        ("momentum", 1.0),
        ("weight_decay", -1e-4),
        ("warmup", 1.5),
        ("warmup_steps", -1),
        ("lr_gamma", 0.0),
        ("eps", 0.0),
        ("betas", (0.9, 1.0)),
        ("label_smoothing", 1.0),
        ("grad_clip", 0.0),
    ],
)
def test_a_number_that_cannot_train_is_rejected_when_the_recipe_is_made(field, value):
    """e.g. ``train-record --set epochs=0``: refused before the data load, not after hours."""
    with pytest.raises(
        ValueError, match=f"^{field} must be .*, got {re.escape(repr(value))}$"
    ):
        train.TrainConfig(**{field: value})


def test_the_edges_that_can_train_are_accepted():
    train.TrainConfig(
        epochs=0.005, momentum=0.0, weight_decay=0.0, warmup=0.0, warmup_steps=0
    )
    train.TrainConfig(warmup=1.0, label_smoothing=0.0, grad_clip=None, betas=(0.0, 0.0))


def test_bf16_reaches_the_cpu_only_when_asked_for_everywhere():
    cpu = torch.device("cpu")
    assert isinstance(train.autocast(cpu, "bf16"), contextlib.nullcontext)
    assert isinstance(train.autocast(cpu, "fp32"), contextlib.nullcontext)
    with train.autocast(cpu, "bf16-everywhere"):
        assert (nn.Linear(3, 2)(torch.ones(1, 3))).dtype == torch.bfloat16


@pytest.mark.parametrize(
    "has_bf16, precision, device, slow",
    [
        (False, "bf16-everywhere", "cpu", True),  # emulated: 1.8-10x slower than fp32
        (True, "bf16-everywhere", "cpu", False),
        (
            None,
            "bf16-everywhere",
            "cpu",
            False,
        ),  # torch cannot tell: no refusal on a guess
        (False, "bf16-everywhere", "cuda", False),
        (False, "bf16", "cpu", False),  # fp32 on the CPU anyway
        (False, "fp32", "cpu", False),
    ],
)
def test_bf16_on_a_cpu_without_bf16_instructions_is_called_slow(
    monkeypatch, has_bf16, precision, device, slow
):
    monkeypatch.setattr(train, "cpu_has_bf16", lambda: has_bf16)
    problem = train.slow_precision(precision, torch.device(device))
    assert (problem is not None) == slow
    if slow:
        assert "no bf16 instructions" in problem and "\n" not in problem


def test_the_cpu_bf16_probe_answers_yes_no_or_unknown():
    assert train.cpu_has_bf16() in (True, False, None)


def test_channels_last_is_kept_from_cpu_nets_with_narrow_strided_convolutions():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    narrow = models.CifarResNet(8, 4)  # a 4 -> 8-channel 1x1 stride-2 shortcut
    assert not train.channels_last_is_safe(narrow, cpu)
    assert train.channels_last_is_safe(narrow, cuda)  # cuDNN, not oneDNN
    assert train.channels_last_is_safe(models.CifarResNet(8, 8), cpu)
    assert train.channels_last_is_safe(models.CifarResNet(20, 16), cpu)


def conv_inputs(model: nn.Module, size: int) -> dict[tuple, torch.Size]:
    """Each distinct convolution of ``model`` (in, out, kernel, stride) and the shape of its input
    on a batch of 32 images of ``size`` pixels."""
    shapes, hooks = {}, []

    def record(key):
        def hook(module, args, output):  # returns None: the output stays as it is
            shapes.setdefault(key, args[0].shape)

        return hook

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            key = (m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
            hooks.append(m.register_forward_hook(record(key)))
    with torch.no_grad():
        model.eval()(torch.zeros(32, model.stem[0].in_channels, size, size))
    for h in hooks:
        h.remove()
    return shapes


def layout_gradient_error(key: tuple, shape: torch.Size) -> float:
    """The largest relative difference between the weight and input gradients of one convolution in
    channels_last and in the contiguous layout, from the same weights and input."""
    torch.manual_seed(0)
    cin, cout, kernel, stride, padding = key
    conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
    x = torch.randn(shape)
    grads = []
    for layout in (torch.contiguous_format, torch.channels_last):
        c = copy.deepcopy(conv).to(memory_format=layout)
        inputs = x.clone().to(memory_format=layout).requires_grad_()
        c(inputs).square().mean().backward()
        grads.append((inputs.grad, c.weight.grad))
    return max(
        ((a - b).abs().max() / a.abs().max().clamp_min(1e-12)).item()
        for a, b in zip(*grads)
    )


@pytest.mark.parametrize(
    "depth, width, channels, size",
    [(8, 8, 3, 16), (8, 16, 3, 16), (8, 32, 3, 16), (20, 16, 3, 32), (8, 8, 1, 28)],
)
def test_where_channels_last_is_allowed_on_the_cpu_each_convolution_gets_the_contiguous_gradients(
    depth, width, channels, size
):
    """Every convolution of the nets the book may train in channels_last on the CPU gets the gradients
    of the contiguous layout (to 1e-4; they agree to about 1e-6). The convolutions the rule keeps out
    did not: on a 2-core AVX2 EPYC with torch 2.14.1 (2026-12-06) a 1x1 stride-2 convolution from 1-7
    channels gave gradients 2% to 14,000% off (from 1-3 channels it often hung or corrupted the heap),
    while the 3x3 stride-2 and all unstrided ones from 1-7 channels and the strided ones from 8-32
    agreed; on such a CPU this test fails if the rule lets one of those through. (Whole nets are not
    compared: a ResNet-20's fp32 gradients at initialisation are ill-conditioned, 0.7% off float64 in
    the contiguous layout itself.)"""
    model = models.CifarResNet(depth, width, in_channels=channels)
    assert train.channels_last_is_safe(model, torch.device("cpu"))
    errors = {
        key: layout_gradient_error(key, shape)
        for key, shape in conv_inputs(model, size).items()
    }
    assert max(errors.values()) < 1e-4, errors


# 300 steps of a width-4 ResNet-8 in channels_last, as random_pruning's cpu preset trains it; on a
# 2-core AVX2 EPYC with torch 2.14.1 this process died of heap corruption before the fix
NARROW_NET_RUN = """
import torch
from reprobook import models, train
from reprobook.data import ImageData

torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
n = 128 * 300
x = torch.randint(0, 256, (n + 256, 3, 16, 16), generator=g, dtype=torch.uint8)
y = torch.randint(0, 10, (n + 256,), generator=g)
data = ImageData("cifar10", x[:n], y[:n], x[n:], y[n:], tuple("0123456789"), "random")
cfg = train.TrainConfig(epochs=1, channels_last=True)
history = train.fit(models.CifarResNet(8, 4), data, cfg, device="cpu")
print("trained", int(history.step.iloc[-1]))
"""


def test_a_net_with_narrow_strided_convolutions_trains_on_the_cpu_without_crashing():
    run = subprocess.run(
        [sys.executable, "-c", NARROW_NET_RUN],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "REPROBOOK_PROGRESS": "0"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "trained 300" in run.stdout


def test_optimizer_options_reach_torch():
    net = nn.Linear(3, 2)
    plain = train.make_optimizer(net, train.TrainConfig(nesterov=False))
    assert plain.defaults["nesterov"] is False and plain.defaults["momentum"] == 0.9
    nesterov = train.make_optimizer(net, train.TrainConfig())
    assert nesterov.defaults["nesterov"] is True
    lra = train.TrainConfig(optimizer="adam", betas=(0.9, 0.98), eps=1e-9)
    adam = train.make_optimizer(net, lra)
    assert adam.defaults["betas"] == (0.9, 0.98) and adam.defaults["eps"] == 1e-9


def test_config_from_parameters_takes_the_fields_they_name():
    P = {"epochs": 3.0, "lr": 0.2, "milestones": [1, 2], "seeds": 3, "schedule": "step"}
    cfg = train.TrainConfig.of(P, batch_size=64)
    assert (cfg.epochs, cfg.lr, cfg.schedule, cfg.batch_size) == (3.0, 0.2, "step", 64)
    assert cfg.milestones == (1, 2)  # a YAML list becomes a tuple
    assert (
        cfg.weight_decay == train.TrainConfig().weight_decay
    )  # not named: the default


def test_fit_learns_and_records_history():
    data = toy_data()
    torch.manual_seed(0)
    net = models.ResidualMLP(64, 2, width=16, blocks=2)
    history = train.fit(
        net, data, train.TrainConfig(epochs=4, batch_size=32, lr=0.05, evals=2), seed=0
    )
    assert list(history.columns[:4]) == ["epoch", "step", "lr", "train_loss"]
    assert len(history) == 8 and history.epoch.iloc[-1] == pytest.approx(4)
    assert history.test_acc.iloc[-1] > 0.95 and not history.attrs["diverged"]
    final = train.final_losses(net, data)
    assert final["test_acc"] == pytest.approx(history.test_acc.iloc[-1])


def test_evals_0_evaluates_once_after_the_last_step_and_trains_the_same():
    data = toy_data()
    cfg = dict(epochs=3, batch_size=32, lr=0.05)
    final = {}
    for evals in (0, 2):
        torch.manual_seed(0)
        net = models.ResidualMLP(64, 2, width=16, blocks=2)
        history = train.fit(net, data, train.TrainConfig(**cfg, evals=evals), seed=0)
        final[evals] = history.iloc[-1]
        assert len(history) == (1 if evals == 0 else 6)
    assert final[0].step == final[2].step and final[0].epoch == pytest.approx(3)
    # evaluation draws no random numbers and changes no weight: the same final model
    assert final[0].test_loss == final[2].test_loss
    with pytest.raises(ValueError, match="evals counts evaluations"):
        train.TrainConfig(evals=-1)


def test_fit_is_deterministic_on_cpu_with_augmentation():
    data = toy_data()
    results = []
    for _ in range(2):
        torch.manual_seed(3)
        net = models.ResidualConvNet(1, 2, filters=4, blocks=2)
        history = train.fit(
            net, data, train.TrainConfig(epochs=1, batch_size=32, augment=True), seed=7
        )
        results.append(
            (
                history.train_loss.tolist(),
                [p.detach().clone() for p in net.parameters()],
            )
        )
    assert results[0][0] == results[1][0]
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1]))


def test_compile_trains_through_torch_compile_and_matches_eager(monkeypatch):
    compiled = []

    def eager_compile(
        model,
    ):  # the eager backend: dynamo traces, no C++ build in a unit test
        compiled.append(model)
        return torch.compile(model, backend="eager")

    monkeypatch.setattr(train, "_compile", eager_compile)
    data, runs = toy_data(), []
    for compile_ in (False, True):
        torch.manual_seed(3)
        net = models.ResidualMLP(64, 2, width=16, blocks=2)
        cfg = train.TrainConfig(epochs=1, batch_size=32, compile=compile_)
        runs.append(train.fit(net, data, cfg, seed=7).train_loss.tolist())
    assert len(compiled) == 1 and isinstance(compiled[0], models.ResidualMLP)
    assert runs[1] == pytest.approx(runs[0], rel=1e-5)


def test_divergence_stops_training_and_is_flagged():
    torch.manual_seed(0)
    net = models.ResidualMLP(64, 2, width=16, blocks=32, branch_scale=1.0)
    history = train.fit(
        net, toy_data(), train.TrainConfig(epochs=3, batch_size=32, lr=50.0), seed=0
    )
    assert history.attrs["diverged"]
    assert history.step.iloc[-1] < 18  # stopped early, did not run all 3 epochs
    assert (
        not math.isfinite(history.test_loss.iloc[-1])
        or history.test_acc.iloc[-1] <= 0.6
    )


def test_adam_and_bad_optimizer():
    net = models.ResidualMLP(64, 2, width=8, blocks=1)
    assert isinstance(
        train.make_optimizer(net, train.TrainConfig(optimizer="adam")),
        torch.optim.AdamW,
    )
    cfg = train.TrainConfig()
    cfg.optimizer = "lion"  # set after the recipe's own checks
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train.make_optimizer(net, cfg)


def test_device_choice():
    assert train.pick_device("cpu").type == "cpu"
    assert train.pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_after_step_runs_after_every_optimizer_step_and_can_pin_weights():
    data = toy_data()
    torch.manual_seed(0)
    net = models.ResidualMLP(64, 2, width=8, blocks=1)
    frozen = net.embed.weight.detach().clone()
    calls = []

    def pin():
        calls.append(1)
        with torch.no_grad():
            net.embed.weight.copy_(
                frozen
            )  # weight decay and momentum would move it otherwise

    train.fit(
        net, data, train.TrainConfig(epochs=1, batch_size=32), seed=0, after_step=pin
    )
    assert len(calls) == len(data.x_train) // 32
    assert torch.equal(net.embed.weight, frozen)


def test_fit_accepts_non_image_data_as_it_is():
    from types import SimpleNamespace

    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=g)
    y = (x[:, 0] > 0).long()
    features = SimpleNamespace(
        x_train=x[:150], y_train=y[:150], x_test=x[150:], y_test=y[150:]
    )
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    )
    history = train.fit(
        net, features, train.TrainConfig(epochs=5, batch_size=25, lr=0.1), seed=0
    )
    assert history.test_acc.iloc[-1] > 0.9


def test_eval_mode_restores_the_mode_the_model_had():
    model = torch.nn.Sequential(torch.nn.BatchNorm1d(3))
    model.train()
    with train.eval_mode(model):
        assert not model.training
    assert model.training
    model.eval()
    with train.eval_mode(model):
        pass
    assert not model.training


def test_predict_gives_the_logits_of_every_example_and_correct_compares_them():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    x, y = torch.randn(25, 4), torch.randint(0, 3, (25,))
    logits = train.predict(model, x, batch_size=7)
    assert torch.allclose(logits, model(x), atol=1e-6) and model.training
    assert torch.equal(
        train.correct(model, x, y, batch_size=7), model(x).argmax(1) == y
    )
    loss, acc = train.evaluate(model, x, y)
    assert abs(loss - torch.nn.functional.cross_entropy(model(x), y).item()) < 1e-5
    assert acc == (model(x).argmax(1) == y).sum().item() / len(y)  # exactly correct / N


def test_progress_fits_the_place(monkeypatch, capsys):
    """Under plain papermill (no terminal, no widgets) a run reports one line, not bar fragments."""
    monkeypatch.setenv("REPROBOOK_PROGRESS", "1")
    monkeypatch.setattr(train.sys.stderr, "isatty", lambda: False, raising=False)
    monkeypatch.setattr(train.importlib.util, "find_spec", lambda name: None)
    assert train.progress_mode() == "line"
    torch.manual_seed(0)
    data = toy_data()
    train.fit(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1 * 8 * 8, 2)),
        data,
        train.TrainConfig(epochs=1, batch_size=32),
        desc="toy run",
    )
    out = capsys.readouterr()
    assert (
        out.out.count("toy run:") == 1 and "test accuracy" in out.out and out.err == ""
    )
    monkeypatch.setenv("REPROBOOK_PROGRESS", "0")
    assert train.progress_mode() == "off"


def test_a_long_run_reports_as_it_goes(monkeypatch, capsys):
    """In "line" mode a run reports at the first evaluation after every PROGRESS_EVERY_S seconds
    (epoch, loss, accuracy, speed, time left), then its one closing line; a short run stays quiet."""
    monkeypatch.setattr(train, "progress_mode", lambda: "line")
    data = toy_data()

    def run(every):
        monkeypatch.setattr(train, "PROGRESS_EVERY_S", every)
        torch.manual_seed(0)
        train.fit(
            torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1 * 8 * 8, 2)),
            data,
            train.TrainConfig(epochs=2, batch_size=32, evals=2),
            desc="toy run",
        )
        return capsys.readouterr().out.splitlines()

    going = run(
        every=0.0
    )  # 4 evaluations: 3 before the end report, then the closing line
    assert len(going) == 4 and all(line.startswith("toy run: ") for line in going)
    assert going[0].startswith("toy run: epoch 0.5/2, train loss ")
    assert going[2].startswith("toy run: epoch 1.5/2, ") and "min left" in going[2]
    assert "images/s" in going[1] and "test accuracy" in going[3]
    assert len(run(every=3600.0)) == 1  # only the closing line
