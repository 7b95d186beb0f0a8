"""Freed memory stays in the process: a CPU training step stops faulting its pages back in."""

import os
import subprocess
import sys

import pytest

from reprobook import allocator

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.path.exists("/proc/self/maps"),
    reason="glibc's mallopt: Linux only",
)

# SGD steps of ZeroQ's ResNet-20 at batch 128, 32 px; prints minor page faults per step after warm-up
STEPS = """
import resource, torch
from torch.nn import functional as F
from reprobook import allocator, models
from reprobook import provenance
assert not allocator.kept()
print(allocator.keep_freed_memory())
assert provenance.collect()["freed_memory_kept"] == allocator.kept()
torch.manual_seed(0)
model = models.CifarResNet(20, 16, norm="batch")
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(128, 3, 32, 32), torch.randint(0, 10, (128,))
def step():
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(8):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 8)
"""


def faults_per_step(keep: str) -> tuple[bool, float]:
    env = dict(os.environ, REPROBOOK_KEEP_FREED_MEMORY=keep)
    out = subprocess.run(
        [sys.executable, "-c", STEPS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[0] == "True", float(out[1])


@glibc
def test_kept_memory_removes_most_page_faults_of_a_training_step():
    kept, with_kept = faults_per_step("1")
    not_kept, with_default = faults_per_step("0")
    assert kept and not not_kept
    # an activation of this net is 2–8 MiB, 512–2,048 pages: malloc's defaults fault thousands a step
    assert with_default > 2_000, with_default
    assert with_kept < with_default / 4, (with_kept, with_default)


def test_the_settings_fit_mallopts_int():
    assert all(0 < v < 2**31 for v in allocator.SETTINGS.values())
