import copy
import itertools
import types

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from reprobook import checkpoints, data, models, notebook, params, train
from reprobook.papers.zeroq import distill, experiment, pareto, quant
from reprobook.stats import Estimate


def small_net(seed=0, depth=8, width=4):
    torch.manual_seed(seed)
    net = models.CifarResNet(depth, width, norm="batch")
    # non-trivial running statistics, as after training
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(16, 3, 8, 8) * 1.5 + 0.3)
    return net.eval()


# --- quantizers ------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_quantize_tensor_grid(bits):
    x = torch.linspace(-1.3, 2.1, 1001)
    lo, hi = x.min(), x.max()
    q = quant.quantize_tensor(x, bits, lo, hi)
    step = (hi - lo) / (2**bits - 1)
    assert len(q.unique()) <= 2**bits
    assert (
        (q - x).abs().max() <= step / 2 + step * 0.51
    )  # rounding, plus the zero-point shift of at most half a step
    assert torch.equal(quant.quantize_tensor(q, bits, lo, hi), q)  # idempotent
    assert (
        quant.quantize_tensor(torch.zeros(1), bits, lo, hi).item() == 0.0
    )  # zero is exact


def test_quantize_tensor_clamps_outside_the_range():
    q = quant.quantize_tensor(
        torch.tensor([-10.0, 0.0, 0.52, 10.0]), 4, torch.tensor(0.0), torch.tensor(1.0)
    )
    assert q[0] == 0 and q[3] == pytest.approx(1.0) and q[2] == pytest.approx(8 / 15)


def test_weights_are_quantized_per_output_channel():
    torch.manual_seed(0)
    w = torch.randn(6, 3, 3, 3)
    q = quant.quantize_weight(w, 3)
    assert all(len(q[c].unique()) <= 8 for c in range(6))
    w2 = w.clone()
    w2[0] *= (
        100  # a huge channel must not coarsen the others' grids (per-tensor quantization would)
    )
    q2 = quant.quantize_weight(w2, 3)
    assert torch.allclose(q2[1:], q[1:])
    assert (quant.quantize_weight(w, 8) - w).abs().max() < (w.max() - w.min()) / 255


def test_layers_sites_and_sizes_of_a_cifar_resnet():
    net = small_net()
    layers = quant.quantizable_layers(net)
    # stem, 3 blocks x 2 convs, 2 strided shortcuts, the classifier
    assert (
        len(layers) == 10
        and list(layers)[0] == "stem.0"
        and list(layers)[-1] == "head.2"
    )
    sizes = quant.layer_sizes(net)
    assert sizes["stem.0"] == 4 * 3 * 9 and sizes["head.2"] == 16 * 10
    sites = quant.activation_sites(net)
    assert (
        "stem.2" in sites
        and "blocks.0" in sites
        and "blocks.0.branch.2" in sites
        and len(sites) == 7
    )


# --- quantized models ------------------------------------------------------------------------


def test_full_precision_wrapper_is_the_model_and_the_original_is_untouched():
    net = small_net()
    before = copy.deepcopy(net.state_dict())
    x = torch.randn(5, 3, 8, 8)
    q = quant.QuantizedModel(net, None, None)
    assert torch.allclose(q(x), net(x))
    q4 = quant.quantize_model(net, 2, 4, calibration=x)
    assert not torch.allclose(q4(x), net(x), atol=1e-3)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())


def test_high_precision_is_close_and_low_precision_is_not():
    net = small_net()
    x = torch.randn(32, 3, 8, 8)
    ref = net(x)
    err = {
        b: (quant.quantize_model(net, b, b, x)(x) - ref).abs().max().item()
        for b in (2, 4, 8, 16)
    }
    assert err[16] < 1e-3 < err[2]
    assert err[16] < err[8] < err[4] < err[2]


