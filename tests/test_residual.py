import math
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from torch import nn

from reprobook import data, models, params, train
from reprobook.papers.residual_expansion import residual


def random_mats(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(d, d, generator=g, dtype=torch.float64) / math.sqrt(d)
        for _ in range(n)
    ]


@pytest.mark.parametrize("lam", [1.0, 0.3])
def test_subset_expansion_equals_the_product(lam):
    mats = random_mats(7, 5)
    orders = residual.subset_expansion(mats, lam)
    exact = residual.residual_product(mats, lam)
    assert len(orders) == 8
    assert ((sum(orders) - exact).norm() / exact.norm()).item() < 1e-12
    assert torch.allclose(
        orders[1], lam * sum(mats)
    )  # first order: every single-branch path
    assert torch.allclose(
        orders[7],
        lam**7 * mats[6] @ mats[5] @ mats[4] @ mats[3] @ mats[2] @ mats[1] @ mats[0],
    )


def test_path_counts_are_binomial():
    counts = residual.path_counts(10)
    assert counts[:3] == [1, 10, 45] and sum(counts) == 2**10


def test_truncation_orders_on_smooth_blocks():
    g = torch.Generator().manual_seed(0)
    branches = residual.tanh_branches(4, 16, 16, g)
    x = torch.randn(8, 16, generator=g, dtype=torch.float64)
    lams = [0.1, 0.05, 0.025]
    for order, theory in ((1, 2), (2, 3)):
        errors = [residual.truncation_error(branches, x, lam, order) for lam in lams]
        assert residual.loglog_slope(lams, errors) == pytest.approx(theory, abs=0.15)


def test_second_order_is_exact_for_two_linear_blocks():
    mats = random_mats(2, 4)
    branches = []
    for a in mats:
        layer = nn.Linear(4, 4, bias=False, dtype=torch.float64)
        layer.weight.data.copy_(a)
        branches.append(layer)
    x = torch.randn(3, 4, dtype=torch.float64)
    assert residual.truncation_error(branches, x, 0.7, order=2) < 1e-12
    assert residual.truncation_error(branches, x, 0.7, order=1) > 1e-3


def test_loglog_slope_of_a_power_law():
    xs = [1, 2, 4, 8]
    assert residual.loglog_slope(xs, [3 * x**2.5 for x in xs]) == pytest.approx(2.5)


def test_signal_growth_matches_the_closed_form():
    assert residual.log_expected_growth(10, 1.0) == pytest.approx(10 * math.log(2))
    assert residual.log_aligned_growth(3, 1.0) == pytest.approx(6 * math.log(2))
    measured = residual.log_signal_growth(16, 1.0, width=256, samples=64, seed=0)
    assert measured == pytest.approx(residual.log_expected_growth(16, 1.0), rel=0.1)
    # 1024 blocks at λ=1 grow by about 2^1024: finite only because the measurement works in logs
    assert (
        600 < residual.log_signal_growth(1024, 1.0, width=32, samples=4, seed=0) < 800
    )
    assert residual.log_signal_growth(
        64, 1 / 64, width=64, samples=16, seed=0
    ) == pytest.approx(0, abs=0.05)


def test_geometric_complexity_of_a_linear_map_is_its_frobenius_norm():
    layer = nn.Linear(6, 3)
    expected = layer.weight.pow(2).sum().item()
    assert residual.geometric_complexity(layer, torch.randn(5, 6)) == pytest.approx(
        expected, rel=1e-6
    )


def test_expansion_check_is_exact_and_its_orders_sum_to_the_product():
    errors, norms = residual.expansion_check(3, 4, seeds=[0, 1])
    assert len(errors) == 2 * 3 and max(errors) < 1e-12  # seeds × {1, 1/√n, 1/n}
    assert list(norms.columns) == ["λ = 1", "λ = 1/√n", "λ = 1/n"]
    assert list(norms.index) == [0, 1, 2, 3]
    assert norms.loc[0].tolist() == pytest.approx([2.0] * 3)  # ‖I₄‖_F = 2 at any λ
    # λ = 1/n shrinks the order-k paths by n^-k relative to λ = 1
    assert norms.loc[2, "λ = 1/n"] == pytest.approx(norms.loc[2, "λ = 1"] / 9)


def test_truncation_sweep_slopes_follow_the_order():
    sweep = residual.truncation_sweep(3, 8, [0.1, 0.05, 0.025], seeds=[0, 1])
    assert len(sweep) == 2 * 3 * 2
    slopes = residual.truncation_slopes(sweep)
    assert [len(slopes[1]), len(slopes[2])] == [2, 2]
    assert min(slopes[1]) > 1.8 and min(slopes[2]) > 2.7
    table = residual.truncation_table(sweep)
    assert list(table.index) == [0.025, 0.05, 0.1]
    assert (table["second-order error"] < table["first-order error"]).all()


