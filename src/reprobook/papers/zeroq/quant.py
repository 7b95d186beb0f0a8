r"""Post-training uniform quantization as in ZeroQ's official code (Cai et al. 2020), and layer sensitivity.

* **Weights** — asymmetric uniform, one ``[min, max]`` range per output channel, every ``Conv2d`` and
  ``Linear`` layer (first and last included); biases and BatchNorm stay in full precision (not folded).
* **Activations** — a quantizer after every ReLU, one asymmetric ``[min, max]`` range per tensor: the running
  global min/max over the calibration batches (seen *with* the quantization already applied upstream, as
  the official code does), then frozen. The network input and non-ReLU tensors are not quantized.

With ``k`` bits and range ``[lo, hi]`` the grid has ``2^k`` levels, step :math:`s = (hi - lo)/(2^k - 1)`,
and a zero point rounded to an integer so that 0 is exact:

.. math:: \hat x = s\,\big(\mathrm{clamp}(\mathrm{round}(x/s) - z,\ 0,\ 2^k - 1) + z\big),\qquad z = \mathrm{round}(lo/s).

The sensitivity of layer :math:`i` at :math:`k` bits is the KL divergence between the full-precision
network's output distribution and that of the network with only layer :math:`i`'s weights at :math:`k`
bits, averaged over a batch: :math:`\Omega_i(k) = \frac1N \sum_j \mathrm{KL}(M(\theta; x_j)\,\|\,M(\tilde\theta_i(k); x_j))`.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import latency, models, train
from ...models import BasicBlock
from ...stats import Estimate

# ---------------------------------------------------------------------------------------------
# Quantizers


def quantize_tensor(
    x: torch.Tensor, bits: int, lo: torch.Tensor, hi: torch.Tensor
) -> torch.Tensor:
    """Asymmetric uniform fake quantization of ``x`` to ``2^bits`` levels on ``[lo, hi]`` (broadcastable);
    values outside the range are clamped to it (up to the zero-point rounding)."""
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    levels = 2**bits - 1
    scale = torch.clamp(hi - lo, min=1e-8) / levels  # s = (hi − lo) / (2^k − 1)
    zero = torch.round(lo / scale)  # z = round(lo / s): 0 is on the grid
    q = torch.clamp(torch.round(x / scale) - zero, 0, levels)  # clamp(round(x/s) − z)
    return (q + zero) * scale  # x̂ = s·(q + z)


def quantize_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel (dim 0) asymmetric min/max quantization of a weight tensor."""
    flat = w.reshape(w.shape[0], -1)  # [C_out, C_in·kh·kw]
    shape = (-1,) + (1,) * (
        w.dim() - 1
    )  # [C_out, 1, 1, 1]: one range per output channel
    lo, hi = flat.min(1).values.view(shape), flat.max(1).values.view(shape)
    return quantize_tensor(w, bits, lo, hi)