def test_activation_ranges_are_the_calibration_min_max_then_frozen():
    net = small_net()
    x = torch.randn(40, 3, 8, 8)
    q = quant.QuantizedModel(net, None, 8)
    with pytest.raises(RuntimeError, match="calibrate"):
        q(x)
    q.calibrate(x, batch_size=16)  # running min/max over three batches
    stem = torch.relu(
        net.stem[1](net.stem[0](x))
    )  # first site: its input is not quantized
    lo, hi = q.ranges[("stem.2", 0)]
    assert lo.item() == stem.min().item() and hi.item() == pytest.approx(
        stem.max().item()
    )
    assert len(q.ranges) == len(quant.activation_sites(net))
    frozen = dict(q.ranges)
    q(torch.randn(8, 3, 8, 8) * 10)  # evaluation does not move the ranges
    assert all(torch.equal(frozen[k][1], q.ranges[k][1]) for k in frozen)
    # and quantized activations take at most 2^8 values per site
    out = {}
    q.net.stem.register_forward_hook(lambda m, i, o: out.setdefault("stem", o))
    q(x)
    assert len(out["stem"].unique()) <= 256
    # a quantized model put in training mode still never moves its BatchNorm statistics
    before = {k: v.clone() for k, v in q.net.state_dict().items()}
    q.train()
    q(torch.randn(8, 3, 8, 8) * 3)
    assert not q.net.training
    assert all(torch.equal(before[k], v) for k, v in q.net.state_dict().items())


def test_mixed_precision_quantizes_only_the_named_layers():
    net = small_net()
    q = quant.QuantizedModel(net, {"blocks.1.branch.0": 2}, None)
    layers, orig = quant.quantizable_layers(q.net), quant.quantizable_layers(net)
    assert not torch.equal(
        layers["blocks.1.branch.0"].weight, orig["blocks.1.branch.0"].weight
    )
    assert all(
        torch.equal(layers[n].weight, orig[n].weight)
        for n in layers
        if n != "blocks.1.branch.0"
    )
    assert (
        q.size_bits()
        == sum(quant.layer_sizes(net).values()) * 32
        - quant.layer_sizes(net)["blocks.1.branch.0"] * 30
    )
    with pytest.raises(KeyError, match="no quantizable layer"):
        quant.QuantizedModel(net, {"nope": 4}, None)