def test_growth_estimates_from_a_hand_made_sweep():
    log2 = math.log(2)
    growth = pd.DataFrame(
        [
            # λ=1 at the deepest depth 8: ratios 1.0 and 1.2 over the seeds
            dict(
                rule="1", depth=8, seed=0, log_growth=8 * log2, log_predicted=8 * log2
            ),
            dict(
                rule="1", depth=8, seed=1, log_growth=9.6 * log2, log_predicted=8 * log2
            ),
            dict(rule="1", depth=2, seed=0, log_growth=0.0, log_predicted=2 * log2),
            dict(
                rule="1/L", depth=2, seed=0, log_growth=math.log(3), log_predicted=0.0
            ),
            dict(
                rule="1/L", depth=8, seed=0, log_growth=math.log(2), log_predicted=0.0
            ),
            dict(
                rule="1/L", depth=2, seed=1, log_growth=math.log(1), log_predicted=0.0
            ),
        ]
    )
    growth["log_aligned"] = 2 * growth.log_growth  # aligned: twice the log, by hand
    growth["log_aligned_predicted"] = growth.log_predicted
    ratio = residual.growth_ratio(growth, "1")
    assert ratio.mean == pytest.approx(1.1) and ratio.n == 2
    assert residual.growth_ratio(growth, "1", "aligned").mean == pytest.approx(2.2)
    assert residual.largest_growth(growth, "1/L", "aligned").mean == pytest.approx(5.0)
    largest = residual.largest_growth(growth, "1/L")  # per seed max: 3 and 1
    assert largest.mean == pytest.approx(2.0) and largest.n == 2
    table = residual.growth_table(growth)
    assert table.loc[(8, "1"), "log10 (1+λ²)^L"] == pytest.approx(8 * math.log10(2))


def test_aligned_branches_grow_as_one_plus_lambda_to_the_2l():
    """Every path in phase: ‖x_L‖² ≈ (1+λ)^{2L} ‖x_0‖² (each branch keeps its random gain, ≈ 1
    for a wide norm-preserving branch), far above the random branches' (1+λ²)^L."""
    for lam in (1.0, 0.1):
        aligned = residual.log_signal_growth(16, lam, 512, 16, aligned=True)
        random = residual.log_signal_growth(16, lam, 512, 16)
        assert aligned == pytest.approx(residual.log_aligned_growth(16, lam), rel=0.05)
        assert aligned > random


def test_no_block_baseline_is_the_embedding_and_classifier_alone():
    mlp = residual.no_block_net("mlp", (1, 28, 28), 32)
    assert len(mlp.stack.branches) == 0 and mlp(torch.randn(2, 1, 28, 28)).shape == (
        2,
        10,
    )
    conv = residual.no_block_net("resnet", (3, 32, 32), 16)
    assert conv(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_paired_accuracy_differences_are_within_a_seed():
    runs = pd.DataFrame(
        [
            dict(blocks=b, config=c, seed=s, test_acc=a)
            for b, c, s, a in [
                (8, "deep", 0, 0.9),
                (8, "deep", 1, 0.8),
                (0, "no blocks", 0, 0.85),
                (0, "no blocks", 1, 0.7),
            ]
        ]
    )
    d = residual.paired_accuracy(runs, (8, "deep"), (0, "no blocks"))
    assert d.mean == pytest.approx(0.075) and d.n == 2 and -1 <= d.low <= d.high <= 1


def test_growth_sweep_predicts_from_the_depth_rule():
    growth = residual.growth_sweep(["1", "1/L"], [4], width=16, samples=4, seeds=[0])
    assert growth.lam.tolist() == [1.0, 0.25]
    assert growth.log_predicted.tolist() == pytest.approx(
        [4 * math.log(2), 4 * math.log1p(1 / 16)]
    )


def tiny_data(n=64, dim=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2 * n, dim, generator=g)
    y = (x[:, 0] > 0).long()
    return SimpleNamespace(x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:])


def tiny_build(blocks, scale, norm=None):
    return models.ResidualMLP(
        6, num_classes=2, width=8, blocks=blocks, branch_scale=scale, norm=norm
    )


