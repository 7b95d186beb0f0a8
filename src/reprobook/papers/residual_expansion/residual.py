r"""The residual expansion (Dherin & Munn 2025), written beside the code that computes it.

A stack of residual blocks :math:`x_i = x_{i-1} + \lambda g_i(x_{i-1})`, :math:`i = 1..n`:

* linear blocks :math:`g_i(x) = A_i x` expand exactly into :math:`2^n` paths, one per subset of blocks,

  .. math:: \prod_{i=n}^{1} (I + \lambda A_i) = \sum_{k=0}^{n} \lambda^k \sum_{i_1 < \dots < i_k} A_{i_k} \cdots A_{i_1},

  with :math:`\binom{n}{k}` paths of order :math:`k`;
* nonlinear blocks expand as a Taylor series in :math:`\lambda`,

  .. math:: f(x) = x + \lambda \sum_i g_i(x) + \lambda^2 \sum_{i<j} Dg_j(x)[g_i(x)] + O(\lambda^3);

* with independent, norm-preserving random branches the squared signal grows like
  :math:`\mathbb{E}\|x_n\|^2 = (1 + \lambda^2)^n \|x_0\|^2`, and at worst (aligned branches) like
  :math:`(1 + \lambda)^{2n}`.
"""

from __future__ import annotations

import itertools
import math
import warnings

import torch
from torch import nn
from torch.func import jvp

from ...models import MLPBranch

# torch.func's jvp goes through a deprecated torch.jit.script internally; the warning is not ours to fix.
warnings.filterwarnings(
    "ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning
)


# ---------------------------------------------------------------------------------------------
# 1. Linear blocks: the exact subset expansion


def residual_product(mats: list[torch.Tensor], lam: float) -> torch.Tensor:
    """(I + λA_n) ··· (I + λA_1): the linear residual stack as one matrix."""
    out = torch.eye(mats[0].shape[0], dtype=mats[0].dtype)
    for a in mats:
        out = out + lam * a @ out
    return out


def subset_expansion(mats: list[torch.Tensor], lam: float) -> list[torch.Tensor]:
    """Sum over all 2^n subsets, grouped by order: entry ``k`` is λ^k Σ_{|S|=k} A_{s_k}···A_{s_1}.

    Each subset is one computation path; this enumerates every path explicitly (no recursion on the
    product), so ``sum(subset_expansion(...))`` equalling ``residual_product`` is the theorem's content.
    """
    n, eye = len(mats), torch.eye(mats[0].shape[0], dtype=mats[0].dtype)
    orders = []
    for k in range(n + 1):
        total = torch.zeros_like(eye)
        for subset in itertools.combinations(range(n), k):
            path = eye
            for i in subset:  # increasing i: the earliest block acts first
                path = mats[i] @ path
            total = total + path
        orders.append(lam**k * total)
    return orders


def path_counts(n: int) -> list[int]:
    """Number of paths of each order k = 0..n: the binomial coefficients C(n, k), summing to 2^n."""
    return [math.comb(n, k) for k in range(n + 1)]


# ---------------------------------------------------------------------------------------------
# 2. Nonlinear blocks: truncated expansions


def tanh_branches(
    n: int,
    width: int,
    hidden: int,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
) -> list[nn.Module]:
    """Smooth random branches g(x) = W2 tanh(W1 x + b1), He/LeCun-scaled, for Taylor-expansion checks."""
    branches = []
    for _ in range(n):
        first, last = (
            nn.Linear(width, hidden, dtype=dtype),
            nn.Linear(hidden, width, bias=False, dtype=dtype),
        )
        with torch.no_grad():
            first.weight.copy_(
                torch.randn(hidden, width, generator=generator, dtype=dtype)
                / math.sqrt(width)
            )
            first.bias.copy_(
                0.1 * torch.randn(hidden, generator=generator, dtype=dtype)
            )
            last.weight.copy_(
                torch.randn(width, hidden, generator=generator, dtype=dtype)
                / math.sqrt(hidden)
            )
        branches.append(nn.Sequential(first, nn.Tanh(), last))
    return branches


def run_stack(branches: list[nn.Module], x: torch.Tensor, lam: float) -> torch.Tensor:
    for g in branches:
        x = x + lam * g(x)
    return x