def test_correct_is_per_image_and_in_full_precision():
    net = small_net()
    x = torch.randint(0, 256, (30, 3, 8, 8), dtype=torch.uint8)
    inputs = data.normaliser((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    pred = train.predict(net, x, inputs, batch_size=7, mixed_precision=False).argmax(1)
    assert pred.shape == (30,)
    right = quant.correct(net, x, pred, inputs, batch_size=7)
    assert right.dtype == torch.bool and right.all()
    assert not quant.correct(net, x, (pred + 1) % 10, inputs).any()


def test_calibrated_correct_averages_over_the_calibration_batches():
    net, x = small_net(), torch.randn(20, 3, 8, 8)
    y = net(x).argmax(1)
    batches = [torch.randn(8, 3, 8, 8), torch.randn(8, 3, 8, 8) * 3]
    each = [
        quant.correct(quant.quantize_model(net, 2, 2, c), x, y).double().numpy()
        for c in batches
    ]
    mean = quant.calibrated_correct(net, 2, 2, batches, x, y)
    assert mean.shape == (20,) and np.allclose(mean, (each[0] + each[1]) / 2)
    assert quant.calibrated_correct(net, None, None, batches, x, y).all()


def test_a_setting_reads_as_weight_and_activation_bits():
    assert quant.parse_setting("W4A8") == (4, 8)
    assert quant.parse_setting("W16A16") == (16, 16)


# --- sensitivity -----------------------------------------------------------------------------


def test_sensitivity_is_the_kl_of_quantizing_one_layer():
    net = small_net()
    x = torch.randn(12, 3, 8, 8)
    s = quant.sensitivity(net, x, [2, 4, 16], batch_size=5)
    assert s.shape == (10, 3, 12) and (s >= -1e-6).all()
    omega = s.mean(-1)
    assert (omega[:, 0] > omega[:, 2]).all() and omega[:, 2].max() < 1e-5
    # by hand for one layer
    q = quant.QuantizedModel(net, {"blocks.2.branch.3": 2}, None)
    p, r = torch.log_softmax(net(x), 1), torch.log_softmax(q(x), 1)
    by_hand = (p.exp() * (p - r)).sum(1)
    name_index = list(quant.quantizable_layers(net)).index("blocks.2.branch.3")
    assert torch.allclose(s[name_index, 0], by_hand, atol=1e-5)
    assert all(
        torch.equal(a, b)
        for a, b in zip(net.state_dict().values(), small_net().state_dict().values())
    )


def test_rank_agreement():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(8, 2, 30, generator=g) * torch.arange(1, 9).view(8, 1, 1)
    same = quant.rank_agreement(a, a * 2, resamples=200)
    assert same.mean == pytest.approx(1.0) and same.low > 0.8
    reverse = quant.rank_agreement(a, a.flip(0), resamples=200)
    assert reverse.mean < -0.5


def test_rank_agreement_resamples_the_images_of_both_sources():
    """Noise in either source's images alone widens the interval (one source exact, the other not)."""
    g = torch.Generator().manual_seed(0)
    order = torch.arange(6.0).view(
        6, 1, 1
    )  # [layer, bits, image]: layer i has Ω = i on average
    noisy = order + 8 * torch.randn(6, 1, 50, generator=g)
    exact = order.expand(6, 1, 50)
    for a, b in ((noisy, exact), (exact, noisy)):
        interval = quant.rank_agreement(a, b, resamples=200)
        assert interval.high - interval.low > 0.1


# --- distilled data --------------------------------------------------------------------------


def test_bn_statistics_loss_matches_the_formula():
    net = small_net()
    x = torch.randn(6, 3, 8, 8)
    loss, terms = distill.bn_statistics_loss(net, x, per_layer=True)
    bn = net.stem[1]
    z = net.stem[0](x).flatten(2)
    m, s = z.mean(2), torch.sqrt(z.var(2) + 1e-6)
    first = ((m - bn.running_mean) ** 2).sum() / 6 + (
        (s - torch.sqrt(bn.running_var + 1e-6)) ** 2
    ).sum() / 6
    assert terms[0] == pytest.approx(first.item(), rel=1e-4)
    xi = x.flatten(2)
    inp = (xi.mean(2) ** 2).sum() / 6 + (
        (torch.sqrt(xi.var(2) + 1e-6) - 1) ** 2
    ).sum() / 6
    assert loss.item() == pytest.approx(sum(terms) + inp.item(), rel=1e-4)
    assert (
        len(terms) == len(distill.batchnorms(net)) == 9
    )  # stem, 3 blocks x 2, 2 shortcuts


def test_distillation_matches_the_bn_statistics_and_leaves_the_model_alone():
    net = small_net()
    net.train()
    state = copy.deepcopy(net.state_dict())
    d = distill.distill(net, (3, 8, 8), batch_size=8, iterations=60, seed=1)
    assert (
        d.images.shape == (8, 3, 8, 8)
        and len(d.losses) == len(d.iteration_seconds) == 60
    )
    assert 0 < sum(d.iteration_seconds) <= d.seconds
    assert d.loss_after < 0.2 * d.loss_before
    assert d.loss_before == pytest.approx(d.losses[0], rel=1e-4)
    assert net.training and all(p.requires_grad for p in net.parameters())
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())
    again = distill.distill(net, (3, 8, 8), batch_size=8, iterations=60, seed=1)
    assert torch.equal(again.images, d.images)  # seeded


def test_distillation_starts_from_the_official_uniform_noise():
    x = distill.uniform_init((1000,), torch.Generator().manual_seed(0))
    assert x.min() >= -127.5 / 5418.75 and x.max() <= 127.5 / 5418.75 and x.std() > 0.01
    with pytest.raises(ValueError, match="no BatchNorm"):
        distill.bn_statistics_loss(
            nn.Sequential(nn.Conv2d(3, 3, 1)), torch.randn(2, 3, 4, 4)
        )


# --- Pareto dynamic program ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_dp_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_layers, bits = 5, np.array([2, 3, 4, 8])
    params = rng.integers(10, 500, n_layers)
    sizes = params[:, None] * bits[None, :]
    costs = np.sort(rng.random((n_layers, len(bits))), axis=1)[:, ::-1] * rng.random(
        (n_layers, 1)
    )
    front = pareto.pareto_frontier(costs, sizes)
    assert (np.diff(front.sizes) > 0).all() and (np.diff(front.costs) < 0).all()
    for avg in (2.0, 2.5, 3.0, 3.7, 5.0, 8.0):
        budget = avg * params.sum()
        choice, cost, size = pareto.best_allocation(costs, sizes, budget)
        bf_choice, bf_cost, bf_size = pareto.brute_force(costs, sizes, budget)
        assert cost == pytest.approx(bf_cost, abs=1e-12) and size <= budget
        assert costs[np.arange(n_layers), choice].sum() == pytest.approx(cost)
        assert sizes[np.arange(n_layers), choice].sum() == size


def test_the_frontier_drops_a_larger_allocation_that_costs_no_less():
    """Ties in cost (Ω at a wide bit width is often 0): only the smallest allocation of a cost stays."""
    costs = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # 4 and 8 bits cost the same
    front = pareto.pareto_frontier(costs, np.array([[2, 4, 8], [2, 4, 8]]))
    assert front.sizes.tolist() == [4, 6, 8] and front.costs.tolist() == [2, 1, 0]


def test_dp_on_unsorted_costs_and_the_frontier_is_every_budget():
    rng = np.random.default_rng(7)
    costs, sizes = rng.random((4, 3)), rng.integers(1, 20, (4, 3))
    front = pareto.pareto_frontier(costs, sizes)
    everything = [
        (sizes[np.arange(4), c].sum(), costs[np.arange(4), c].sum())
        for c in itertools.product(range(3), repeat=4)
    ]
    for (
        s,
        c,
    ) in (
        everything
    ):  # no allocation dominates a frontier point, and each is matched by one
        i = front.best(s)
        assert front.costs[i] <= c + 1e-12
    with pytest.raises(ValueError, match="no allocation fits"):
        front.best(sizes.min(1).sum() - 1)


def test_dp_is_fast_on_resnet18_sized_problems():
    sizes = quant.layer_sizes(checkpoints.imagenet_architecture("resnet18"))
    params, bits = np.array(list(sizes.values())), np.array([2, 4, 8])
    rng = np.random.default_rng(0)
    costs = rng.random((len(params), 1)) * np.array([1.0, 0.1, 0.001])
    choice, cost, size = pareto.best_allocation(
        costs, params[:, None] * bits, 4 * params.sum()
    )
    assert size <= 4 * params.sum() and len(choice) == len(params) == 21


@pytest.mark.parametrize("seed", range(4))
def test_random_allocations_fit_and_are_maximal(seed):
    rng = np.random.default_rng(seed)
    params, bits = rng.integers(10, 1000, 9), np.array([2, 3, 4, 6, 8])
    budget = 3.5 * params.sum()
    choice = pareto.random_allocation(params, bits, budget, rng)
    size = params @ bits[choice]
    assert size <= budget
    for i in range(
        len(params)
    ):  # no layer can go up one option without breaking the budget
        if choice[i] < len(bits) - 1:
            assert size + params[i] * (bits[choice[i] + 1] - bits[choice[i]]) > budget
    with pytest.raises(ValueError, match="smallest option"):
        pareto.random_allocation(params, bits, 1.0 * params.sum(), rng)


# --- the full preset's ImageNet models (no weights, no data: one quantized forward, one step) ---


@pytest.mark.parametrize("arch", checkpoints.IMAGENET_ARCHS)
def test_full_preset_architectures_quantize_distil_and_train(arch):
    torch.manual_seed(0)
    net = checkpoints.imagenet_architecture(arch).eval()
    x = torch.randn(2, 3, 64, 64)
    q = quant.quantize_model(net, 4, 8, calibration=x)
    assert q(x).shape == (2, 1000) and torch.isfinite(q(x)).all()
    if (
        arch == "resnet18"
    ):  # one ReLU module reused per block: one quantizer per call site
        assert ("layer1.0.relu", 1) in q.ranges and len(q.ranges) == 1 + 8 * 2
    s = quant.sensitivity(net, x, [4], layers=list(quant.quantizable_layers(net))[:2])
    assert s.shape == (2, 1, 2)
    d = distill.distill(net, (3, 64, 64), batch_size=2, iterations=1)
    assert np.isfinite(d.loss_after)
    times = quant.training_step_seconds(
        net, x, torch.tensor([1, 2]), batch_size=2, steps=1, warmup=0
    )
    assert times.shape == (1,) and times[0] > 0


def test_training_steps_are_timed_on_a_copy():
    net = small_net()
    state = copy.deepcopy(net.state_dict())
    x, y = torch.randn(64, 3, 8, 8), torch.randint(0, 10, (64,))
    times = quant.training_step_seconds(net, x, y, batch_size=16, steps=3, warmup=1)
    assert times.shape == (3,) and (times > 0).all()
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())


