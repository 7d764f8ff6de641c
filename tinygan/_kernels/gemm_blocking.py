"""GEMM block sizes from the caches of the CPU this process runs on, read at run time.

gemm.pyx keeps three blocks of its operands in three levels of the memory hierarchy (its
docstring draws the five loops): a ``KC x NR`` sliver of B that every micro-kernel call of one
column sliver re-reads, an ``MC x KC`` block of A reused by every sliver of the B panel, and a
``KC x NC`` panel of B reused by every block of A. How big each may be depends on the caches,
which differ between the machines this course runs on (AMD Zen 4: 32 KiB L1d and 1 MiB L2 per
core; Intel Sapphire Rapids: 48 KiB and 2 MiB), so the sizes are derived here when gemm.pyx is
imported, not fixed in the source:

    KC = the depth at which one B sliver (KC x NR values) fills L1d   (at least 256)
    MC = the rows of A whose MC x KC block fills ~1/4 of L2 (a multiple of MR)
    NC = the columns of B whose KC x NC panel fills ~1/2 of L3 or 8 MiB, whichever is smaller
         (a multiple of NR)

Why those fractions: the A block shares L2 with the B sliver (read from L2 when it does not fit
L1, see below), with C's tiles and with whatever the other core's threads evict from a shared
level; taking a quarter leaves room for all of them and for the cache's limited associativity.
KC trades two things: a longer KC amortises loading and storing each C tile over more FMAs, a
shorter one keeps the slivers in cache. With NR = 64 float32 (four AVX-512 registers) a sliver
is 256 bytes per step, so an L1d of 32 or 48 KiB would allow only 128 or 192 steps; the floor
of 256 keeps the C tile's traffic small, and the micro-kernel streams B from L2 fast enough
(about 21 bytes per cycle for 24 FMAs, well under what L2 delivers) that a sliver larger than
L1 costs little. Measured on a 2-core Sapphire Rapids VM (48 KiB L1d, 2 MiB L2), float32, one
thread, compiled/OpenBLAS time ratio inverted (higher is better) at n = 256, 512, 1024: the
derived (KC, MC, NC) = (256, 510, 8192) gave 0.99, 0.95, 0.99; the constants tuned on Zen 4,
(384, 120, 4096), gave 0.97, 0.95, 0.85 (medians of 7 interleaved rounds; n = 1024 is where a
2 MiB L2 holds a bigger A block than Zen 4's 1 MiB).
``gemm.set_block_sizes`` changes the sizes at run time, to check these rules on a new machine.

The caches are read from Linux's sysfs (``/sys/devices/system/cpu/cpu0/cache/index*``), else
from ``os.sysconf`` (Linux and some BSDs), else assumed (32 KiB, 1 MiB, 8 MiB). The environment
variables ``TINYGAN_KC``, ``TINYGAN_MC`` and ``TINYGAN_NC`` override the derived values (for
experiments).
"""

import os
from pathlib import Path

FALLBACK_CACHES = {1: 32 * 1024, 2: 1024 * 1024, 3: 8 * 1024 * 1024}
SYSFS_CACHES = Path("/sys/devices/system/cpu/cpu0/cache")
SYSCONF_NAMES = {1: "SC_LEVEL1_DCACHE_SIZE", 2: "SC_LEVEL2_CACHE_SIZE", 3: "SC_LEVEL3_CACHE_SIZE"}


def _parse_size(text):
    """'48K' -> 49152, '2048K' -> 2097152, '260M' -> 272629760, '512' -> 512."""
    text = text.strip().upper()
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
    digits = text[:-1] if text[-1:] in "KMG" else text
    return int(digits) * scale


def _sysfs_caches(root=SYSFS_CACHES):
    """{level: bytes} of the data (or unified) caches sysfs reports for cpu0; {} if unreadable."""
    sizes = {}
    for index in sorted(root.glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = int((index / "level").read_text())
            size = _parse_size((index / "size").read_text())
        except (OSError, ValueError):
            continue
        if kind in ("Data", "Unified") and size > 0:
            sizes[level] = size
    return sizes


def _sysconf_caches():
    """{level: bytes} from os.sysconf, where the platform has the names and reports a size."""
    sizes = {}
    for level, name in SYSCONF_NAMES.items():
        try:
            size = os.sysconf(name)
        except (AttributeError, ValueError, OSError):
            continue
        if size and size > 0:
            sizes[level] = size
    return sizes


def cache_sizes():
    """The L1d, L2 and L3 sizes in bytes, as {1: ..., 2: ..., 3: ...}, each from the first
    source that reports it: sysfs, sysconf, else the fallback."""
    sizes = dict(FALLBACK_CACHES)
    found = _sysconf_caches()
    found.update(_sysfs_caches())
    sizes.update({level: size for level, size in found.items() if level in sizes})
    return sizes


def _round_down(value, multiple):
    return max(multiple, value // multiple * multiple)


def block_sizes(caches, mr, nr, itemsize):
    """(KC, MC, NC) for micro-tiles of mr x nr values of ``itemsize`` bytes (rules above)."""
    kc = max(256, caches[1] // (nr * itemsize))
    kc = _round_down(min(kc, 512), 16)
    mc = _round_down(caches[2] // 4 // (kc * itemsize), mr)
    nc = _round_down(min(caches[3] // 2, 8 * 1024 * 1024) // (kc * itemsize), nr)
    return kc, mc, nc


def _override(name, value, multiple):
    """TINYGAN_<name> when set to a positive integer (rounded down to ``multiple``), else value."""
    setting = os.environ.get(f"TINYGAN_{name}", "").strip()
    if setting.isdigit() and int(setting) > 0:
        return _round_down(int(setting), multiple)
    return value


def machine_block_sizes(mr, nr, itemsize):
    """block_sizes for this machine's caches, with the TINYGAN_KC/MC/NC overrides applied."""
    kc, mc, nc = block_sizes(cache_sizes(), mr, nr, itemsize)
    return _override("KC", kc, 1), _override("MC", mc, mr), _override("NC", nc, nr)
