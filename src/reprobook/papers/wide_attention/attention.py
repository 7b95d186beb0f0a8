r"""A pre-LayerNorm Transformer encoder classifier whose shape is (layers × heads per layer).

The "aspect ratio" study of Brown et al. (2022) trades depth for width at a fixed total number of
attention heads :math:`H = L \cdot h`, keeping the head dimension :math:`d_h`, the model width
:math:`d` and the feed-forward size :math:`d_{ff}` fixed. One block is (LRA's encoder block)

.. math:: x \leftarrow x + \mathrm{Attn}(\mathrm{LN}(x)), \qquad x \leftarrow x + W_2\,\mathrm{GELU}(W_1\,\mathrm{LN}(x)),

where :math:`\mathrm{Attn}` projects :math:`d \to h d_h` three times (Q, K, V), mixes the tokens per head,
and projects :math:`h d_h \to d` back. A wide model (``layers=1, heads=H``) has the same attention
projections in total as a deep one (``layers=H, heads=1``) but only one feed-forward network and two
LayerNorms instead of :math:`L` of each.

Attention types (``EncoderConfig.attention``), all with key-padding masks (token id 0 is padding):

* ``softmax`` — :math:`\mathrm{softmax}(QK^\top/\sqrt{d_h})V` via ``scaled_dot_product_attention``;
* ``linear`` — Katharopoulos et al. (2020): :math:`\phi(x) = \mathrm{elu}(x) + 1`,
  :math:`\mathrm{out}_i = \phi(q_i)^\top \sum_j \phi(k_j) v_j^\top / \phi(q_i)^\top \sum_j \phi(k_j)`, cost linear in length;
* ``performer`` — FAVOR+ positive orthogonal random features (Choromanski et al., 2021),
  :math:`\phi(x) = \exp(w^\top x - \|x\|^2/2)/\sqrt{m}` on :math:`x = q/d_h^{1/4}`, fixed features per layer;
* ``linformer`` — keys and values projected along the sequence to :math:`k` rows (Wang et al., 2020),
  one learned :math:`k \times T_{max}` pair per layer, shared by the heads;
* ``local`` — softmax inside a band :math:`|i-j| \le w`; the CLS token stays global.

:func:`count_parameters` gives the parameter count in closed form from the configuration (tested
against the module). Positions are sinusoidal by default (no parameters), as in the parameter check of
the claim file (LRA text config: 4×4 = 3.49M, 2×8 = 2.43M, 1×16 = 1.91M).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import train
from ...train import TrainConfig, fit

ATTENTION_TYPES = ("softmax", "linear", "performer", "linformer", "local")
POOLINGS = ("cls", "mean")
POSITIONS = ("sinusoidal", "learned")


@dataclass(frozen=True)
class EncoderConfig:
    """The shape of one encoder classifier. ``heads`` is heads *per layer*; ``max_len`` excludes CLS."""

    vocab_size: int
    max_len: int
    num_classes: int
    layers: int = 1
    heads: int = 8
    d_head: int = 16
    d_model: int = 64
    d_ff: int = 128
    attention: str = "softmax"
    pooling: str = "cls"
    positions: str = "sinusoidal"
    dropout: float = 0.0
    features: int = 32  # performer: random features per head
    linformer_k: int = 32  # linformer: projected sequence length
    window: int = 8  # local: half-width of the attention band

    def __post_init__(self):
        if self.attention not in ATTENTION_TYPES:
            raise ValueError(
                f"attention must be one of {ATTENTION_TYPES}, got {self.attention!r}"
            )
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.positions not in POSITIONS:
            raise ValueError(
                f"positions must be one of {POSITIONS}, got {self.positions!r}"
            )
        if min(self.layers, self.heads, self.d_head, self.d_model, self.d_ff) < 1:
            raise ValueError(
                f"layers, heads, d_head, d_model, d_ff must be >= 1: {self}"
            )

    @property
    def total_heads(self) -> int:
        return self.layers * self.heads

    @property
    def seq_len(self) -> int:
        """Tokens the encoder sees: the input plus a CLS token when pooling on it."""
        return self.max_len + (self.pooling == "cls")

    @property
    def shape(self) -> str:
        return f"{self.layers}×{self.heads}"


def aspect_ratios(total_heads: int, layers: list[int]) -> list[tuple[int, int]]:
    """(layers, heads per layer) for each depth, at a fixed total number of heads."""
    out = []
    for n in layers:
        if total_heads % n:
            raise ValueError(
                f"{n} layers do not divide {total_heads} heads evenly; choose depths that divide it"
            )
        out.append((n, total_heads // n))
    return out


def parameter_breakdown(cfg: EncoderConfig) -> dict[str, int]:
    r"""Trainable parameters of :class:`EncoderClassifier` ``(cfg)`` in closed form, by part.

    per block: attention :math:`4\,d\,h d_h + 3 h d_h + d` (Q, K, V, O with biases; + :math:`2 k T` for
    Linformer), FFN :math:`2 d\,d_{ff} + d_{ff} + d`, two LayerNorms :math:`4d`; plus the token embedding
    :math:`V d`, CLS :math:`d`, learned positions :math:`T d`, the final LayerNorm :math:`2d` and the
    classifier head :math:`d\,d_{ff} + d_{ff} + d_{ff} C + C`.
    """
    d, hd, f = cfg.d_model, cfg.heads * cfg.d_head, cfg.d_ff
    attention = 4 * d * hd + 3 * hd + d
    if cfg.attention == "linformer":
        attention += 2 * cfg.linformer_k * cfg.seq_len
    embed = cfg.vocab_size * d + (d if cfg.pooling == "cls" else 0)
    embed += cfg.seq_len * d if cfg.positions == "learned" else 0
    return dict(
        attention=cfg.layers * attention,
        ffn=cfg.layers * (2 * d * f + f + d),
        norms=cfg.layers * 4 * d + 2 * d,
        embedding=embed,
        head=d * f + f + f * cfg.num_classes + cfg.num_classes,
    )


def count_parameters(cfg: EncoderConfig) -> int:
    """Trainable parameters of :class:`EncoderClassifier` ``(cfg)``: the sum of :func:`parameter_breakdown`."""
    return sum(parameter_breakdown(cfg).values())


def sinusoidal_positions(length: int, d: int) -> torch.Tensor:
    """The Transformer's fixed position code: sin on even, cos on odd channels, [length, d]."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d)
    )
    out = torch.zeros(length, d)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[: d // 2])
    return out


# ---------------------------------------------------------------------------------------------
# Attention types: each maps q, k, v [B, h, T, d_h] and a key mask [B, T] (True = token) to [B, h, T, d_h],
# and can return its (implied) attention weights for inspection.


def elu_feature(x: torch.Tensor) -> torch.Tensor:
    return F.elu(x) + 1


def orthogonal_gaussian(
    rows: int, dim: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Orthogonal random features (blocks of a QR of a Gaussian), rows rescaled to chi-distributed norms."""
    blocks = []
    for _ in range(math.ceil(rows / dim)):
        q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator))
        blocks.append(q.T)
    w = torch.cat(blocks)[:rows]
    norms = torch.randn(rows, dim, generator=generator).norm(dim=1, keepdim=True)
    return w * norms


class Mixer(nn.Module):
    """Base: how a head mixes its tokens."""

    def forward(self, q, k, v, mask):  # pragma: no cover - abstract
        raise NotImplementedError

    def weights(self, q, k, mask):  # pragma: no cover - abstract
        raise NotImplementedError


class SoftmaxMixer(Mixer):
    def forward(self, q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])

    def weights(self, q, k, mask):
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        return scores.masked_fill(~mask[:, None, None, :], float("-inf")).softmax(-1)


class LocalMixer(SoftmaxMixer):
    """Softmax attention inside a band of half-width ``window``; position 0 (CLS) attends and is attended globally."""

    def __init__(self, window: int, cls: bool):
        super().__init__()
        self.window, self.cls = window, cls

    def band(self, t: int, device) -> torch.Tensor:
        i = torch.arange(t, device=device)
        band = (i[:, None] - i[None, :]).abs() <= self.window
        if self.cls:
            band[0, :] = True
            band[:, 0] = True
        return band

    def _mask(self, mask):
        # a padded query may see no token in its band: let every position see itself (no empty rows, no NaN)
        eye = torch.eye(mask.shape[1], dtype=torch.bool, device=mask.device)
        return (
            mask[:, None, None, :] & self.band(mask.shape[1], mask.device)[None, None]
        ) | eye

    def forward(self, q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=self._mask(mask))

    def weights(self, q, k, mask):
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        return scores.masked_fill(~self._mask(mask), float("-inf")).softmax(-1)


class KernelMixer(Mixer):
    """Attention :math:`\\phi(Q)\\phi(K)^\\top V` normalised by :math:`\\phi(Q)\\phi(K)^\\top 1`, linear in length."""

    eps = 1e-6

    def features(
        self, x: torch.Tensor, is_query: bool, mask: torch.Tensor | None = None
    ) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, q, k, v, mask):
        m = mask[:, None, :, None].to(q.dtype)  # [B, 1, T, 1]: padded keys count 0
        fq, fk = (
            self.features(q, True),
            self.features(k, False, mask) * m,
        )  # [B, h, T, m]
        kv = fk.transpose(-1, -2) @ (v * m)  # Σ_j φ(k_j) v_jᵀ: [B, h, m, d_h]
        norm = fq @ fk.sum(-2, keepdim=True).transpose(
            -1, -2
        )  # φ(q_i)ᵀ Σ_j φ(k_j): [B, h, T, 1]
        return (fq @ kv) / (norm + self.eps)  # [B, h, T, d_h]

    def weights(self, q, k, mask):
        m = mask[:, None, :, None].to(q.dtype)
        a = self.features(q, True) @ (self.features(k, False, mask) * m).transpose(
            -1, -2
        )
        return a / (a.sum(-1, keepdim=True) + self.eps)


class LinearMixer(KernelMixer):
    def features(self, x, is_query, mask=None):
        return elu_feature(x)


class PerformerMixer(KernelMixer):
    """FAVOR+ with ``features`` positive orthogonal random features per head (fixed buffer, drawn at init)."""

    def __init__(self, d_head: int, features: int):
        super().__init__()
        self.register_buffer("w", orthogonal_gaussian(features, d_head))

    def features(self, x, is_query, mask=None):
        # φ(x) = exp(wᵀx − ‖x‖²/2) / √m on x = q / d_h^¼: E[φ(q)ᵀφ(k)] = exp(qᵀk / √d_h)
        x = x * x.shape[-1] ** -0.25  # [B, h, T, d_h]
        proj = x @ self.w.T  # wᵀx for each of the m features: [B, h, T, m]
        sq = x.pow(2).sum(-1, keepdim=True) / 2  # ‖x‖²/2: [B, h, T, 1]
        if is_query:  # a per-query shift cancels in the normalisation: [B, h, T, 1]
            shift = proj.amax(-1, keepdim=True)
        else:  # one shift for all keys of a sequence (padding excluded) cancels too
            masked = (
                proj.masked_fill(~mask[:, None, :, None], float("-inf"))
                if mask is not None
                else proj
            )
            shift = masked.amax(dim=(-1, -2), keepdim=True)  # [B, h, 1, 1]
        m = self.w.shape[0]
        return torch.exp(proj - sq - shift) / math.sqrt(m) + 1e-6  # [B, h, T, m]


class LinformerMixer(Mixer):
    """Keys and values projected along the sequence: :math:`\\mathrm{softmax}(Q (EK)^\\top/\\sqrt{d_h}) FV`."""

    def __init__(self, seq_len: int, k: int):
        super().__init__()
        self.e = nn.Parameter(torch.randn(k, seq_len) / math.sqrt(k))
        self.f = nn.Parameter(torch.randn(k, seq_len) / math.sqrt(k))

    def _project(self, k, v, mask):
        t = k.shape[-2]
        m = mask[:, None, :, None].to(k.dtype)
        return self.e[:, :t] @ (k * m), self.f[:, :t] @ (v * m)

    def forward(self, q, k, v, mask):
        pk, pv = self._project(k, v, mask)
        return F.scaled_dot_product_attention(q, pk, pv)

    def weights(self, q, k, mask):
        pk, _ = self._project(k, k, mask)
        return (q @ pk.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(-1)


def make_mixer(cfg: EncoderConfig) -> Mixer:
    if cfg.attention == "softmax":
        return SoftmaxMixer()
    if cfg.attention == "linear":
        return LinearMixer()
    if cfg.attention == "performer":
        return PerformerMixer(cfg.d_head, cfg.features)
    if cfg.attention == "linformer":
        return LinformerMixer(cfg.seq_len, cfg.linformer_k)
    return LocalMixer(cfg.window, cfg.pooling == "cls")


# ---------------------------------------------------------------------------------------------
# The encoder


class MultiHeadAttention(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.heads, self.d_head = cfg.heads, cfg.d_head
        inner = cfg.heads * cfg.d_head
        self.q, self.k, self.v = (nn.Linear(cfg.d_model, inner) for _ in range(3))
        self.out = nn.Linear(inner, cfg.d_model)
        self.mixer = make_mixer(cfg)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """One projection [B, T, h·d_h] as its heads [B, h, T, d_h]."""
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.d_head).transpose(1, 2)  # [B, h, T, d_h]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x [B, T, d]; q, k, v = x W_Q, x W_K, x W_V split into heads: [B, h, T, d_h]
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        mixed = self.mixer(q, k, v, mask)  # e.g. softmax(q kᵀ/√d_h) v: [B, h, T, d_h]
        b, _, t, _ = mixed.shape
        heads = mixed.transpose(1, 2).reshape(
            b, t, self.heads * self.d_head
        )  # [B, T, h·d_h]
        return self.out(heads)  # concat(heads) W_O: [B, T, d]

    def weights(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Attention weights [B, heads, T, T'] (T' = T except Linformer's projected length)."""
        return self.mixer.weights(self.split(self.q(x)), self.split(self.k(x)), mask)


class Block(nn.Module):
    """Pre-LayerNorm encoder block (LRA): attention, then a GELU feed-forward network, each residual."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn = MultiHeadAttention(cfg)
        self.ffn = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_ff),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.d_ff, cfg.d_model),
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, mask):
        x = x + self.drop(self.attn(self.norm1(x), mask))
        return x + self.drop(self.ffn(self.norm2(x)))


class EncoderClassifier(nn.Module):
    """Token ids [B, T] (0 = padding) → class logits [B, C]: embedding, (CLS), positions, blocks, LN, pool, MLP head."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        nn.init.normal_(
            self.embed.weight, std=1.0
        )  # as LRA (flax nn.Embed): tokens on the scale of the positions
        self.cls = (
            nn.Parameter(torch.zeros(cfg.d_model)) if cfg.pooling == "cls" else None
        )
        if cfg.positions == "learned":
            self.pos = nn.Parameter(torch.randn(cfg.seq_len, cfg.d_model) * 0.02)
        else:
            self.register_buffer(
                "pos", sinusoidal_positions(cfg.seq_len, cfg.d_model), persistent=False
            )
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_ff),
            nn.ReLU(),
            nn.Linear(cfg.d_ff, cfg.num_classes),
        )

    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embedded input (with CLS first when pooling on it) and its key mask."""
        if tokens.shape[1] > self.cfg.max_len:
            raise ValueError(
                f"sequence length {tokens.shape[1]} exceeds max_len {self.cfg.max_len}"
            )
        mask = tokens != 0
        x = self.embed(tokens)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(len(x), 1, -1), x], 1)
            mask = torch.cat([mask.new_ones(len(x), 1), mask], 1)
        return self.drop(x + self.pos[: x.shape[1]]), mask

    def pool(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.cls is not None:
            return x[:, 0]
        m = mask[..., None].to(x.dtype)
        return (x * m).sum(1) / m.sum(1).clamp_min(1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x, mask = self.encode(tokens)
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.pool(self.norm(x), mask))

    @torch.no_grad()
    def attention_maps(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """Per layer, the attention weights [B, heads, T, T'] of every head on ``tokens`` (eval mode)."""
        maps = []
        with train.eval_mode(self):
            x, mask = self.encode(tokens)
            for block in self.blocks:
                maps.append(block.attn.weights(block.norm1(x), mask))
                x = block(x, mask)
        return maps


def build(cfg: EncoderConfig, seed: int = 0) -> EncoderClassifier:
    """The model for ``cfg`` with its weights drawn from ``seed`` (same seed, same init)."""
    torch.manual_seed(seed)
    return EncoderClassifier(cfg)


# ---------------------------------------------------------------------------------------------
# Per-example correctness (the paired bootstrap over it is stats.paired_accuracy_difference)


def correct_predictions(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500
) -> np.ndarray:
    """Boolean array: is each test example classified correctly (:func:`reprobook.train.correct`,
    full precision everywhere)."""
    return train.correct(
        model, x, y, batch_size=batch_size, mixed_precision=False
    ).numpy()


def task_config(
    p,
    task: str,
    attention: str,
    layers: int,
    vocab_size: int,
    max_len: int,
    num_classes: int,
) -> EncoderConfig:
    """The encoder for ``task`` from a notebook's parameters ``p``: the task's ``<task>_d_model``,
    the shared ``d_head``, ``d_ff``, pooling and dropout, ``total_heads // layers`` heads per layer,
    and the attention type's own settings."""
    heads = aspect_ratios(p["total_heads"], [layers])[0][1]
    return EncoderConfig(
        vocab_size,
        max_len,
        num_classes,
        layers=layers,
        heads=heads,
        d_head=p["d_head"],
        d_model=p[f"{task}_d_model"],
        d_ff=p["d_ff"],
        attention=attention,
        pooling=p["pooling"],
        dropout=p["dropout"],
        features=p["performer_features"],
        linformer_k=p["linformer_k"],
        window=p["local_window"],
    )


def train_config(P: Mapping, task: str, n_train: int) -> TrainConfig:
    """Adam for ``P[f"{task}_steps"]`` steps of ``P.batch_size`` (the trainer counts epochs) at the
    task's peak rate ``P[f"{task}_lr"]``, warming up for ``P[f"{task}_warmup_steps"]`` steps (0: the
    fraction ``P.warmup``), then ``P.schedule``; betas, ε and weight decay from ``P``; no
    augmentation. LRA's ``full`` protocol: β = (0.9, 0.98), ε = 1e-9, inverse-square-root decay."""
    per_epoch = max(1, n_train // P["batch_size"])
    return TrainConfig.of(
        P,
        epochs=P[f"{task}_steps"] / per_epoch,
        lr=P[f"{task}_lr"],
        warmup_steps=P[f"{task}_warmup_steps"] or None,
        optimizer="adam",
        augment=False,
        evals=1,
    )


def fit_and_score(
    model: nn.Module, task, cfg, seed: int = 0, desc: str = "train", monitor: int = 256
):
    """Train ``model`` on ``task`` with :func:`reprobook.train.fit` and return ``(history, correct)``:
    ``correct`` says, for every test example, whether the trained model classifies it correctly.

    The trainer's own test evaluation (its progress monitor, in ``history``) sees only the first
    ``monitor`` test examples, so the whole test split is evaluated once, here, not twice."""
    view = SimpleNamespace(
        x_train=task.x_train,
        y_train=task.y_train,
        x_test=task.x_test[:monitor],
        y_test=task.y_test[:monitor],
    )
    history = fit(model, view, cfg, seed=seed, desc=desc)
    return history, correct_predictions(model, task.x_test, task.y_test)