def truncated_expansion(
    branches: list[nn.Module], x: torch.Tensor, lam: float, order: int
) -> torch.Tensor:
    """The expansion of the stack around ``x`` to first (``order=1``) or second (``order=2``) order in λ.

    The second-order term Σ_{i<j} Dg_j(x)[g_i(x)] is computed with one Jacobian-vector product per
    block j, in the direction of the prefix sum Σ_{i<j} g_i(x).
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    with torch.no_grad():
        outs = [g(x) for g in branches]
    result = x + lam * sum(outs)
    if order == 2:
        prefix = torch.zeros_like(x)
        second = torch.zeros_like(x)
        for g, g_x in zip(branches, outs):
            second = second + jvp(g, (x,), (prefix,))[1]
            prefix = prefix + g_x
        result = result + lam**2 * second
    return result


def truncation_error(
    branches: list[nn.Module], x: torch.Tensor, lam: float, order: int
) -> float:
    """‖f(x) − T_order(x)‖ / ‖x‖ averaged over the batch; theory: O(λ^(order+1))."""
    with torch.no_grad():
        exact = run_stack(branches, x, lam)
    approx = truncated_expansion(branches, x, lam, order)
    return ((exact - approx).norm(dim=-1) / x.norm(dim=-1)).mean().item()


def loglog_slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y against log x: the exponent p in y ∝ x^p."""
    lx = torch.log(torch.tensor(xs, dtype=torch.float64))
    ly = torch.log(torch.tensor(ys, dtype=torch.float64))
    lx, ly = lx - lx.mean(), ly - ly.mean()
    return float((lx * ly).sum() / (lx * lx).sum())


# ---------------------------------------------------------------------------------------------
# 3. Forward signal growth


def log_expected_growth(depth: int, lam: float) -> float:
    """log E‖x_L‖² / ‖x_0‖² = L·log(1 + λ²), for independent norm-preserving branches (logs: 2^1024 overflows)."""
    return depth * math.log1p(lam**2)


def log_aligned_growth(depth: int, lam: float) -> float:
    """Worst case, every branch output aligned with its input: log ‖x_L‖² / ‖x_0‖² = 2L·log(1 + λ)."""
    return 2 * depth * math.log1p(lam)


def log_signal_growth(
    depth: int,
    lam: float,
    width: int = 256,
    samples: int = 64,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> float:
    """log(E‖x_L‖² / E‖x_0‖²) for one random draw of ``depth`` He-initialised two-layer ReLU branches.

    The branches have no biases, so each block is positively homogeneous: x ↦ c·x maps x_i ↦ c·x_i.
    Renormalising after every block and adding up the log-norms is therefore exact, and no depth
    (even 2^1024 growth) overflows.
    """
    torch.manual_seed(seed)
    x = torch.randn(samples, width, dtype=dtype)
    x = x / x.norm(dim=1, keepdim=True)
    log_ratio = torch.zeros(samples, dtype=dtype)  # log ‖x_i‖² / ‖x_0‖² per sample
    with torch.no_grad():
        for _ in range(depth):
            g = MLPBranch(width, width, norm=None).to(
                dtype
            )  # biases are zero-initialised
            x = x + lam * g(x)
            norm = x.norm(dim=1, keepdim=True)
            log_ratio += 2 * norm.squeeze(1).log()
            x = x / norm
    return float(
        torch.logsumexp(log_ratio, 0) - math.log(samples)
    )  # log of the mean over samples


# ---------------------------------------------------------------------------------------------
# 4. Geometric complexity (Dherin et al. 2022): mean squared Frobenius norm of the input Jacobian


def geometric_complexity(model: nn.Module, x: torch.Tensor) -> float:
    """GC = (1/N) Σ_x ‖∂f(x)/∂x‖_F², with ``f`` the logits, one backward pass per output.

    The model is evaluated in eval mode so that each example's output depends on that example only.
    """
    was_training = model.training
    model.eval()
    x = x.detach().clone().requires_grad_(True)
    logits = model(x)
    total = 0.0
    for c in range(logits.shape[1]):
        (grad,) = torch.autograd.grad(
            logits[:, c].sum(), x, retain_graph=c + 1 < logits.shape[1]
        )
        total += grad.pow(2).sum().item()
    model.train(was_training)
    return total / len(x)