def test_trainability_runs_cover_every_configuration_and_keep_the_nets():
    d = tiny_data()
    cfg = train.TrainConfig(epochs=1, batch_size=16, lr=0.05)
    runs = residual.trainability_runs(tiny_build, d, cfg, blocks=[2], seeds=[0, 1])
    assert len(runs) == len(residual.CONFIGS) * 2
    assert list(runs.config.unique()) == [
        "λ=1, no norm",
        "λ=1/sqrt(L), no norm",
        "λ=1/L, no norm",
        "λ=1 + BatchNorm",
    ]
    assert all(isinstance(net, nn.Module) for net in runs.net)
    acc = residual.accuracy_by_config(runs, 2)
    assert acc["λ=1/L, no norm"].n == 2
    assert acc["λ=1/L, no norm"].mean == pytest.approx(
        runs[runs.config == "λ=1/L, no norm"].test_acc.mean()
    )
    gc = residual.trained_complexity(runs, d.x_test[:8])
    assert len(gc) == (~runs.diverged).sum() and (gc.gc > 0).all()
    assert gc[gc.rule == "1/L"].lam.tolist() == [0.5, 0.5]
    table = residual.trainability_table(runs, bar=0.0)  # every seed reaches accuracy 0
    assert list(table.columns) == ["test_acc", "trains", "diverged", "seconds"]
    assert all(0 <= e.low <= e.mean <= e.high <= 1 for e in table.test_acc)
    assert table.trains.str.startswith("2 of 2 seeds").all()
    trains = residual.trains_by_config(runs, 2, bar=1.01)  # no seed reaches 101%
    assert list(trains) == list(runs.config.unique())  # CONFIGS order
    assert all(t.mean == 0 and t.low == 0 and t.n == 2 for t in trains.values())


def test_accuracy_intervals_stay_inside_zero_and_one():
    runs = pd.DataFrame(
        dict(blocks=1, config="a", test_acc=[0.99, 1.0, 0.2], diverged=False)
    )
    acc = residual.accuracy_by_config(runs, 1)["a"]
    assert 0 <= acc.low and acc.high == 1.0  # the Student-t interval is clipped


def test_trains_by_config_counts_seeds_with_an_exact_interval():
    runs = pd.DataFrame(
        dict(
            blocks=4,
            config=["b"] * 3 + ["a"] * 3,
            test_acc=[0.95, 0.1, 0.92, 0.1, 0.1, 0.1],
        )
    )
    trains = residual.trains_by_config(runs, 4, bar=0.9)
    assert list(trains) == ["b", "a"]  # order of the runs
    b = trains["b"]
    assert b.mean == pytest.approx(2 / 3) and b.n == 3
    assert b.low == pytest.approx(0.0943, abs=1e-4)  # Clopper–Pearson, 2 of 3
    assert b.high == pytest.approx(0.9916, abs=1e-4)
    assert residual.seeds_text(b) == "2 of 3 seeds [0.09, 0.99]"
    assert residual.seeds_text(trains["a"]) == "0 of 3 seeds [0.00, 0.71]"


def test_trained_complexity_leaves_out_diverged_runs():
    runs = pd.DataFrame(
        [
            dict(blocks=1, config="a", rule="1", seed=0, diverged=True, net=None),
            dict(
                blocks=1,
                config="b",
                rule="1/L",
                seed=0,
                diverged=False,
                net=nn.Linear(3, 2),
            ),
        ]
    )
    gc = residual.trained_complexity(runs, torch.randn(4, 3))
    assert gc.config.tolist() == ["b"]


def test_init_complexity_is_seeded():
    x = tiny_data().x_test[:8]
    a = residual.init_complexity(tiny_build, 2, [0.1, 1.0], [0, 1], x)
    b = residual.init_complexity(tiny_build, 2, [0.1, 1.0], [0, 1], x)
    assert len(a) == 4 and a.gc.tolist() == b.gc.tolist()


def test_gc_log_ratio_pairs_seeds_and_is_nan_without_a_scale():
    gc = pd.DataFrame(
        dict(
            blocks=[4] * 4 + [2],
            rule=["1/L", "1/sqrt(L)", "1/L", "1/sqrt(L)", "1/L"],
            seed=[0, 0, 1, 1, 0],
            gc=[1.0, math.e, 2.0, 2 * math.e**3, 100.0],
        )
    )
    est = residual.gc_log_ratio(gc, 4)  # log ratios −1 and −3
    assert est.mean == pytest.approx(-2.0) and est.n == 2
    assert math.isnan(residual.gc_log_ratio(gc, 2).mean)  # no 1/√L run at 2 blocks


def test_paired_grid_differences_are_parallel_minus_sequential():
    rows = []
    for seed, (seq, par) in enumerate([(1.0, 1.5), (2.0, 1.0)]):
        for mode, loss in (("sequential", seq), ("parallel", par)):
            rows.append(
                dict(
                    dataset="mnist",
                    blocks=1,
                    filters=4,
                    kernel=3,
                    seed=seed,
                    mode=mode,
                    train_loss=loss / 2,
                    test_loss=loss,
                    test_acc=0.5,
                )
            )
    paired, diffs = residual.paired_grid(pd.DataFrame(rows))
    assert diffs.val.tolist() == [0.5, -1.0]
    assert diffs.train.tolist() == [0.25, -0.5]
    assert diffs.relative.tolist() == [0.5, -0.5]
    assert paired["test_loss"]["parallel"].tolist() == [1.5, 1.0]


