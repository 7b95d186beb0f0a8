"""One look for every figure in the book."""

from __future__ import annotations

import matplotlib.pyplot as plt

VERDICT_COLOURS = {"reproduced": "#2e7d32", "partially reproduced": "#f9a825",
                   "not reproduced": "#c62828", "inconclusive": "#757575"}


def style() -> None:
    plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, "font.size": 9, "legend.frameon": False,
                         "figure.figsize": (6.4, 3.2)})


def errorbar(ax, x, estimates, label: str, **kw):
    """Plot :class:`~reprobook.stats.Estimate` values at ``x`` with their interval as error bars."""
    means = [e.mean for e in estimates]
    lower = [e.mean - e.low for e in estimates]
    upper = [e.high - e.mean for e in estimates]
    return ax.errorbar(x, means, yerr=[lower, upper], label=label, capsize=3, marker="o", ms=3, **kw)
