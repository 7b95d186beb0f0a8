import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from reprobook import notebook, params, stats, train, units
from reprobook.claims import Claim, Criterion, SubClaim
from reprobook.papers.wide_attention import attention as A
from reprobook.papers.wide_attention import experiment as E
from reprobook.papers.wide_attention import sequences
from reprobook.stats import Estimate


def small(**kw) -> A.EncoderConfig:
    base = dict(
        vocab_size=16,
        max_len=40,
        num_classes=5,
        layers=2,
        heads=3,
        d_head=8,
        d_model=24,
        d_ff=40,
        features=16,
        linformer_k=8,
        window=3,
    )
    base.update(kw)
    return A.EncoderConfig(**base)


def padded_tokens(batch=4, length=40, real=30, vocab=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, vocab, (batch, length), generator=g)
    x[:, real:] = 0
    return x


@pytest.mark.parametrize("attention", A.ATTENTION_TYPES)
@pytest.mark.parametrize("pooling", A.POOLINGS)
@pytest.mark.parametrize("positions", A.POSITIONS)
def test_analytic_parameter_count_matches_the_module(attention, pooling, positions):
    for layers, heads in [(1, 6), (2, 3), (6, 1)]:
        cfg = small(
            attention=attention,
            pooling=pooling,
            positions=positions,
            layers=layers,
            heads=heads,
        )
        model = A.EncoderClassifier(cfg)
        assert A.count_parameters(cfg) == sum(
            p.numel() for p in model.parameters() if p.requires_grad
        )
        parts = A.parameter_breakdown(cfg)
        numel = lambda key: sum(
            p.numel() for n, p in model.named_parameters() if key in n
        )
        assert parts["attention"] == numel(".attn.") and parts["ffn"] == numel(".ffn.")
        assert parts["head"] == numel("head.") and parts["norms"] == numel("norm")


def test_parameter_counts_of_the_lra_text_config_match_the_claim_file():
    # claim file: d_model 256, FFN 1024, d_head 64, 257 bytes: 4x4 = 3.49M, 2x8 = 2.43M, 1x16 = 1.91M
    counts = {}
    for layers, heads in [(4, 4), (2, 8), (1, 16)]:
        cfg = A.EncoderConfig(
            257,
            1000,
            2,
            layers=layers,
            heads=heads,
            d_head=64,
            d_model=256,
            d_ff=1024,
            pooling="cls",
        )
        counts[layers] = A.count_parameters(cfg)
    assert [counts[n] / 1e6 for n in (4, 2, 1)] == pytest.approx(
        [3.49, 2.43, 1.91], abs=0.01
    )
    assert counts[4] / counts[1] == pytest.approx(1.83, abs=0.005)


def test_fixed_total_heads_keeps_the_attention_projections_and_drops_ffns():
    wide, deep = small(layers=1, heads=6), small(layers=6, heads=1)
    w, d = A.EncoderClassifier(wide), A.EncoderClassifier(deep)
    qkvo = lambda m: sum(
        p.numel()
        for n, p in m.named_parameters()
        if ".attn." in n and n.endswith("weight")
    )
    assert qkvo(w) == qkvo(d) == 4 * 24 * 6 * 8
    ffn = lambda m: sum(p.numel() for n, p in m.named_parameters() if ".ffn." in n)
    assert ffn(d) == 6 * ffn(w)
    assert A.aspect_ratios(8, [1, 2, 4, 8]) == [(1, 8), (2, 4), (4, 2), (8, 1)]
    with pytest.raises(ValueError, match="do not divide"):
        A.aspect_ratios(8, [3])


@pytest.mark.parametrize("attention", A.ATTENTION_TYPES)
@pytest.mark.parametrize("pooling", A.POOLINGS)
def test_padding_does_not_change_the_output(attention, pooling):
    model = A.build(small(attention=attention, pooling=pooling), seed=1).eval()
    x = padded_tokens()
    with torch.no_grad():
        full, trimmed = model(x), model(x[:, :30])
        other = x.clone()
        other[:, :30] = padded_tokens(seed=5)[:, :30]
        assert torch.isfinite(full).all()
        assert torch.allclose(full, trimmed, atol=1e-5)
        assert not torch.allclose(
            full, model(other), atol=1e-3
        )  # the real tokens do matter


