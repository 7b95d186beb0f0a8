"""One look for every figure in the book."""

from __future__ import annotations

import matplotlib.pyplot as plt


def style() -> None:
    plt.rcParams.update({"figure.dpi": 110, "figure.figsize": (6.4, 3.2), "figure.constrained_layout.use": True,
                         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, "font.size": 9, "legend.frameon": False})
