"""Keep freed memory in the process, so that a training step on the CPU does not fault its pages back in.

PyTorch on the CPU asks malloc for every activation and gradient of every step anew (ResNet-20 at batch
128 and 32 px: 2–8 MiB a tensor). glibc's malloc serves blocks that large with ``mmap``, or trims them
off the top of its heap when freed, and the kernel then hands out fresh zeroed pages at the next step:
ZeroQ's model of record trained with ~180,000 minor page faults a second, a fifth of its CPU time in
the kernel, on 2 cores. Raising glibc's mmap and trim thresholds (``mallopt``) keeps those blocks for
the next step: half an epoch of that training then took 0.84× the wall time (median of 4 paired runs)
for 15% more peak memory. The price: the process's resident memory no longer shrinks after a peak.

``REPROBOOK_KEEP_FREED_MEMORY=0`` leaves malloc as it is. Elsewhere than glibc (macOS, musl) nothing
changes.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

# mallopt parameters, from glibc's <malloc.h>
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
# blocks below 1 GiB come from the heap (glibc's default: 128 KiB, rising to at most 32 MiB), whose
# top is given back to the kernel only beyond 1 GiB free, and which grows 64 MiB at a time
SETTINGS = {M_MMAP_THRESHOLD: 1 << 30, M_TRIM_THRESHOLD: 1 << 30, M_TOP_PAD: 64 << 20}


@functools.cache
def keep_freed_memory() -> bool:
    """Apply :data:`SETTINGS` to this process's malloc, once; True where glibc accepted all of them."""
    if os.environ.get("REPROBOOK_KEEP_FREED_MEMORY", "1") in ("0", "false", "no"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS.items())


def kept() -> bool:
    """Whether :func:`keep_freed_memory` has run here and taken effect (the provenance records it:
    it changes wall times, not results)."""
    return keep_freed_memory.cache_info().currsize > 0 and keep_freed_memory()
