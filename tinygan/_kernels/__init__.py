"""The kernels themselves, on plain ``np.ndarray`` s: three rungs of each, same signatures.

- GEMM: ``gemm_naive.py`` (the triple loop), ``gemm_numpy.py`` (the NumPy twin: np.matmul, and
  the argument checks every rung shares), ``gemm.pyx`` + ``gemm_microkernel.h`` (compiled).
- convolution, im2col, col2im: ``conv_naive.py`` (loops over output positions),
  ``conv_numpy.py`` (the twin: einsum over sliding windows, and the shared checks),
  ``conv.pyx`` (compiled: GEMMs that read the im2col matrix straight from the image).

Read them in that order: the naive rung is the definition written as loops, the twin is the same
math vectorised, the ``.pyx`` is how it is made fast. Outside this package only
``tinygan.kernels`` (``tinygan/kernels.py``) imports them: it chooses the active rung and is the
one place the rest of the library calls.
"""
