"""GEMM block sizes come from the caches the CPU reports (gemm_blocking.py), and the compiled
GEMM stays correct under any block sizes, including tiny ones that force many blocks."""

import numpy as np
import pytest

from tinygan._kernels import gemm_blocking, gemm_numpy

try:
    from tinygan._kernels import gemm as compiled
except ImportError:
    compiled = None

needs_compiled = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")


def fake_cpu(tmp_path, caches):
    """A sysfs cache directory: caches is a list of (level, type, size text)."""
    for i, (level, kind, size) in enumerate(caches):
        index = tmp_path / f"index{i}"
        index.mkdir()
        (index / "level").write_text(f"{level}\n")
        (index / "type").write_text(f"{kind}\n")
        (index / "size").write_text(f"{size}\n")
    return tmp_path


def test_sysfs_caches_reads_data_and_unified_caches_only(tmp_path):
    root = fake_cpu(tmp_path, [(1, "Data", "48K"), (1, "Instruction", "32K"),
                               (2, "Unified", "2048K"), (3, "Unified", "260M")])
    assert gemm_blocking._sysfs_caches(root) == {1: 48 * 1024, 2: 2 * 1024**2, 3: 260 * 1024**2}


def test_sysfs_caches_skips_unreadable_entries(tmp_path):
    root = fake_cpu(tmp_path, [(1, "Data", "32K"), (2, "Unified", "lots")])
    assert gemm_blocking._sysfs_caches(root) == {1: 32 * 1024}
    assert gemm_blocking._sysfs_caches(tmp_path / "missing") == {}


def test_cache_sizes_has_every_level():
    sizes = gemm_blocking.cache_sizes()
    assert set(sizes) == {1, 2, 3}
    assert all(isinstance(v, int) and v > 0 for v in sizes.values())


@pytest.mark.parametrize(("caches", "expected"), [
    ({1: 32 * 1024, 2: 1024**2, 3: 32 * 1024**2}, (256, 252, 8192)),       # AMD Zen 4
    ({1: 48 * 1024, 2: 2 * 1024**2, 3: 260 * 1024**2}, (256, 510, 8192)),  # Sapphire Rapids
    ({1: 128 * 1024, 2: 4 * 1024**2, 3: 2 * 1024**2}, (512, 510, 512)),    # big L1, small L3
])
def test_block_sizes_follow_the_caches(caches, expected):
    kc, mc, nc = gemm_blocking.block_sizes(caches, mr=6, nr=64, itemsize=4)
    assert (kc, mc, nc) == expected
    assert mc % 6 == 0 and nc % 64 == 0


def test_bigger_l2_gives_taller_a_blocks():
    small = gemm_blocking.block_sizes({1: 32768, 2: 1 << 20, 3: 1 << 25}, 6, 64, 4)
    big = gemm_blocking.block_sizes({1: 32768, 2: 1 << 22, 3: 1 << 25}, 6, 64, 4)
    assert big[1] > small[1]


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("TINYGAN_MC", "100")
    monkeypatch.setenv("TINYGAN_KC", "not a number")
    kc, mc, _ = gemm_blocking.machine_block_sizes(6, 64, 4)
    assert mc == 96  # rounded down to a multiple of MR
    assert kc == gemm_blocking.block_sizes(gemm_blocking.cache_sizes(), 6, 64, 4)[0]


@needs_compiled
def test_compiled_reports_the_derived_blocks():
    info = compiled.build_info()
    assert info["blocks_kc_mc_nc"] == gemm_blocking.machine_block_sizes(6, info[
        "micro_kernel_float32"][1], 4)


@needs_compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("transpose_a", "transpose_b"),
                         [(False, False), (True, False), (False, True), (True, True)])
def test_tiny_blocks_still_give_the_product(dtype, transpose_a, transpose_b):
    """KC = 16, MC = 12, NC = 128 (float32) split a 50x70 @ 70x300 product into many blocks."""
    saved = compiled.build_info()
    kc, mc, nc = saved["blocks_kc_mc_nc"]
    _, mc64, nc64 = saved["blocks_kc_mc_nc_float64"]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((70, 50) if transpose_a else (50, 70)).astype(dtype)
    b = rng.standard_normal((300, 70) if transpose_b else (70, 300)).astype(dtype)
    try:
        compiled.set_block_sizes(16, 12, 128)
        result = compiled.gemm(a, b, transpose_a, transpose_b)
    finally:
        compiled.set_block_sizes(kc, mc, nc, mc64, nc64)
    expected = gemm_numpy.gemm(a, b, transpose_a, transpose_b)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(result, expected, rtol=tol, atol=tol)


@needs_compiled
@pytest.mark.parametrize("bad", [0, 7, -6, 1.5, True])
def test_set_block_sizes_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match="set_block_sizes"):
        compiled.set_block_sizes(256, bad, 128)