@pytest.mark.parametrize("attention", ["softmax", "linear", "performer", "local"])
def test_forward_equals_the_attention_weights_times_the_values(attention):
    cfg = small(attention=attention, layers=1, heads=2)
    attn = A.MultiHeadAttention(cfg)
    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 12, cfg.d_model, generator=g)
    mask = torch.ones(3, 12, dtype=torch.bool)
    mask[1, 8:] = False
    q, k, v = attn.split(attn.q(h)), attn.split(attn.k(h)), attn.split(attn.v(h))
    weights = attn.mixer.weights(q, k, mask)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 2, 12), atol=1e-4)
    assert weights[1, :, :8, 8:].abs().max() < 1e-5  # no real token attends to padding
    assert torch.allclose(attn.mixer(q, k, v, mask), weights @ v, atol=1e-4)


def test_local_attention_sees_its_band_and_the_cls_token_sees_everything():
    """|i − j| ≤ window, plus row and column 0 (the CLS token) wholly open."""
    band = A.LocalMixer(window=1, cls=True).band(5, "cpu").int().tolist()
    assert band == [
        [1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0],
        [1, 1, 1, 1, 0],
        [1, 0, 1, 1, 1],
        [1, 0, 0, 1, 1],
    ]
    plain = A.LocalMixer(window=1, cls=False).band(5, "cpu")
    assert plain[0].int().tolist() == [1, 1, 0, 0, 0] and plain[4, 0].item() is False


def test_softmax_mixer_is_scaled_dot_product_attention_by_hand():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 4, generator=g) for _ in range(3))
    mask = torch.ones(2, 7, dtype=torch.bool)
    by_hand = (q @ k.transpose(-1, -2) / 2).softmax(-1) @ v
    assert torch.allclose(A.SoftmaxMixer()(q, k, v, mask), by_hand, atol=1e-5)


def test_linear_attention_is_the_elu_feature_formula():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 4, generator=g) for _ in range(3))
    mask = torch.ones(2, 7, dtype=torch.bool)
    fq, fk = F.elu(q) + 1, F.elu(k) + 1
    scores = fq @ fk.transpose(-1, -2)
    by_hand = (scores / scores.sum(-1, keepdim=True)) @ v
    assert torch.allclose(A.LinearMixer()(q, k, v, mask), by_hand, atol=1e-4)


def test_performer_approximates_softmax_attention_with_many_features():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    q, k, v = (0.5 * torch.randn(1, 2, 16, 8, generator=g) for _ in range(3))
    mask = torch.ones(1, 16, dtype=torch.bool)
    exact = A.SoftmaxMixer()(q, k, v, mask)
    few, many = A.PerformerMixer(8, 4), A.PerformerMixer(8, 4096)
    err = lambda m: ((m(q, k, v, mask) - exact).norm() / exact.norm()).item()
    assert err(many) < 0.1
    assert err(many) < err(few) / 3


def test_linformer_projects_the_sequence_to_k_rows():
    cfg = small(attention="linformer", layers=1, heads=2, linformer_k=5)
    model = A.build(cfg)
    maps = model.attention_maps(padded_tokens(batch=2))
    assert maps[0].shape == (2, 2, cfg.seq_len, 5)


def test_attention_maps_are_per_layer_and_per_head():
    model = A.build(small(layers=2, heads=3, pooling="cls"))
    model.train()
    maps = model.attention_maps(padded_tokens(batch=2))
    assert model.training  # restored
    assert len(maps) == 2 and maps[0].shape == (2, 3, 41, 41)
    assert torch.allclose(maps[1].sum(-1), torch.ones(2, 3, 41), atol=1e-5)
    assert maps[0][..., 31:].abs().max() == 0  # padded keys (after CLS) get no weight


