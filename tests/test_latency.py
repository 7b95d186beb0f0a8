import math
import time

import pandas as pd
import pytest
import torch
from torch import nn

from reprobook import latency
from reprobook.papers.wide_attention import attention as A


class Sleeper(nn.Module):
    """Takes ``seconds`` per call and records the conditions it was called under."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.seen = seconds, []
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        self.seen.append(
            (
                self.training,
                torch.is_inference_mode_enabled(),
                torch.get_num_threads(),
                len(x),
            )
        )
        time.sleep(self.seconds)
        return x.float().sum() + self.weight


def test_interleaved_rounds_in_eval_and_inference_mode_with_pinned_threads():
    # 4× apart; a sleep overshoots by up to ~1 ms on a busy machine, which pulls the ratio towards 1
    models = {"slow": Sleeper(0.012), "fast": Sleeper(0.003)}
    before = torch.get_num_threads()
    timings = latency.measure(
        models,
        {1: torch.ones(1, 3), 4: torch.ones(4, 3)},
        rounds=5,
        warmup=2,
        threads=1,
        min_time=0.0,
    )
    assert torch.get_num_threads() == before and all(
        m.training for m in models.values()
    )  # restored
    assert len(timings) == 5 * 2 * 2
    assert (timings.groupby("round").size() == 4).all()  # every config in every round
    assert timings.groupby(["model", "batch"]).size().eq(5).all()
    assert (
        len(
            {
                tuple(
                    g.sort_values("position").model
                    + g.sort_values("position").batch.astype(str)
                )
                for _, g in timings.groupby("round")
            }
        )
        > 1
    )  # the order is reshuffled
    for m in models.values():
        assert all(
            not training and inference and threads == 1
            for training, inference, threads, _ in m.seen
        )
        assert len(m.seen) == 2 * 2 + 5 * 2  # warm-up + one call per round
    ratio = latency.ratio(timings, "slow", "fast", batch=1)
    assert 2.0 < ratio.mean < 5.0 and ratio.low <= ratio.mean <= ratio.high
    summary = latency.summarise(timings)
    assert summary.loc[("slow", 4), "median_s"] > summary.loc[("fast", 4), "median_s"]
    assert (summary.q25_s <= summary.median_s).all() and (
        summary.median_s <= summary.q75_s
    ).all()


def test_ratio_is_the_median_of_paired_per_round_ratios():
    rows = []
    for r, (a, b) in enumerate(
        [(2.0, 1.0), (4.0, 2.0), (30.0, 10.0), (1.0, 0.5), (9.0, 4.5)]
    ):
        rows += [
            dict(round=r, model="deep", batch=1, seconds=a),
            dict(round=r, model="wide", batch=1, seconds=b),
        ]
    timings = pd.DataFrame(rows)
    est = latency.ratio(timings, "deep", "wide", batch=1)
    assert (
        est.mean == pytest.approx(2.0)
        and est.low == pytest.approx(2.0)
        and est.high <= 3.0 + 1e-9
    )
    pairs = latency.ratio(
        timings, [("deep", "wide"), ("wide", "deep")], batch=1
    )  # geometric mean over pairs
    assert pairs.mean == pytest.approx(1.0)


def test_one_round_never_decides_a_ratio():
    """-p latency_rounds 1: one paired ratio, no spread, so no criterion on it is met or not met."""
    from reprobook.claims import Criterion

    timings = pd.DataFrame(
        [
            dict(round=0, model="deep", batch=1, seconds=4.0),
            dict(round=0, model="wide", batch=1, seconds=1.0),
        ]
    )
    est = latency.ratio(timings, "deep", "wide", batch=1)
    assert est.mean == pytest.approx(4.0) and (est.low, est.high) == (0.0, math.inf)
    for comparison, threshold in ((">=", 3.1), (">", 1.0), ("<=", 1.0)):
        judged = Criterion("ratio", "", comparison, threshold, measured=est)
        assert judged.status == "uncertain"


def test_time_call_repeats_until_min_time():
    calls = []
    per_call = latency.time_call(
        lambda: calls.append(time.sleep(0.001)), torch.device("cpu"), min_time=0.02
    )
    assert len(calls) >= 5 and 0.0009 < per_call < 0.02


class Allocator(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        a = (
            torch.ones(self.n) + x.sum()
        )  # two buffers of n floats alive at once: a and b
        b = a * 2
        del a
        c = b + 1  # b and c alive
        return c.sum()


def test_peak_memory_counts_live_activations():
    x = torch.ones(2)
    small, large = (
        latency.peak_memory(Allocator(100_000), x),
        latency.peak_memory(Allocator(1_000_000), x),
    )
    assert 2 * 400_000 <= small <= 2 * 400_000 + 4096
    assert 2 * 4_000_000 <= large <= 2 * 4_000_000 + 4096


def test_peak_memory_of_an_encoder_grows_with_the_batch():
    model = A.build(
        A.EncoderConfig(16, 64, 2, layers=2, heads=2, d_head=8, d_model=16, d_ff=32)
    )
    one = latency.peak_memory(model, latency.random_tokens(1, 64, 16))
    many = latency.peak_memory(model, latency.random_tokens(8, 64, 16))
    assert 0 < one < many
    tokens = latency.random_tokens(3, 5, 16, seed=1)
    assert (
        tokens.min() >= 1
        and tokens.max() < 16
        and torch.equal(tokens, latency.random_tokens(3, 5, 16, seed=1))
    )
