"""The one part of the build that pyproject.toml cannot declare without setuptools' still
experimental ``ext-modules`` table: the compiled loops of the vector engine's visited set and
of the derived model's expand (plain C through the buffer protocol: no numpy to build them).

Both extensions are optional: where they cannot be built (no C compiler or no Python
headers), pip still installs dnsrace and the engine runs the same loops in numpy
(``dnsrace.checker.explore.visited.kernels_in_use``).
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension(name, [source], extra_compile_args=["-O3"], optional=True)
    for name, source in [("dnsrace.checker.explore._kernels", "checker/explore/_kernels.c"),
                         ("dnsrace.model.derived._kernels", "model/derived/_kernels.c")]])