def test_same_seed_same_initial_weights_and_input_checks():
    a, b = A.build(small(), seed=3), A.build(small(), seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = A.build(small(), seed=4)
    assert not torch.equal(a.embed.weight, c.embed.weight)
    with pytest.raises(ValueError, match="exceeds max_len"):
        a(torch.ones(1, 41, dtype=torch.long))
    with pytest.raises(ValueError, match="attention must be one of"):
        small(attention="flash")


class Toy:
    """Label = whether token 1 appears before token 2: needs attention across positions."""

    def __init__(self, n=1024, length=12, seed=0):
        g = torch.Generator().manual_seed(seed)
        x = torch.randint(3, 10, (n, length), generator=g)
        first = torch.randint(0, length, (n,), generator=g)
        second = (first + torch.randint(1, length, (n,), generator=g)) % length
        x[torch.arange(n), first], x[torch.arange(n), second] = 1, 2
        y = (first < second).long()
        cut = n * 3 // 4
        self.x_train, self.y_train, self.x_test, self.y_test = (
            x[:cut],
            y[:cut],
            x[cut:],
            y[cut:],
        )


@pytest.mark.parametrize("attention", ["softmax", "linear"])
def test_the_encoder_learns_a_positional_task_with_the_trainer(attention):
    data = Toy()
    model = A.build(
        A.EncoderConfig(
            10,
            12,
            2,
            layers=1,
            heads=4,
            d_head=8,
            d_model=32,
            d_ff=64,
            attention=attention,
            pooling="mean",
        )
    )
    cfg = train.TrainConfig(
        epochs=12,
        batch_size=64,
        lr=3e-3,
        weight_decay=0.0,
        optimizer="adam",
        warmup=0.1,
    )
    history = train.fit(model, data, cfg, seed=0)
    assert history.test_acc.iloc[-1] > 0.85


def test_paired_accuracy_difference_is_a_mean_with_a_bootstrap_interval():
    rng = np.random.default_rng(0)
    a = (rng.random((2, 3, 500)) < 0.7).astype(float)
    b = (rng.random((2, 3, 500)) < 0.5).astype(float)
    est = stats.paired_accuracy_difference(a, b)
    assert est.mean == pytest.approx((a.mean() - b.mean()), abs=1e-9) and est.n == 3
    assert est.low < est.mean < est.high and est.low > 0.1 and est.high < 0.3
    same = stats.paired_accuracy_difference(a, a)
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same shape"):
        stats.paired_accuracy_difference(a, b[:, :2])
    # groups of different sizes (tasks with different test sets): mean of the group means
    groups = stats.paired_accuracy_difference(
        [a[0], a[1, :, :100]], [b[0], b[1, :, :100]]
    )
    assert groups.mean == pytest.approx(
        ((a[0] - b[0]).mean() + (a[1, :, :100] - b[1, :, :100]).mean()) / 2
    )
    # the plain accuracy interval is the difference against zeros
    acc = stats.accuracy(a[0])
    assert acc.low < a[0].mean() < acc.high and acc.high - acc.low < 0.1
    assert acc == stats.paired_accuracy_difference(a[0], np.zeros_like(a[0]))


def test_correct_predictions_is_the_argmax_against_the_labels_in_eval_mode():
    model = A.build(small(dropout=0.5)).train()
    x, y = padded_tokens(batch=7), torch.tensor([0, 1, 2, 3, 4, 0, 1])
    ok = A.correct_predictions(model, x, y, batch_size=3)
    assert model.training and ok.dtype == bool and ok.shape == (7,)
    with torch.no_grad():
        expected = model.eval()(x).argmax(1) == y  # dropout off: deterministic
    assert ok.tolist() == expected.tolist()


def test_every_full_preset_model_is_built_and_takes_one_training_step():
    p = params.load_spec("wide_attention").preset("full")
    shapes = A.aspect_ratios(p["total_heads"], p["layers"])
    for task in p["tasks"]:
        vocab, max_len, classes = sequences.task_dims(p, task)
        for attention in p["attention_types"]:
            for layers, heads in shapes:
                cfg = A.task_config(p, task, attention, layers, vocab, max_len, classes)
                assert (cfg.layers, cfg.heads, cfg.d_head) == (
                    layers,
                    heads,
                    p["d_head"],
                )
                model = A.build(cfg)
                assert A.count_parameters(cfg) == sum(
                    q.numel() for q in model.parameters()
                )
                opt = torch.optim.SGD(model.parameters(), lr=1e-4)
                x = torch.randint(1, vocab, (2, 16))
                loss = F.cross_entropy(model(x), torch.tensor([0, 1]))
                loss.backward()
                opt.step()
                assert math.isfinite(loss.item())


@pytest.mark.parametrize("attention", A.ATTENTION_TYPES)
def test_bf16_autocast_gives_finite_logits_close_to_float32(attention):
    # the trainer uses bf16 autocast on CUDA; CPU autocast exercises the same mixed-dtype paths
    model = A.build(small(attention=attention)).eval()
    x = padded_tokens()
    with torch.no_grad():
        reference = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x).float()
    assert torch.isfinite(low).all()
    assert ((low - reference).norm() / reference.norm()).item() < 0.05