def test_random_batches_are_reproducible_draws_of_the_pool():
    x, y = torch.arange(50).view(50, 1).float(), torch.arange(50)
    first = quant.random_batches(x, y, lambda v: v * 2, batch_size=8)
    again = quant.random_batches(x, y, lambda v: v * 2, batch_size=8)
    for _ in range(3):
        (xa, ya), (xb, yb) = next(first), next(again)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        assert torch.equal(xa.flatten(), 2 * ya.float())  # inputs applied, pairs kept


def test_pipeline_timing_and_its_interval():
    # constant times: exact numbers, no interval
    pipeline, epoch, fraction = quant.pipeline_timing(
        [0.1] * 50, 1.0, [0.2] * 10, steps_per_epoch=100
    )
    assert (pipeline.mean, epoch.mean) == (
        pytest.approx(6.0),
        pytest.approx(20.0),
    ) and fraction.mean == pytest.approx(0.3)
    assert fraction.low == pytest.approx(0.3) and fraction.high == pytest.approx(0.3)
    # jittery steps widen the epoch's (and the fraction's) interval
    rng = np.random.default_rng(0)
    _, epoch, fraction = quant.pipeline_timing(
        [0.1] * 50, 1.0, rng.uniform(0.1, 0.3, 10), steps_per_epoch=100
    )
    assert (
        epoch.low < epoch.mean < epoch.high
        and fraction.low < fraction.mean < fraction.high
    )


