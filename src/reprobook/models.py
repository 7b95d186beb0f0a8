r"""Residual networks whose branches can be scaled, normalised or not, and run in sequence or in parallel.

A residual stack of :math:`n` branches :math:`g_1 \dots g_n` with branch scale :math:`\lambda` computes

* ``"sequential"`` (the deep net):        :math:`x_i = x_{i-1} + \lambda\, g_i(x_{i-1})`
* ``"parallel"`` (its first-order truncation, Bermeitinger et al. 2023):
  :math:`y = x_0 + \lambda \sum_i g_i(x_0)`

The two modes share one set of parameters, so a sequential net and its parallel twin have the same
parameter count, and the very same weights can be run both ways.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MODES = ("sequential", "parallel")


class ResidualStack(nn.Module):
    """``x + λ·g(x)`` for every branch ``g``, in sequence or all on the input (see module docstring)."""

    def __init__(
        self,
        branches: list[nn.Module],
        branch_scale: float = 1.0,
        mode: str = "sequential",
    ):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.branches = nn.ModuleList(branches)
        self.branch_scale = branch_scale
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "parallel":
            return x + self.branch_scale * sum(g(x) for g in self.branches)
        for g in self.branches:
            x = x + self.branch_scale * g(x)
        return x


def norm_layer(kind: str | None, channels: int, dims: int) -> nn.Module:
    if kind in (None, "none"):
        return nn.Identity()
    if kind == "batch":
        return (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(channels)
    raise ValueError(f"norm must be 'batch' or 'none', got {kind!r}")


def init_branch_(first: nn.Module, last: nn.Module) -> None:
    """He init for the layer before a ReLU, LeCun init for the last: each branch then preserves the
    expected squared norm, so E‖x + λ g(x)‖² = (1 + λ²)‖x‖² for independent branches."""
    nn.init.kaiming_normal_(first.weight, nonlinearity="relu")
    nn.init.kaiming_normal_(last.weight, nonlinearity="linear")
    for layer in (first, last):
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


class MLPBranch(nn.Sequential):
    """Linear → [norm] → ReLU → Linear → [norm]: a two-layer ReLU residual branch."""

    def __init__(self, width: int, hidden: int, norm: str | None = None):
        bias = norm in (None, "none")
        first, last = (
            nn.Linear(width, hidden, bias=bias),
            nn.Linear(hidden, width, bias=bias),
        )
        init_branch_(first, last)
        super().__init__(
            first,
            norm_layer(norm, hidden, 1),
            nn.ReLU(),
            last,
            norm_layer(norm, width, 1),
        )


class ConvBranch(nn.Sequential):
    """Conv(k) → [norm] → ReLU → Conv(k) → [norm], 'same' padding."""

    def __init__(self, channels: int, kernel: int = 3, norm: str | None = None):
        bias = norm in (None, "none")
        conv = lambda: nn.Conv2d(
            channels, channels, kernel, padding=kernel // 2, bias=bias
        )  # noqa: E731
        first, last = conv(), conv()
        init_branch_(first, last)
        super().__init__(
            first,
            norm_layer(norm, channels, 2),
            nn.ReLU(),
            last,
            norm_layer(norm, channels, 2),
        )


class ResidualMLP(nn.Module):
    """Flatten → Linear embedding → residual stack of MLP branches → ReLU → Linear classifier."""

    def __init__(
        self,
        in_features: int,
        num_classes: int = 10,
        width: int = 128,
        hidden: int | None = None,
        blocks: int = 8,
        branch_scale: float | str = 1.0,
        norm: str | None = None,
        mode: str = "sequential",
    ):
        super().__init__()
        self.embed = nn.Linear(in_features, width)
        self.stack = ResidualStack(
            [MLPBranch(width, hidden or width, norm) for _ in range(blocks)],
            resolve_branch_scale(branch_scale, blocks),
            mode,
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stack(self.embed(x.flatten(1))))


class ResidualConvNet(nn.Module):
    """The convolutional net of the deep-vs-shallow comparison (Bermeitinger et al. 2023):
    a strided stem, ``blocks`` residual conv branches at one resolution, pooling to a ``pooled``² grid
    (spatial layout kept, as a dense head on the feature map would), a linear head."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int = 10,
        filters: int = 16,
        kernel: int = 3,
        blocks: int = 2,
        stem_stride: int = 2,
        pooled: int = 4,
        branch_scale: float | str = 1.0,
        norm: str | None = None,
        mode: str = "sequential",
    ):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, filters, 3, stride=stem_stride, padding=1), nn.ReLU()
        )
        self.stack = ResidualStack(
            [ConvBranch(filters, kernel, norm) for _ in range(blocks)],
            resolve_branch_scale(branch_scale, blocks),
            mode,
        )
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(pooled),
            nn.Flatten(),
            nn.Linear(filters * pooled**2, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stack(self.stem(x)))


