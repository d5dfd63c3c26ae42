"""The one part of the build that pyproject.toml cannot declare without setuptools' still
experimental ``ext-modules`` table: the compiled loops of the vector engine's visited set.

The extension is optional: where it cannot be built (no C compiler or no Python headers), pip
still installs dnsrace and the engine runs the same loops in numpy (``visited.kernels_in_use``).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("dnsrace.checker.explore._kernels", ["checker/explore/_kernels.c"],
                             extra_compile_args=["-O3"], optional=True)])