# --- the experiment's steps ------------------------------------------------------------------


def test_dp_gap_helpers_and_allocations():
    rng = np.random.default_rng(0)
    params, bits = rng.integers(10, 100, 5), [2, 4, 8]
    costs = rng.random((5, 3)) * np.array([1.0, 0.1, 0.01])
    assert pareto.largest_dp_gap(costs, params, bits) < 1e-12
    front, chosen = pareto.allocate(costs, params, bits, [4, 3])
    for b, layer_bits in chosen.items():
        assert pareto.average_bits(params, layer_bits) <= b + 1e-12
        _, best, _ = pareto.brute_force(
            costs, params[:, None] * np.array(bits), b * params.sum()
        )
        assert pareto.summed_cost(costs, bits, layer_bits) == pytest.approx(best)
    # by hand: two layers of 1 and 3 weights at 2 and 8 bits
    assert pareto.average_bits([1, 3], [2, 8]) == pytest.approx((2 + 24) / 4)
    assert pareto.summed_cost(np.array([[1.0, 2.0], [3.0, 4.0]]), [2, 8], [8, 2]) == 5.0


def test_excess_levels_counts_distinct_weight_values_per_output_channel():
    net = small_net()
    for k in (2, 3, 4):
        assert quant.QuantizedModel(net, k, None).excess_levels() <= 0
    # ≥ 27 weights per channel fill a 2-bit grid: exactly 2^2 values somewhere
    assert quant.QuantizedModel(net, 2, None).excess_levels() == 0
    assert quant.QuantizedModel(net, {"stem.0": 2}, None).excess_levels() == 0
    broken = quant.QuantizedModel(net, 2, None)
    with torch.no_grad():  # one weight between two grid points: 2^2 + 1 values
        w = broken.net.stem[0].weight
        w[0, 0, 0, 0] = w[0].unique().mean()
    assert broken.excess_levels() == 1
    with pytest.raises(ValueError, match="no layer is quantized"):
        quant.QuantizedModel(net, None, None).excess_levels()


