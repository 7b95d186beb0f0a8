"""The book's recurring figures draw what they are given."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reprobook import plots  # noqa: E402
from reprobook.stats import Estimate  # noqa: E402


def test_estimates_draw_asymmetric_error_bars_in_the_requested_units():
    plots.style()
    fig, ax = plt.subplots()
    bars = plots.estimates(
        ax, [1, 2], [Estimate(0.5, 0.4, 0.7, 3), Estimate(0.2, 0.1, 0.2, 3)], scale=100
    )
    x, y = bars.lines[0].get_data()
    assert list(y) == [50.0, 20.0]
    segments = bars.lines[2][0].get_segments()
    assert np.allclose(segments[0][:, 1], [40, 70]) and np.allclose(
        segments[1][:, 1], [10, 20]
    )
    plt.close(fig)


def test_seed_bars_put_the_mean_under_every_seed():
    fig, ax = plt.subplots()
    plots.seed_bars(ax, {"a": [0.2, 0.4], "b": [1.0]}, threshold=0.5)
    heights = [p.get_height() for p in ax.patches]
    assert np.allclose(heights, [0.3, 1.0])
    assert [len(c.get_offsets()) for c in ax.collections] == [2, 1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    plt.close(fig)


def test_heatmaps_share_one_colour_scale_and_keep_few_tick_labels():
    fig = plots.heatmaps(
        [np.eye(12), 2 * np.eye(12), np.ones((12, 12))], ["x", "y", "z"], ncols=2
    )
    meshes = [ax.collections[0] for ax in fig.axes if ax.get_title()]
    assert len(meshes) == 3 and {m.get_clim() for m in meshes} == {(0, 2.0)}
    first = fig.axes[0]
    assert len(first.get_xticklabels()) <= 4 and first.get_title() == "x"
    plt.close(fig)


def test_tidy_log_keeps_decade_labels_only_when_the_axis_spans_several():
    from matplotlib.ticker import NullFormatter

    fig, (wide, narrow) = plt.subplots(1, 2)
    wide.loglog([1e-3, 2.0], [1e-3, 2.0])
    narrow.loglog([0.2, 0.5], [0.2, 0.5])
    plots.tidy_log(wide)
    plots.tidy_log(narrow)
    assert isinstance(wide.xaxis.get_minor_formatter(), NullFormatter)
    lo, hi = narrow.get_xlim()
    shown = [v for v in narrow.get_xticks() if lo <= v <= hi]
    assert 2 <= len(shown) <= 5 and not narrow.xaxis.get_minorticklocs().size
    plt.close(fig)
