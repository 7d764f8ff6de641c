"""Run every lesson (lessons/NN_name.py) and print a table of the claims each one checked.

    python lessons/run_all.py            # full mode: what a student runs
    python lessons/run_all.py --fast     # smaller runs, the same claims (what the tests run)
    python lessons/run_all.py --out DIR  # each lesson's figures and claims.json in DIR/NN_name/

Each lesson runs in its own process; its claims come from the claims.json it writes. The exit
code is 1 when any lesson failed (a claim did not hold, or the script crashed). A lesson on
images whose data set is not on this machine says how to get it and exits with code 77: it is
listed as skipped, not failed.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIPPED = 77  # tinygan.lesson.SKIPPED: the lesson's data set is not on this machine


def lesson_scripts():
    """Every lessons/NN_*.py, in the order of the course."""
    return sorted(glob.glob(os.path.join(HERE, "[0-9][0-9]_*.py")))


def run_lesson(script, out, fast):
    """Run one lesson; returns (exit code, seconds, claims: a list of dicts, or None)."""
    command = [sys.executable, script, "--out", out] + (["--fast"] if fast else [])
    start = time.perf_counter()
    code = subprocess.call(command)
    seconds = time.perf_counter() - start
    path = os.path.join(out, "claims.json")
    claims = None
    if os.path.exists(path) and os.path.getmtime(path) >= time.time() - seconds - 1:
        with open(path) as file:
            claims = json.load(file)["claims"]
    return code, seconds, claims


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="run every lesson in --fast mode")
    parser.add_argument("--out", default=os.path.join(HERE, "out"),
                        help="parent folder of the lessons' output folders")
    args = parser.parse_args(argv)
    rows = []
    for script in lesson_scripts():
        name = os.path.splitext(os.path.basename(script))[0]
        print(f"\n{'=' * 30} {name} {'=' * 30}", flush=True)
        code, seconds, claims = run_lesson(script, os.path.join(args.out, name), args.fast)
        held = sum(c["passed"] for c in claims) if claims else 0
        total = len(claims) if claims else 0
        ok = code == 0 and total > 0 and held == total
        status = "ok" if ok else "skipped (no data)" if code == SKIPPED else f"FAILED ({code})"
        rows.append((name, f"{held}/{total}", f"{seconds:.1f}", status))
    header = ("lesson", "claims held", "seconds", "status")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(4)]
    print("\n" + "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    failed = [r for r in rows if r[3].startswith("FAILED")]
    skipped = [r for r in rows if r[3].startswith("skipped")]
    print(f"\n{len(rows) - len(failed) - len(skipped)} of {len(rows)} lessons passed"
          + (" (" + ", ".join(r[0] for r in failed) + " failed)" if failed else "")
          + (" (" + ", ".join(r[0] for r in skipped) + " skipped: their data set is not on this "
             "machine)" if skipped else ""))
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