def quantizable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every ``Conv2d`` and ``Linear`` layer, in definition order, by qualified name."""
    return models.layers(model, nn.Conv2d, nn.Linear)


def parse_setting(text: str) -> tuple[int, int]:
    """``"W4A8"`` → ``(4, 8)``: weight bits, activation bits (the spec's pattern checked the form)."""
    weight_bits, act_bits = text[1:].split("A")
    return int(weight_bits), int(act_bits)


def layer_sizes(model: nn.Module) -> dict[str, int]:
    """Weight parameters :math:`P_i` of every quantizable layer (biases are kept in full precision)."""
    return {name: m.weight.numel() for name, m in quantizable_layers(model).items()}


def activation_sites(model: nn.Module) -> list[str]:
    """Names of the modules whose output is a ReLU output: ``nn.ReLU``/``nn.ReLU6`` modules, and the residual
    blocks of :class:`reprobook.models.CifarResNet`, which end in a functional ``relu``. A module called
    several times per forward pass (torchvision's ResNet blocks reuse one ReLU) gets one quantizer per call."""
    return list(models.layers(model, nn.ReLU, nn.ReLU6, BasicBlock))


def weight_bits_for(
    model: nn.Module, bits: int | None | Mapping[str, int | None]
) -> dict[str, int | None]:
    """One bit width per quantizable layer: the same ``bits`` everywhere, or a ``{layer: bits}`` mapping
    (layers it does not name stay in full precision). Unknown layer names raise."""
    names = list(quantizable_layers(model))
    if bits is None or isinstance(bits, int):
        return {name: bits for name in names}
    unknown = set(bits) - set(names)
    if unknown:
        raise KeyError(f"no quantizable layer named {sorted(unknown)}; layers: {names}")
    return {name: bits.get(name) for name in names}


class QuantizedModel(nn.Module):
    """A copy of ``model`` with quantized weights and (optionally) activation quantizers after every ReLU.

    ``weight_bits``: one width for every Conv2d/Linear layer, a ``{layer: bits}`` mapping (mixed precision;
    missing layers stay full precision), or ``None``. ``act_bits``: width of every activation quantizer, or
    ``None`` for full-precision activations. Call :meth:`calibrate` with a batch before evaluating when
    ``act_bits`` is set. The wrapped model is always in eval mode (BatchNorm uses its running statistics).
    """

    def __init__(
        self,
        model: nn.Module,
        weight_bits: int | None | Mapping[str, int | None] = 8,
        act_bits: int | None = 8,
    ):
        super().__init__()
        self.net = copy.deepcopy(model).eval()
        self.weight_bits = weight_bits_for(self.net, weight_bits)
        with torch.no_grad():
            for name, layer in quantizable_layers(self.net).items():
                if self.weight_bits[name]:
                    layer.weight.copy_(
                        quantize_weight(layer.weight, self.weight_bits[name])
                    )
        self.act_bits = act_bits
        self.ranges: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self.calibrating = False
        self._calls: dict[str, int] = defaultdict(int)
        self.sites = activation_sites(self.net) if act_bits else []
        if act_bits:
            modules = dict(self.net.named_modules())
            for name in self.sites:
                modules[name].register_forward_hook(self._hook(name))

    def _hook(self, name: str):
        def hook(module, inputs, output):
            site = (name, self._calls[name])
            self._calls[name] += 1
            if self.calibrating:
                lo, hi = output.detach().min(), output.detach().max()
                if site in self.ranges:
                    lo, hi = (
                        torch.minimum(lo, self.ranges[site][0]),
                        torch.maximum(hi, self.ranges[site][1]),
                    )
                self.ranges[site] = (lo, hi)
            elif site not in self.ranges:
                raise RuntimeError(
                    f"activation quantizer {site} has no range: call calibrate() first"
                )
            return quantize_tensor(output, self.act_bits, *self.ranges[site])

        return hook

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._calls.clear()
        return self.net(x)

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor, batch_size: int = 256) -> QuantizedModel:
        """Set every activation range to the running min/max over ``x`` (in batches), then freeze them."""
        self.ranges.clear()
        self.calibrating = True
        try:
            for i in range(0, len(x), batch_size):
                self(x[i : i + batch_size])
        finally:
            self.calibrating = False
        return self

    def train(self, mode: bool = True) -> QuantizedModel:
        super().train(mode)
        self.net.eval()  # a post-training quantized model never updates BatchNorm statistics
        return self

    def size_bits(self) -> int:
        """Weight storage Σ P_i·k_i in bits (full-precision layers counted at 32 bits)."""
        sizes = layer_sizes(self.net)
        return sum(sizes[n] * (b or 32) for n, b in self.weight_bits.items())

    def excess_levels(self) -> int:
        """Largest number of distinct weight values in one output channel of a quantized layer, minus
        ``2^k`` at its ``k`` bits: ``<= 0`` when every channel is on its ``k``-bit grid (the check)."""
        excess = []
        for name, layer in quantizable_layers(self.net).items():
            if k := self.weight_bits[name]:
                w = layer.weight.detach().reshape(len(layer.weight), -1).sort(1).values
                distinct = 1 + (w.diff(dim=1) != 0).sum(
                    1
                )  # [C_out]: values per channel
                excess.append(int(distinct.max()) - 2**k)
        if not excess:
            raise ValueError("no layer is quantized: there is no grid to check")
        return max(excess)


def quantize_model(
    model: nn.Module,
    weight_bits: int | None | Mapping[str, int | None],
    act_bits: int | None,
    calibration: torch.Tensor | None = None,
) -> QuantizedModel:
    """:class:`QuantizedModel`, calibrated on ``calibration`` when given."""
    q = QuantizedModel(model, weight_bits, act_bits)
    if calibration is not None:
        q.calibrate(calibration)
    return q


# ---------------------------------------------------------------------------------------------
# Evaluation on uint8 image tensors


def correct(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    inputs: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    batch_size: int = 500,
) -> torch.Tensor:
    """Per-image correctness (bool) on ``x``, the unit of the paired comparisons: ``train.correct``
    in full precision (no autocast: fake quantization needs fp32)."""
    return train.correct(
        model, x, y, inputs, batch_size=batch_size, mixed_precision=False
    )