def test_allocation_checks_measure_levels_and_budgets_on_the_models():
    net = small_net()
    sizes = np.array(list(quant.layer_sizes(net).values()))
    names = list(quant.quantizable_layers(net))
    P = params.resolve("zeroq", "smoke")
    omega = {
        s: np.random.default_rng(i).random((len(names), 3))
        for i, s in enumerate(experiment.SOURCES)
    }
    dp = experiment.allocations(omega, sizes, names, P, P.mp_bits)
    randoms = experiment.random_allocations(sizes, names, P)
    levels, size = experiment.allocation_checks(net, P.settings, dp, randoms, P)
    assert levels <= 0 and size <= 0
    over = {b: [dict.fromkeys(names, 8)] for b in P.mp_budgets}  # 8 bits > budget 4
    _, size = experiment.allocation_checks(net, P.settings, dp, over, P)
    assert size == (8 - P.mp_budgets[0]) * sizes.sum()


def test_the_calibration_table_pairs_distilled_with_each_other_source():
    correct = {
        ("W4A4", "distilled"): np.array([1.0, 1, 0, 0]),
        ("W4A4", "real"): np.array([1.0, 0, 0, 0]),
        ("W4A4", "Gaussian"): np.array([0.0, 0, 0, 0]),
    }
    table = experiment.calibration_table(correct, ["W4A4"])
    assert table.loc["W4A4", "distilled"].mean == 0.5
    assert 0 <= table.loc["W4A4", "Gaussian"].low <= table.loc["W4A4", "real"].high <= 1
    assert table.loc["W4A4", "distilled − real"].mean == pytest.approx(0.25)
    assert table.loc["W4A4", "distilled − Gaussian"].mean == pytest.approx(0.5)


def test_the_mixed_precision_table_has_one_column_per_kind_whatever_the_budgets():
    one, zero = np.ones(8), np.zeros(8)
    correct = {}
    for b in (3, 4):
        correct |= {(b, s): one for s in experiment.SOURCES}
        correct |= {(b, "uniform"): zero, (b, "random"): np.full(8, 0.5)}
    table = experiment.mixed_table(correct, {3: 6, 4: 8})
    assert list(table.index) == ["MP3/A6", "MP4/A8"] and "uniform, same size" in table
    assert table.loc["MP4/A8", "MP − uniform"].mean == pytest.approx(1.0)
    assert table.loc["MP3/A6", "random (mean)"].mean == pytest.approx(0.5)
    shown = experiment.shown(table)
    assert shown.loc["MP4/A8", "MP, distilled"] == "100.0%"
    assert shown.loc["MP4/A8", "MP − random"].startswith("+50.0 pp")


