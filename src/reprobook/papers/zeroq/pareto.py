r"""Mixed-precision bit allocation: ZeroQ's Pareto-frontier dynamic program, brute force, random allocations.

Each layer :math:`i` takes one of its options :math:`k`, with a cost :math:`\Omega_i(k)` (sensitivity) and a
size :math:`P_i\,k` (weight bits). The problem is

.. math:: \min_{k_1..k_L} \sum_i \Omega_i(k_i) \quad\text{subject to}\quad \sum_i P_i k_i \le S.

The dynamic program keeps, after each layer, the Pareto frontier of the partial allocations — those that
no other partial allocation beats in both size and cost. Any optimal allocation restricted to its first
layers can be swapped for a frontier point without losing anything, so the frontier after the last layer
holds the exact optimum for every budget :math:`S` at once (the curve ZeroQ plots).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass
class Frontier:
    sizes: np.ndarray  # [F] total size of each frontier allocation, increasing
    costs: np.ndarray  # [F] total cost, strictly decreasing
    choices: np.ndarray  # [F, L] option index per layer

    def best(self, budget: float) -> int:
        """Index of the cheapest allocation whose size is within ``budget``; raises if none fits."""
        fits = np.nonzero(self.sizes <= budget)[0]
        if len(fits) == 0:
            raise ValueError(
                f"no allocation fits the budget {budget} (smallest size {self.sizes[0]})"
            )
        return int(fits[-1])


def pareto_frontier(costs, sizes) -> Frontier:
    """The frontier of all allocations; ``costs`` and ``sizes`` are ``[L, K]`` (cost and size of option k
    of layer i). Sizes should be integers (e.g. P_i·k_i) so that ties are exact."""
    costs, sizes = np.asarray(costs, dtype=float), np.asarray(sizes)
    if costs.shape != sizes.shape or costs.ndim != 2:
        raise ValueError(
            f"costs and sizes must both be [layers, options], got {costs.shape} and {sizes.shape}"
        )
    f_size, f_cost = np.zeros(1, dtype=sizes.dtype), np.zeros(1)
    f_choice = np.zeros((1, 0), dtype=np.int64)
    n_opt = costs.shape[1]
    for c, s in zip(costs, sizes):
        cand_size = (f_size[:, None] + s[None, :]).ravel()
        cand_cost = (f_cost[:, None] + c[None, :]).ravel()
        order = np.lexsort((cand_cost, cand_size))  # by size, then cost
        cand_size, cand_cost = cand_size[order], cand_cost[order]
        # keep a point only if it is strictly cheaper than every point no larger than it
        prev_best = np.concatenate(([np.inf], np.minimum.accumulate(cand_cost)[:-1]))
        keep = cand_cost < prev_best
        parent, option = np.divmod(order[keep], n_opt)
        f_size, f_cost = cand_size[keep], cand_cost[keep]
        f_choice = np.concatenate([f_choice[parent], option[:, None]], axis=1)
    return Frontier(f_size, f_cost, f_choice)


def best_allocation(costs, sizes, budget: float) -> tuple[np.ndarray, float, float]:
    """(option index per layer, total cost, total size) of the optimum within ``budget``, by the DP."""
    front = pareto_frontier(costs, sizes)
    i = front.best(budget)
    return front.choices[i], float(front.costs[i]), float(front.sizes[i])


def brute_force(costs, sizes, budget: float) -> tuple[np.ndarray, float, float]:
    """The same optimum by enumerating all K^L allocations (small cases only: the DP's check)."""
    costs, sizes = np.asarray(costs, dtype=float), np.asarray(sizes)
    n_layers, n_opt = costs.shape
    if n_opt**n_layers > 2_000_000:
        raise ValueError(f"{n_opt}^{n_layers} allocations is too many to enumerate")
    grid = np.array(
        list(itertools.product(range(n_opt), repeat=n_layers)), dtype=np.int64
    )
    rows = np.arange(n_layers)
    total_size = sizes[rows, grid].sum(1)
    total_cost = costs[rows, grid].sum(1)
    ok = np.nonzero(total_size <= budget)[0]
    if len(ok) == 0:
        raise ValueError(f"no allocation fits the budget {budget}")
    i = ok[np.argmin(total_cost[ok])]
    return grid[i], float(total_cost[i]), float(total_size[i])


def random_allocation(
    params, bits, budget: float, rng: np.random.Generator
) -> np.ndarray:
    """A random *maximal* allocation of ``bits`` options to layers with ``params`` weights within ``budget``:
    start from a uniformly random allocation, lower random layers one option at a time until it fits, then
    raise random layers while they still fit. Returns the option index per layer."""
    params, bits = np.asarray(params), np.asarray(bits)
    order = np.argsort(bits)
    if params @ np.full(len(params), bits[order[0]]) > budget:
        raise ValueError(
            f"even the smallest option on every layer exceeds the budget {budget}"
        )
    rank = rng.integers(
        0, len(bits), len(params)
    )  # position in ascending order of bits
    size = lambda r: float(params @ bits[order[r]])  # noqa: E731
    while size(rank) > budget:
        candidates = np.nonzero(rank > 0)[0]
        rank[rng.choice(candidates)] -= 1
    while True:
        ups = [
            i
            for i in np.nonzero(rank < len(bits) - 1)[0]
            if size(rank)
            + params[i] * (bits[order[rank[i] + 1]] - bits[order[rank[i]]])
            <= budget
        ]
        if not ups:
            break
        rank[rng.choice(ups)] += 1
    return order[rank]


def largest_dp_gap(costs, params, bits, budgets: int = 9) -> float:
    """Largest |Σ Ω| difference between the DP and brute force over ``budgets`` budgets from all
    layers at the fewest ``bits`` to all at the most; ``costs`` ``[L, K]``, ``params`` ``[L]``."""
    params, bits = np.asarray(params), np.asarray(bits)
    sizes = params[:, None] * bits[None, :]  # [L, K]: P_i·k
    gaps = []
    for b in np.linspace(bits.min(), bits.max(), budgets):
        budget = b * params.sum()  # S = b Σ P_i
        dp = best_allocation(costs, sizes, budget)[1]
        gaps.append(abs(dp - brute_force(costs, sizes, budget)[1]))
    return max(gaps)


def allocate(costs, params, bits, budgets) -> tuple[Frontier, dict[float, np.ndarray]]:
    """The frontier and, for each average bit width ``b`` in ``budgets``, the bits per layer of the
    optimum within S = b Σ P_i (the size of uniform b-bit weights)."""
    params, bits = np.asarray(params), np.asarray(bits)
    front = pareto_frontier(costs, params[:, None] * bits[None, :])
    return front, {
        b: bits[front.choices[front.best(b * params.sum())]] for b in budgets
    }


def average_bits(params, layer_bits) -> float:
    """Σ P_i k_i / Σ P_i: the allocation's size in average weight bits."""
    params = np.asarray(params)
    return float(params @ np.asarray(layer_bits) / params.sum())


def summed_cost(costs, options, layer_bits) -> float:
    """Σ_i Ω_i(k_i), with ``costs[i, j]`` the cost of layer i at ``options[j]`` bits."""
    return float(
        sum(costs[i, list(options).index(k)] for i, k in enumerate(layer_bits))
    )
