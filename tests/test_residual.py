import math

import pytest
import torch
from torch import nn

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