# ---------------------------------------------------------------------------------------------
# The claim as declared in preset.yml, and the sweeps of experiment.py


def smoke(**kw) -> params.Params:
    return params.Params.of(
        "wide_attention", {**params.resolve("wide_attention", "smoke"), **kw}
    )


def hand_built_claim(P, tasks_run) -> Claim:
    """The declaration written out by hand: a parameter-count check, parity as equivalence per task
    that ran and per attention type, the sizes, the timed latency."""
    shape = {n: f"{n}×{P.total_heads // n}" for n in P.layers}
    wide, deep, margin = min(P.layers), max(P.layers), P.parity_margin
    return Claim(
        notebook="wide_attention",
        title="Wide attention: one wide layer against a deep stack",
        statement=(
            "At a fixed total number of attention heads, a single wide attention layer matches or beats deeper "
            "stacks in accuracy, is smaller and is faster at inference (paper: +0.3% accuracy on average over "
            "4 tasks and 10 attention types, 1.4x smaller, 3.1x faster on CPU, 1.9x on GPU)."
        ),
        paper="brown2022wide",
        checks=[
            Criterion(
                "largest |analytic − counted parameters|",
                "closed-form parameter count against the module's, over every task, attention type and shape",
                "<=",
                0.0,
                paper="exact",
            )
        ],
        subclaims=[
            SubClaim(
                "accuracy parity",
                f"The wide model ({shape[wide]}) is as accurate as the deepest ({shape[deep]}) within ±{margin:g}, "
                "on every task and every attention type.",
                [
                    Criterion(
                        f"wide − deep accuracy, {task}",
                        f"{shape[wide]} minus {shape[deep]} test accuracy on {task}, mean over attention types "
                        "(bootstrap: seeds, examples)",
                        "within",
                        margin,
                        paper="+0.3 pp on average",
                    )
                    for task in tasks_run
                ]
                + [
                    Criterion(
                        f"wide − deep accuracy, {kind} attention",
                        f"{shape[wide]} minus {shape[deep]} test accuracy with {kind} attention, mean over the "
                        "tasks (each task is a criterion above)",
                        "within",
                        margin,
                        paper="+0.4 pp (softmax)"
                        if kind == "softmax"
                        else "+0.3 pp on average",
                    )
                    for kind in P.attention_types
                ],
                gates=[
                    Criterion(
                        "worst model − majority class",
                        "smallest mean test accuracy of any configuration minus its task's majority-class accuracy",
                        ">=",
                        P.gate_margin,
                        paper="all models learn",
                    )
                ],
            ),
            SubClaim(
                "smaller",
                f"The deep model ({shape[deep]}) has more parameters than the wide one ({shape[wide]}).",
                [
                    Criterion(
                        "deep / wide parameters",
                        "ratio of the analytic counts, mean over tasks and attention types "
                        "(arithmetic of the architectures, not a trained result)",
                        ">",
                        1.0,
                        paper="> 1",
                    ),
                    Criterion(
                        "deep / wide parameters ≥ paper",
                        "the same ratio against the paper's average",
                        ">=",
                        P.size_ratio_min,
                        paper="1.4×",
                    ),
                ],
            ),
            SubClaim(
                "faster on CPU",
                f"The wide model infers faster than the deep one on the CPU ({units.count(P.latency_threads, 'thread')}).",
                [
                    Criterion(
                        f"deep / wide CPU latency, batch {b}",
                        "median over rounds of the per-round ratio (geometric mean over attention types)",
                        ">=",
                        P.latency_ratio_min,
                        paper="3.1×",
                    )
                    for b in P.latency_batches
                ]
                + [
                    Criterion(
                        "deep / wide CPU latency, smallest over batches",
                        "the wide model is faster at every batch size",
                        ">",
                        1.0,
                        paper="> 1",
                    )
                ],
                timed=True,
            ),
        ],
    )