# ---------------------------------------------------------------------------------------------
# CIFAR ResNets (He et al. 2016, §4.2): depth 6n+2, three stages of n basic blocks at widths w, 2w, 4w.


class BasicBlock(nn.Module):
    """relu(shortcut(x) + λ·F(x)), F = conv-[bn]-relu-conv-[bn]; a strided block uses a 1x1 conv shortcut."""

    def __init__(
        self, c_in: int, c_out: int, stride: int, norm: str | None, branch_scale: float
    ):
        super().__init__()
        bias = norm in (None, "none")
        self.branch = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=bias),
            norm_layer(norm, c_out, 2),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=bias),
            norm_layer(norm, c_out, 2),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=bias), norm_layer(norm, c_out, 2)
            )
        self.branch_scale = branch_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.shortcut(x) + self.branch_scale * self.branch(x))


class CifarResNet(nn.Module):
    def __init__(
        self,
        depth: int = 20,
        width: int = 16,
        num_classes: int = 10,
        in_channels: int = 3,
        norm: str | None = "batch",
        branch_scale: float | str = 1.0,
    ):
        super().__init__()
        if (depth - 2) % 6 or depth < 8:
            raise ValueError(
                f"CIFAR ResNet depth must be 6n+2 with n >= 1 (8, 14, 20, 32, ...), got {depth}"
            )
        n = (depth - 2) // 6
        scale = resolve_branch_scale(branch_scale, 3 * n)
        bias = norm in (None, "none")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=bias),
            norm_layer(norm, width, 2),
            nn.ReLU(),
        )
        blocks, c = [], width
        for stage in range(3):
            c_out = width * 2**stage
            for i in range(n):
                blocks.append(
                    BasicBlock(
                        c, c_out, 2 if (stage > 0 and i == 0) else 1, norm, scale
                    )
                )
                c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes)
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def cifar_resnet_depth(blocks: int) -> int:
    """Depth 6n+2 of the CIFAR ResNet with ``blocks`` = 3n residual blocks (n per stage)."""
    if blocks % 3 or blocks < 3:
        raise ValueError(
            f"a CIFAR ResNet has 3 stages of n blocks: the number of blocks must be a positive "
            f"multiple of 3 (3, 6, 9, ...), got {blocks}; e.g. -p train_blocks '[3, 9]'"
        )
    return 2 * blocks + 2


def resolve_branch_scale(scale: float | str, blocks: int) -> float:
    """``scale`` is a number or one of the depth rules "1", "1/sqrt(L)", "1/L" for ``L = blocks``."""
    rules = {
        "1": lambda: 1.0,
        "1/sqrt(L)": lambda: 1 / math.sqrt(blocks),
        "1/L": lambda: 1 / blocks,
    }  # lazily: a net with no blocks takes a number
    if isinstance(scale, str):
        if scale not in rules:
            raise ValueError(
                f"branch scale rule must be one of {list(rules)}, got {scale!r}"
            )
        return rules[scale]()
    return float(scale)


def residual_classifier(
    kind: str,
    input_shape: tuple[int, ...],
    blocks: int,
    width: int,
    branch_scale: float | str = 1.0,
    norm: str | None = None,
    num_classes: int = 10,
) -> nn.Module:
    """A residual net with ``blocks`` residual blocks: ``"mlp"`` (:class:`ResidualMLP`) or ``"resnet"``
    (:class:`CifarResNet` of depth 2·blocks + 2, base width ``width``)."""
    if kind == "mlp":
        return ResidualMLP(
            math.prod(input_shape),
            num_classes,
            width=width,
            blocks=blocks,
            branch_scale=branch_scale,
            norm=norm,
        )
    if kind == "resnet":
        return CifarResNet(
            cifar_resnet_depth(blocks),
            width,
            num_classes,
            in_channels=input_shape[0],
            norm=norm,
            branch_scale=branch_scale,
        )
    raise ValueError(f"kind must be 'mlp' or 'resnet', got {kind!r}")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(
        p.numel() for p in model.parameters() if p.requires_grad or not trainable_only
    )


def layers(model: nn.Module, *kinds: type) -> dict[str, nn.Module]:
    """The modules of ``model`` that are instances of ``kinds``, by qualified name, in module order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, kinds)}
