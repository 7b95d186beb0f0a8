"""The book's recurring figures, one look for all of them: a figure cell says only what is plotted
against what."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import (
    FormatStrFormatter,
    MaxNLocator,
    NullFormatter,
    NullLocator,
)

from .stats import Estimate

# One palette for the whole book (colour-blind-safe, after Okabe & Ito), in the order series take it.
PALETTE = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
]
GREY = "#757575"


def style() -> None:
    """Set the book's figure style (sizes, grid, palette, font sizes) for every later figure."""
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "figure.figsize": (6.4, 3.2),
            "figure.constrained_layout.use": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": plt.cycler(color=PALETTE),
            "font.size": 9,
            "axes.titlesize": 9,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 7,
            "legend.frameon": False,
        }
    )


def estimates(ax, x: Sequence, ests: Sequence[Estimate], scale: float = 1.0, **kw):
    """Points at ``Estimate.mean`` with error bars to its interval; ``scale`` converts units (100: %)."""
    ests = [e.scaled(scale) for e in ests]
    yerr = np.array([e.yerr for e in ests]).T  # [2, N]: below, above
    kw = {"fmt": "o", "ms": 4, "capsize": 3, **kw}
    return ax.errorbar(list(x), [e.mean for e in ests], yerr=yerr, **kw)


def seed_bars(
    ax,
    groups: Mapping[str, Sequence[float]],
    colors: Sequence[str] | None = None,
    threshold: float | None = None,
    scale: float = 1.0,
):
    """One bar per group at the mean over seeds, with every seed as a dot on it (a bimodal outcome —
    some seeds diverge — stays visible); ``threshold`` draws a dotted line."""
    names = list(groups)
    colors = colors or PALETTE
    for i, name in enumerate(names):
        values = np.asarray(groups[name], dtype=float) * scale
        ax.bar(
            i,
            np.nanmean(values) if len(values) else np.nan,
            color=colors[i % len(colors)],
            alpha=0.6,
        )
        ax.scatter([i] * len(values), values, color="k", s=12, zorder=3)
    if threshold is not None:
        ax.axhline(threshold * scale, ls=":", color="k", lw=1)
    ax.set_xticks(range(len(names)), names)
    return ax


def heatmaps(
    maps: Sequence[np.ndarray],
    titles: Sequence[str],
    ncols: int | None = None,
    cmap: str = "viridis",
    xlabel: str = "",
    ylabel: str = "",
    size: float = 1.8,
    ticks: int = 4,
):
    """A grid of seaborn heatmaps with one shared colour scale (d2l's ``show_heatmaps``): at most
    ``ticks`` labelled positions per axis, so long sequences stay readable. Returns the figure."""
    ncols = ncols or len(maps)
    nrows = -(-len(maps) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols + 0.8, size * nrows + 0.4), squeeze=False
    )
    vmax = max(float(np.nanmax(m)) for m in maps)
    for i, (ax, m, title) in enumerate(zip(axes.flat, maps, titles)):
        step = max(1, -(-max(m.shape) // ticks))  # label every step-th position
        sns.heatmap(
            m,
            ax=ax,
            cmap=cmap,
            vmin=0,
            vmax=vmax,
            cbar=i == len(maps) - 1,
            xticklabels=step,
            yticklabels=step,
            square=True,
        )
        ax.set(title=title, xlabel=xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for ax in list(axes.flat)[len(maps) :]:
        ax.axis("off")
    return fig


def tidy_log(ax) -> None:
    """Readable log axes: across several decades label the decades only (minor labels overlap);
    within about a decade, four plain labels ("2.3", "2.4") instead of crowded powers of ten."""
    for axis in (ax.xaxis, ax.yaxis):
        lo, hi = axis.get_view_interval()
        if axis.get_scale() != "log" or lo <= 0:
            continue
        if hi / lo > 10:
            axis.set_minor_formatter(NullFormatter())
        else:
            axis.set_major_locator(MaxNLocator(4))
            axis.set_major_formatter(FormatStrFormatter("%.3g"))
            axis.set_minor_locator(NullLocator())