def test_each_budget_is_evaluated_at_its_own_activation_bits():
    class Run:  # records the (weight bits, activation bits) each evaluation quantizes to
        def __init__(self):
            self.asked = []

        def correct(self, weights, act_bits, batches):
            bits = weights if isinstance(weights, int) else max(weights.values())
            self.asked.append((bits, act_bits))
            return np.ones(4)

    P = params.resolve("zeroq", "full")
    assert experiment.mixed_settings(P) == {6: 6, 4: 8}  # the paper's MP6/A6 and MP4/A8
    dp = types.SimpleNamespace(
        chosen={(b, s): {"conv": b} for b in (6, 4) for s in experiment.SOURCES}
    )
    randoms = {6: [{"conv": 6}], 4: [{"conv": 4}]}
    run = Run()
    correct, _ = experiment.mixed_precision(
        run, dict.fromkeys(experiment.SOURCES), dp, randoms, P
    )
    assert sorted(set(run.asked)) == [(4, 8), (6, 6)]
    assert {b for b, _ in correct} == {6, 4}
    names = [c.name for c in notebook.declare(P).subclaims[1].criteria]
    assert names[1:3] == ["MP6/A6 − W6A6", "MP4/A8 − W4A8"]


def test_the_mosaic_puts_one_batch_per_row():
    rows = [torch.zeros(4, 3, 5, 6), torch.ones(4, 3, 5, 6)]
    image = distill.mosaic(rows, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert image.shape == (10, 24, 3)
    assert np.allclose(image[:5], 0.5) and np.allclose(image[5:], 0.75)


def test_the_claim_has_one_mixed_precision_criterion_per_budget_in_order():
    claim = notebook.declare(params.resolve("zeroq", "cpu"))
    names = [c.name for c in claim.subclaims[1].criteria]
    assert names[1:] == [
        "MP4/A8 − W4A8",
        "MP3/A8 − W3A8",
        "MP4/A8 − random allocations",
        "MP3/A8 − random allocations",
    ]
    assert claim.subclaims[2].timed and not claim.subclaims[0].timed
    assert [c.name for c in claim.checks] == [
        "DP − brute force, largest |Σ Ω| gap",
        "largest levels per channel − 2^k",
        "largest Σ P_i k_i − b Σ P_i",
    ]
    equivalence = {c.name: c.threshold for c in claim.subclaims[0].criteria}
    assert {c.comparison for c in claim.subclaims[0].criteria} == {"within", ">"}
    assert equivalence["W8A8 distilled − full precision"] == 0.01
    assert equivalence["W4A4 distilled − real"] == 0.02
    with pytest.raises(params.ParameterError):
        params.resolve("zeroq", "smoke", {"settings": ["W4A4", "4-bit"]})
    with pytest.raises(params.ParameterError):
        params.resolve("zeroq", "smoke", {"depth": 12})


def test_shown_tables_read_accuracies_in_percent_and_differences_in_points():
    table = pd.DataFrame(
        {"distilled": [0.856], "distilled − real": [Estimate(-0.01, -0.018, -0.002)]},
        index=pd.Index(["W4A4"], name="setting"),
    )
    shown = experiment.shown(table)
    assert shown.loc["W4A4"].tolist() == ["85.6%", "−1.0 pp [−1.8, −0.2]"]


def test_the_page_says_where_the_dp_may_pick_the_uniform_allocation():
    # cpu: both budgets' widths are choices; gpu: the paper's {2, 4, 8} with budgets 4 and 3
    assert experiment.uniform_reach_text([2, 3, 4, 6, 8], [4, 3]).startswith(
        "each budget's uniform width is among them"
    )
    assert experiment.uniform_reach_text([2, 4, 8], [4, 3]) == (
        "at 4 bits the uniform width is among them, so there the DP can only move away from "
        "uniform precision where the summed sensitivity is lower; at 3 bits it is not, and the "
        "DP must mix wider and narrower layers"
    )
    assert experiment.uniform_reach_text([2, 8], [4]).startswith(
        "no budget's uniform width"
    )