def calibrated_correct(
    model: nn.Module,
    weight_bits: int | None | Mapping[str, int | None],
    act_bits: int | None,
    calibrations: Iterable[torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    inputs: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
) -> np.ndarray:
    """Per-image correctness ``[N]`` of ``model`` quantized to ``weight_bits``/``act_bits``, averaged
    over one quantized copy per calibration batch (one per seed)."""
    each = [
        correct(quantize_model(model, weight_bits, act_bits, c), x, y, inputs).float()
        for c in calibrations
    ]
    return torch.stack(each).mean(0).double().numpy()  # [seeds, N] → [N]


# ---------------------------------------------------------------------------------------------
# Sensitivity


@torch.inference_mode()
def sensitivity(
    model: nn.Module,
    x: torch.Tensor,
    bits: Iterable[int],
    layers: Iterable[str] | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """Per-image KL divergence ``[layer, bits, image]`` between the full-precision output and the output with
    only that layer's weights quantized to that many bits (activations in full precision).
    Ω_i(k) is its mean over images (``.mean(-1)``)."""
    model = copy.deepcopy(model).eval()
    named = quantizable_layers(model)
    layers = list(named) if layers is None else list(layers)
    bits = list(bits)

    def log_probs() -> torch.Tensor:  # [N, classes]: log M(θ; x_j)
        logits = train.predict(model, x, batch_size=batch_size, mixed_precision=False)
        return F.log_softmax(logits, 1)

    reference = log_probs()
    out = torch.zeros(len(layers), len(bits), len(x))  # [layer, bits, image]
    for i, name in enumerate(layers):
        weight = named[name].weight
        original = weight.detach().clone()
        for j, k in enumerate(bits):
            weight.copy_(quantize_weight(original, k))  # θ̃_i(k): only layer i at k bits
            # KL(M(θ; x_j) ‖ M(θ̃_i(k); x_j)) = Σ_c p_c (log p_c − log q_c), per image j
            out[i, j] = (reference.exp() * (reference - log_probs())).sum(1).cpu()
        weight.copy_(original)
    return out


def _spearman_over_layers(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation across layers (axis 0) per bit width (axis 1), averaged over bit widths."""
    ra, rb = (
        a.argsort(0).argsort(0).astype(float),
        b.argsort(0).argsort(0).astype(float),
    )
    ra -= ra.mean(0)
    rb -= rb.mean(0)
    return float(((ra * rb).sum(0) / np.sqrt((ra**2).sum(0) * (rb**2).sum(0))).mean())


def rank_agreement(
    a: torch.Tensor,
    b: torch.Tensor,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """How well two per-image sensitivity tensors ``[layer, bits, image]`` (e.g. from Distilled Data and from
    real images) agree on the *order* of the layers: the Spearman correlation over layers of Ω_i(k), averaged
    over the bit widths, with a percentile bootstrap that resamples the images of each source. A resample
    adds noise to both sources' means, and noise tends to scramble the order, so most draws sit below the
    point estimate, which may lie near the top of its interval or above all but a few draws (the
    interval then reaches up to the point, :meth:`Estimate.from_draws`): the interval errs low,
    which is conservative for a criterion of the form "agreement ≥ threshold"."""
    a, b = a.double().numpy(), b.double().numpy()
    point = _spearman_over_layers(a.mean(-1), b.mean(-1))
    rng = np.random.default_rng(seed)
    draws = [
        _spearman_over_layers(
            a[..., rng.integers(0, a.shape[-1], a.shape[-1])].mean(-1),
            b[..., rng.integers(0, b.shape[-1], b.shape[-1])].mean(-1),
        )
        for _ in range(resamples)
    ]
    return Estimate.from_draws(point, draws, a.shape[-1], level)


# ---------------------------------------------------------------------------------------------
# Timing the comparison "seconds, not an epoch"


def random_batches(
    x: torch.Tensor,
    y: torch.Tensor,
    inputs: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless ``(inputs(x[idx]), y[idx])`` training batches of random indices, on ``device``."""
    g = torch.Generator().manual_seed(seed)
    while True:
        idx = torch.randint(0, len(x), (batch_size,), generator=g)
        yield inputs(x[idx].to(device)), y[idx].to(device)


def training_step_seconds(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    inputs: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    batch_size: int = 128,
    steps: int = 10,
    warmup: int = 2,
    lr: float = 0.01,
) -> np.ndarray:
    """Wall time of each of ``steps`` timed SGD steps (``latency.sgd_step_seconds``) of a copy of
    ``model`` on random batches of ``x`` — 'one training epoch' in seconds on this hardware, measured.
    The model itself is not changed."""
    device = next(model.parameters()).device
    batches = random_batches(x, y, inputs, batch_size, device)
    return latency.sgd_step_seconds(copy.deepcopy(model), batches, steps, warmup, lr)


def pipeline_timing(
    iteration_seconds,
    other_seconds: float,
    step_seconds,
    steps_per_epoch: float,
    resamples: int = 4000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[Estimate, Estimate, Estimate]:
    """(pipeline seconds, epoch seconds, pipeline / epoch), each with a percentile-bootstrap interval that
    resamples the distillation's per-iteration times and the timed training steps — the jitter of the
    measurement. Pipeline = Σ iterations + ``other_seconds``; epoch = mean step time × ``steps_per_epoch``."""
    it, st = (
        np.asarray(iteration_seconds, dtype=float),
        np.asarray(step_seconds, dtype=float),
    )

    def values(i, s):
        pipeline = len(it) * i.mean() + other_seconds  # Σ iterations + the other stages
        epoch = (
            s.mean() * steps_per_epoch
        )  # mean step × steps in one pass over the data
        return pipeline, epoch, pipeline / epoch

    point = values(it, st)
    rng = np.random.default_rng(seed)
    draws = np.array(
        [
            values(
                it[rng.integers(0, len(it), len(it))],
                st[rng.integers(0, len(st), len(st))],
            )
            for _ in range(resamples)
        ]
    )
    return tuple(
        Estimate.from_draws(p, draws[:, k], n, level)
        for k, (p, n) in enumerate(zip(point, (len(it), len(st), len(it))))
    )
