import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reprobook import params, train
from reprobook.papers.wide_attention import attention as A
from reprobook.papers.wide_attention import sequences


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
    mean, low, high = A.paired_accuracy_difference(a, b)
    assert mean == pytest.approx((a.mean() - b.mean()), abs=1e-9)
    assert low < mean < high and low > 0.1 and high < 0.3
    same = A.paired_accuracy_difference(a, a)
    assert same == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same shape"):
        A.paired_accuracy_difference(a, b[:, :2])
    # groups of different sizes (tasks with different test sets): mean of the group means
    groups = A.paired_accuracy_difference([a[0], a[1, :, :100]], [b[0], b[1, :, :100]])
    assert groups[0] == pytest.approx(
        ((a[0] - b[0]).mean() + (a[1, :, :100] - b[1, :, :100]).mean()) / 2
    )
    # with b = 0 it is an interval for the accuracy itself
    acc = A.paired_accuracy_difference(a[0], np.zeros_like(a[0]))
    assert acc[1] < a[0].mean() < acc[2] and acc[2] - acc[1] < 0.1


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