def _declared(claim: Claim):
    crit = lambda c: (c.name, c.description, c.comparison, c.threshold, c.paper)
    return (
        claim.title,
        claim.statement,
        claim.paper,
        [crit(c) for c in claim.checks + claim.gates],
        [
            (s.name, s.statement, s.timed, [crit(c) for c in s.criteria + s.gates])
            for s in claim.subclaims
        ],
    )


@pytest.mark.parametrize("preset", params.PRESETS)
def test_the_claim_in_preset_yml_is_the_declaration_written_out(preset):
    P = params.resolve("wide_attention", preset)
    shape, (wide, deep) = E.shapes(P), E.wide_and_deep(P)
    claim = notebook.declare(P, wide=shape[wide], deep=shape[deep], tasks_run=P.tasks)
    assert _declared(claim) == _declared(hand_built_claim(P, P.tasks))
    assert len(claim.subclaims[0].criteria) <= 8  # readable at every preset
    other = smoke(attention_types=["linear", "softmax", "local"], latency_batches=[8])
    shape = E.shapes(other)
    claim = notebook.declare(other, wide=shape[1], deep=shape[3], tasks_run=["image"])
    assert _declared(claim) == _declared(hand_built_claim(other, ["image"]))
    names = [c.name for c in claim.subclaims[0].criteria]
    assert names[:2] == [
        "wide − deep accuracy, image",
        "wide − deep accuracy, linear attention",
    ]


def test_parity_is_an_equivalence_band_on_both_sides():
    P = params.resolve("wide_attention", "smoke")
    claim = notebook.declare(P, wide="1×3", deep="3×1", tasks_run=["listops"])
    c = claim.subclaims[0].criteria[0]
    status = lambda lo, hi: replace(c, measured=Estimate(0, lo, hi, 2)).status
    assert (c.comparison, c.threshold) == ("within", 0.03)
    assert status(-0.02, 0.02) == "met"
    assert status(0.04, 0.06) == "not met" and status(-0.06, -0.04) == "not met"
    assert status(-0.01, 0.05) == "uncertain"


def test_shapes_name_every_depth_and_reject_depths_that_do_not_divide_the_heads():
    P = smoke(total_heads=8, layers=[4, 1, 2])
    assert E.shapes(P) == {4: "4×2", 1: "1×8", 2: "2×4"} and E.wide_and_deep(P) == (
        1,
        4,
    )
    with pytest.raises(ValueError, match="divide"):
        E.shapes(smoke(total_heads=8, layers=[1, 3]))
    with pytest.raises(params.ParameterError, match="different values"):
        params.check_value(params.load_spec("wide_attention"), "layers", [2, 2])


def test_size_table_counts_every_configuration_and_the_ratio_is_deep_over_wide():
    P = smoke()
    sizes = E.size_table(P, ["listops", "image"])
    assert len(sizes) == 2 * len(P.attention_types) * len(P.layers)
    parts = sizes[[f"{p} params" for p in E.PARTS]].sum(axis=1)
    assert (parts == sizes.parameters).all()
    assert (sizes.counted == sizes.parameters).all() and E.parameter_mismatch(
        sizes
    ) == 0
    off = sizes.assign(counted=sizes.counted + np.arange(len(sizes)) % 3)
    assert E.parameter_mismatch(off) == 2  # the check sees an off-by-some count
    ratios = E.size_ratios(P, sizes)
    vocab, max_len, classes = sequences.task_dims(P, "image")
    count = lambda n: A.count_parameters(
        A.task_config(P, "image", "linear", n, vocab, max_len, classes)
    )
    assert ratios["image", "linear"] == count(3) / count(1) > 1
    grid = E.by_shape(sizes, "parameters")
    assert list(grid.columns) == ["1×3", "3×1"] and grid.loc[
        ("image", "linear"), "3×1"
    ] == count(3)


