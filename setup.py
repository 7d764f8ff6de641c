"""Build the Cython kernels in tinygan/_kernels/.

Every ``tinygan/_kernels/*.pyx`` file becomes one extension module. The compiler flags are
probed, not assumed, so the same file builds on gcc, clang and MSVC:

- ``-O3`` always (where the compiler accepts it);
- ``-march=native`` unless ``TINYGAN_PORTABLE=1`` is set (a wheel meant for other machines must
  not use this machine's instruction set);
- OpenMP (``-fopenmp``) unless ``TINYGAN_NO_OPENMP=1`` is set or the compiler lacks it; the
  kernels then run on one thread, with the same results.

The choices are passed to C as macros, so ``tinygan.kernels.info()`` can report what was compiled.
"""

import os
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNEL_DIR = Path("tinygan") / "_kernels"

# Kernels that must round exactly as their NumPy twins do (same bits): the compiler may not fuse
# a multiply and an add into one FMA there (gcc does so by default at -O3, clang within an
# expression). Built with -ffp-contract=off where the compiler accepts it, and -fno-math-errno:
# sqrt then never sets errno (its result is the same correctly rounded value), which is what lets
# the compiler vectorise a loop that calls it (measured, Adam on 6272 x 100 float32, one core:
# 5.9 ms without it, 0.44 ms with it; the NumPy twin 6.8 ms).
EXACT_ROUNDING_MODULES = {"tinygan._kernels.optim_update"}


def _flag_set(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _compiler_accepts(compiler, compile_flags, link_flags=()):
    """Compile and link a tiny C file with these flags; True when both succeed."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text("int main(void) { return 0; }\n")
        try:
            objects = compiler.compile(
                [str(source)], output_dir=tmp, extra_postargs=list(compile_flags)
            )
            compiler.link_executable(
                objects, str(Path(tmp) / "probe"), extra_postargs=list(link_flags)
            )
        except Exception:
            return False
    return True


class ProbingBuildExt(build_ext):
    """build_ext that adds the optimisation and OpenMP flags this compiler accepts."""

    def build_extensions(self):
        compile_flags, link_flags, macros = [], [], []
        if self.compiler.compiler_type == "msvc":
            compile_flags.append("/O2")
            if not _flag_set("TINYGAN_NO_OPENMP"):
                compile_flags.append("/openmp")
                macros.append(("TINYGAN_OPENMP", "1"))
        else:
            if _compiler_accepts(self.compiler, ["-O3"]):
                compile_flags.append("-O3")
            native_allowed = not _flag_set("TINYGAN_PORTABLE")
            if native_allowed and _compiler_accepts(self.compiler, ["-march=native"]):
                compile_flags.append("-march=native")
                macros.append(("TINYGAN_NATIVE", "1"))
            if not _flag_set("TINYGAN_NO_OPENMP") and _compiler_accepts(
                self.compiler, ["-fopenmp"], ["-fopenmp"]
            ):
                compile_flags.append("-fopenmp")
                link_flags.append("-fopenmp")
                macros.append(("TINYGAN_OPENMP", "1"))
        exact = ([] if self.compiler.compiler_type == "msvc"  # MSVC does not contract by default
                 else [f for f in ["-ffp-contract=off", "-fno-math-errno"]
                       if _compiler_accepts(self.compiler, [f])])
        print(f"tinygan: compiling kernels with {' '.join(compile_flags) or 'default flags'}")
        for ext in self.extensions:
            extra = exact if ext.name in EXACT_ROUNDING_MODULES else []
            ext.extra_compile_args = compile_flags + extra + list(ext.extra_compile_args or [])
            ext.extra_link_args = link_flags + list(ext.extra_link_args or [])
            ext.define_macros = macros + list(ext.define_macros or [])
        super().build_extensions()


def kernel_extensions():
    extensions = []
    for pyx in sorted(KERNEL_DIR.glob("*.pyx")):
        module = ".".join(pyx.with_suffix("").parts)
        extensions.append(
            Extension(
                module,
                [str(pyx)],
                include_dirs=[np.get_include(), str(KERNEL_DIR)],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
            )
        )
    return cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,  # every kernel checks its shapes once, at its Python entry
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        quiet=True,
    )


setup(ext_modules=kernel_extensions(), cmdclass={"build_ext": ProbingBuildExt})