def test_parallel_grid_trains_twins_from_the_same_weights():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (48, 1, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(48) % 10
    d = data.ImageData(
        "mnist",
        images[:32],
        labels[:32],
        images[32:],
        labels[32:],
        tuple(str(i) for i in range(10)),
        "test",
    )
    cfg = train.TrainConfig(epochs=1, batch_size=16, optimizer="adam", lr=1e-3)
    grid = residual.parallel_grid({"mnist": d}, [1], [4], [3], seeds=1, cfg=cfg)
    assert grid["mode"].tolist() == ["sequential", "parallel"]
    assert grid.params.nunique() == 1  # same parameters, only the wiring differs
    assert residual.parameter_mismatch(grid) == 0
    assert {"train_loss", "test_loss", "test_acc"} <= set(grid.columns)


def test_net_factory_builds_the_configured_classifier():
    build = residual.net_factory("mlp", (1, 28, 28), 16)
    net = build(4, "1/L", None)
    assert isinstance(net, models.ResidualMLP)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def grid_rows(datasets, losses):
    """A hand-made grid: per dataset, seeds with (sequential, parallel) validation losses."""
    rows = []
    for dataset in datasets:
        for seed, (seq, par) in enumerate(losses[dataset]):
            for mode, loss in (("sequential", seq), ("parallel", par)):
                rows.append(
                    dict(
                        dataset=dataset,
                        blocks=1,
                        filters=4,
                        kernel=3,
                        seed=seed,
                        mode=mode,
                        train_loss=loss / 2,
                        test_loss=loss,
                        test_acc=0.5,
                        params=10,
                    )
                )
    return pd.DataFrame(rows)


def test_differences_are_judged_per_dataset_never_pooled():
    losses = {"mnist": [(1.0, 1.1), (1.0, 1.1)], "cifar10": [(2.0, 1.0), (2.0, 1.0)]}
    grid = grid_rows(["mnist", "cifar10"], losses)
    _, diffs = residual.paired_grid(grid)
    by_dataset = residual.differences_by_dataset(diffs)
    assert set(by_dataset) == {"mnist", "cifar10"}
    mnist, cifar = by_dataset["mnist"], by_dataset["cifar10"]
    assert mnist["relative"].mean == pytest.approx(0.1)  # +10%, not the pooled −20%
    assert cifar["relative"].mean == pytest.approx(-0.5)
    assert cifar["val"].mean == pytest.approx(-1.0) and cifar["val"].n == 2
    assert mnist["train"].mean == pytest.approx(0.05)
    assert residual.relative_text({"mnist": mnist["relative"]}).startswith(
        "+10.0% [+10.0%, +10.0%] on mnist"
    )


def test_parameter_mismatch_sees_a_twin_with_other_parameters():
    grid = grid_rows(["mnist"], {"mnist": [(1.0, 1.0)]})
    assert residual.parameter_mismatch(grid) == 0
    grid.loc[grid["mode"] == "parallel", "params"] = 13
    assert residual.parameter_mismatch(grid) == 3


def test_table2_sets_the_papers_relative_differences_beside_ours():
    ours = {"mnist": residual.Estimate(0.02, -0.01, 0.05, 4)}
    table = residual.table2_comparison(ours)
    assert list(table.index) == ["mnist", "cifar10"]
    # Table 2, MNIST, Q<1: (0.07551 − 0.05201) / 0.05201 = +45.2%
    assert table.loc["mnist", "paper Q<1"] == pytest.approx(45.2)
    assert table.loc["cifar10", "paper Q<1"] == pytest.approx(-34.8)
    assert table.loc["mnist", "this run"] == "+2.0 [−1.0, +5.0]"
    assert table.loc["cifar10", "this run"] == "not run"


def test_grid_size_counts_the_full_presets_cells():
    P = params.resolve("residual_expansion", "full")
    assert residual.grid_size(P) == "4 × 4 × 3 × 2 = 96 cells"


def test_the_page_names_what_the_trainability_experiment_trains_for_every_choice():
    assert residual.trained_text(params.resolve("residual_expansion", "cpu")) == (
        "residual MLPs on MNIST"
    )
    assert residual.trained_text(params.resolve("residual_expansion", "full")) == (
        "CIFAR ResNets on CIFAR-10"
    )
    spec = params.load_spec("residual_expansion")
    models_, datasets = (
        spec.parameters[k]["choices"] for k in ("train_model", "train_dataset")
    )
    for model in models_:  # a new choice without a name fails here, not on a page
        for dataset in datasets:
            P = SimpleNamespace(train_model=model, train_dataset=dataset)
            assert "_" not in residual.trained_text(P)
