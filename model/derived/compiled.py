"""The derived model's compiled loops (``_kernels.c``, built at install), or None where that
module was not built or ``DNSRACE_KERNELS=numpy`` asks for the numpy code they mirror."""

from __future__ import annotations

import os

try:
    from . import _kernels as kernels
except ImportError:  # not built (no C compiler at install): numpy does the same work
    kernels = None
if os.environ.get("DNSRACE_KERNELS", "").strip().lower() == "numpy":
    kernels = None