def test_trained_runs_give_paired_differences_and_accuracies_per_configuration():
    P = smoke(seeds=2, attention_types=["softmax", "linear"])
    rng = np.random.default_rng(1)
    correct = {
        (t, k, n, s): rng.random(50 if t == "listops" else 30) < 0.6
        for t in ("listops", "image")
        for k in P.attention_types
        for n in P.layers
        for s in range(2)
    }
    runs = pd.DataFrame([dict(task=t) for t, *_ in correct])
    trained = E.Trained(P, runs, correct, {})
    stack = lambda t, k, n: np.stack([correct[t, k, n, s] for s in range(2)]).astype(
        float
    )
    expected = stats.paired_accuracy_difference(
        [stack(t, "linear", 1) for t in ("listops", "image")],
        [stack(t, "linear", 3) for t in ("listops", "image")],
    )
    assert trained.wide_minus_deep(["linear"]) == expected
    parity = trained.parity()
    assert list(parity) == [
        "listops",
        "image",
        "softmax attention",
        "linear attention",
    ]
    assert parity["linear attention"] == expected
    assert parity["image"] == stats.paired_accuracy_difference(
        [stack("image", k, 1) for k in P.attention_types],
        [stack("image", k, 3) for k in P.attention_types],
    )
    table = trained.accuracy({"listops": 0.1, "image": 0.2})
    assert len(table) == 8 and table.estimate.iloc[0] == stats.accuracy(
        stack("listops", "softmax", 1)
    )
    assert np.allclose(table.acc, [e.mean for e in table.estimate])
    assert table.accuracy.iloc[0] == f"{table.estimate.iloc[0]:.3f}"


def test_the_sweeps_at_a_tiny_scale(tmp_path, monkeypatch):
    monkeypatch.setenv("REPROBOOK_CACHE", str(tmp_path))
    P = smoke(
        tasks=["listops"],
        attention_types=["softmax"],
        listops_steps=2,
        latency_batches=[1, 2],
        latency_length=8,
        latency_rounds=2,
        latency_warmup=0,
    )
    tasks, skipped = sequences.load_tasks(P)
    trained = E.train_all(P, tasks)
    assert len(trained.runs) == 2 * P.seeds and set(trained.wide_models) == {
        ("listops", "softmax")
    }
    ok = trained.correct["listops", "softmax", 3, 0]
    assert ok.shape == (len(tasks["listops"].x_test),)
    deep_seed0 = (trained.runs.layers == 3) & (trained.runs.seed == 0)
    assert trained.runs.test_acc[deep_seed0].item() == ok.mean()
    ex = E.attention_example(P, tasks, trained)
    t = len(ex.tokens)
    assert ex.maps.shape == (3, t, t) and ex.task == "listops" and ex.kind == "softmax"
    timed = E.time_latency(P)
    assert set(timed.ratios()) == {1, 2}
    assert (timed.gpu is None) == (timed.ratios(gpu=True) == {})
    table = timed.table()
    assert len(table) == 4 and all(e.low <= e.mean <= e.high for e in table.ms)
    order = list(zip(table.attention, table.batch, table.layers))
    assert order == sorted(order)  # read in order, though timed shuffled
    sizes = E.size_table(P, tasks)
    numbers = E.numbers(
        tasks, skipped, trained.accuracy({"listops": 0.1}), sizes, timed
    )
    assert numbers["parameters"]["listops softmax 3×1"] == sizes.parameters.iloc[1]
    json.dumps(numbers, default=lambda v: v.item())


def test_the_prose_facts_of_the_cpu_preset():
    # the verdict prose once typed these: "width 64, eight heads of dimension 16, on one CPU thread",
    # "depth 4, lengths under 48", "CIFAR-10 at 8×8 pixels", "Its deepest model is 4×2"
    facts = E.scale(params.resolve("wide_attention", "cpu"))
    assert (
        facts["width"],
        facts["heads"],
        facts["d_head"],
        facts["train_threads"],
    ) == ("64", 8, 16, "1 CPU thread")
    assert (facts["listops_depth"], facts["listops_max_length"]) == (4, 48)
    assert (facts["image_pixels"], facts["deep_shape"], facts["steps"]) == (
        "8×8",
        "4×2",
        "300",
    )
