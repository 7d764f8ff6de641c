"""What every lesson script shares: its command line, its output folder, and its claims.

A lesson (``lessons/NN_name.py``) states a claim of the lecture, measures it, and checks it::

    from tinygan.lesson import Lesson

    lesson = Lesson("06_minimax", "D*(x) = p_data / (p_data + p_g)")  # parses --fast, --out, --seed
    steps = 200 if lesson.fast else 2000
    ...
    lesson.check("D(x) at the crossing point", d_at_crossing, expected=0.5, tol=0.05,
                 why="D* = 1/2 where p_data = p_g; 2000 samples leave about 0.02 of noise")
    lesson.figure("optimal_d.png", draw)                              # through tinygan.plot
    failed = lesson.summary()                                         # the table of claims
    if failed:
        raise SystemExit(f"claims that did not hold: {failed}")         # exit code 1

Command line of every lesson:
  --fast     smaller data, fewer steps; the same claims with the tolerances of the small run
  --out DIR  where figures go (default: lessons/out/<lesson name>/, next to the script)
  --seed N   the seed of tinygan.manual_seed (default 0)

Each ``check`` prints one line ``[pass]`` or ``[FAIL]`` with the measured and the expected
number; ``summary`` prints the table of claims, writes it to ``<out>/claims.json`` (read by
``lessons/run_all.py``) and returns the claims that failed; the lesson then raises SystemExit
(exit code 1) naming them, so a lesson is also a test. ``finish`` does both in one call.

Lessons on images get MNIST or Fashion-MNIST with ``lesson.image_data("mnist", "train")`` and the
quality classifier with ``lesson.quality_classifier("mnist")`` (in fast mode, without the cached
classifier, a stand-in trained in seconds). Neither downloads anything: when the files are not on
this machine, the lesson prints how to get them and exits with code ``SKIPPED`` (77), which
``run_all.py`` and the tests report as skipped rather than failed.
"""

import argparse
import json
import math
import os
import sys
import time

from . import plot
from .datasets import DatasetNotFoundError
from .datasets.mnist import load as load_dataset
from .metrics import quality
from .random import manual_seed

# The exit code of a lesson that cannot run on this machine (its data is not on disk): not a
# failed claim. 77 is the "skipped" code of automake's test harness.
SKIPPED = 77


class Lesson:
    """One lesson run: its settings (``fast``, ``out``, ``seed``) and the claims it checked."""

    def __init__(self, script, title, argv=None):
        """``script``: the lesson's name ("07_training_order") or its path (``__file__``).

        Lessons pass their name, because a notebook opened from the script (jupytext) has no
        ``__file__``. The default output folder is ``out/<name>`` beside the running script, or
        beside the notebook (the kernel's working folder) when there is no script.
        """
        self.name = os.path.splitext(os.path.basename(script))[0]
        self.title = title
        parser = argparse.ArgumentParser(prog=self.name + ".py", description=title)
        parser.add_argument("--fast", action="store_true",
                            help="smaller data and fewer steps (what the tests run)")
        parser.add_argument("--out", default=None, help="folder for the figures")
        parser.add_argument("--seed", type=int, default=0)
        args = parser.parse_args(_lesson_argv(argv))
        self.fast = args.fast
        self.seed = args.seed
        default_out = os.path.join(_lesson_folder(script), "out", self.name)
        self.out = os.path.abspath(args.out or default_out)
        os.makedirs(self.out, exist_ok=True)
        self.claims = []
        self._start = time.perf_counter()
        manual_seed(self.seed)
        mode = "fast mode" if self.fast else "full mode"
        print(f"{self.name}: {title} ({mode}, seed {self.seed})")
        print(f"figures go to {self.out}\n")

    def step(self, text):
        """Print a numbered step's heading, e.g. ``lesson.step("2. Train D alone")``."""
        print(f"\n{text}")

    def show(self, name, value, unit=""):
        """Print a named measured quantity."""
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"   {name} = {text}{unit}")

    def check(self, claim, measured, expected=None, tol=None, why="", at_least=None,
              at_most=None):
        """Check a measured number: |measured - expected| <= tol, or measured >= at_least, or
        measured <= at_most (any combination given). ``why`` says where the tolerance comes
        from. Returns whether it passed."""
        measured = float(measured)
        conditions = []
        if expected is not None:
            if tol is None:
                raise ValueError(f"check {claim!r}: an expected value needs a tolerance")
            conditions.append((abs(measured - expected) <= tol, f"{expected:.4g} +- {tol:.2g}"))
        if at_least is not None:
            conditions.append((measured >= at_least, f">= {at_least:.4g}"))
        if at_most is not None:
            conditions.append((measured <= at_most, f"<= {at_most:.4g}"))
        if not conditions:
            raise ValueError(f"check {claim!r}: give expected and tol, at_least or at_most")
        passed = math.isfinite(measured) and all(ok for ok, _ in conditions)
        wanted = " and ".join(text for _, text in conditions)
        self._record(claim, passed, f"{measured:.4g}", wanted, why)
        return passed

    def check_true(self, claim, condition, detail="", why=""):
        """Check a yes/no claim (e.g. a gradient check's result). Returns whether it passed."""
        passed = bool(condition)
        self._record(claim, passed, detail or str(passed), "true", why)
        return passed

    def figure(self, filename, draw, size=4.0, title=None):
        """Draw a one-Axes figure with ``draw(ax)`` into the output folder; returns its path."""
        path = plot.figure(os.path.join(self.out, filename), draw, size=size, title=title)
        print(f"   figure: {path}")
        return path

    def path(self, filename):
        """A path in the output folder (for figures with several panels or GIFs)."""
        return os.path.join(self.out, filename)

    def image_data(self, name, split="train"):
        """(images, labels) of ``name`` ("mnist" or "fashion-mnist") and ``split``, from
        ``$TINYGAN_DATA_DIR`` or the user cache (``tinygan.datasets.mnist``), never downloaded.
        When the files are not there: print where to put them and how to fetch them, and exit
        with code ``SKIPPED``."""
        try:
            return load_dataset(name, split, download=False)
        except DatasetNotFoundError as error:
            fetch, megabytes = ("mnist", 11) if name == "mnist" else ("fashion_mnist", 30)
            self.skip(f"this lesson needs {name}, which is not on this machine.\n{error}\n"
                      f"Either point TINYGAN_DATA_DIR at a folder holding '{name}/' with those "
                      f"files (e.g. TINYGAN_DATA_DIR=../shared/data), or download them once into "
                      f"the user cache ({megabytes} MB):\n    python -c \"import tinygan.datasets "
                      f"as d; d.{fetch}('train'); d.{fetch}('test')\"")

    def quality_classifier(self, name):
        """(model, record) of the quality classifier of ``name`` (``metrics.classifier``): the
        cached one, else, in full mode, trained once on the training set (minutes; cached for
        every later run). Fast mode does not wait for that: without the cache it uses the
        stand-in (``metrics.quality.STAND_IN_SIZE``: one epoch on a subset, seconds, cached apart)
        and says so. The data must be on disk (see ``image_data``)."""
        if os.path.exists(quality.classifier_path(name)):
            return quality.classifier(name, train=False)
        self.image_data(name, "test")  # exits with SKIPPED when the data are not on disk
        if self.fast:
            cached = os.path.exists(quality.classifier_path(name, stand_in=True))
            model, record = quality.classifier(name, progress=False, stand_in=True)
            print(f"   fast mode: the {name} quality classifier is not cached, so a stand-in "
                  f"{'was loaded' if cached else 'was trained'} ({record['train_size']} images, "
                  f"{record['epochs']} epoch; test accuracy {record['test_accuracy']:.2%}; "
                  f"{quality.classifier_path(name, stand_in=True)}). Its scores are rougher "
                  f"than the real classifier's, which a run without --fast builds once.")
            return model, record
        print(f"   training the {name} quality classifier once (a few minutes; cached in "
              f"{quality.classifier_path(name)})")
        return quality.classifier(name)

    def skip(self, reason):
        """Print why this lesson cannot run here and exit with code ``SKIPPED`` (no claims)."""
        print(f"\n{self.name}: SKIPPED: {reason}", flush=True)
        raise SystemExit(SKIPPED)

    def summary(self):
        """Print the table of claims and write it to ``<out>/claims.json``; return the claims
        that did not hold (a lesson that checked no claim fails too). Lessons end with::

            failed = lesson.summary()
            if failed:
                raise SystemExit(...)      # exit code 1, naming the claims
        """
        seconds = time.perf_counter() - self._start
        failed = [c for c in self.claims if not c["passed"]]
        print(f"\n{self.name}: {len(self.claims) - len(failed)} of {len(self.claims)} claims "
              f"held ({seconds:.1f} s)")
        for claim in failed:
            print(f"   FAILED: {claim['claim']}: measured {claim['measured']}, wanted "
                  f"{claim['wanted']}")
        with open(os.path.join(self.out, "claims.json"), "w") as file:
            json.dump({"lesson": self.name, "title": self.title, "fast": self.fast,
                       "seconds": seconds, "claims": self.claims}, file, indent=2)
        names = [c["claim"] for c in failed]
        if not self.claims:
            print("   FAILED: this lesson checked no claim")
            names.append("this lesson checked no claim")
        return names

    def finish(self):
        """``summary()``, then exit: 0 if every claim held, else 1. (Inside a Jupyter kernel it
        returns instead of exiting 0: there a clean SystemExit(0) only prints a warning.)"""
        if self.summary():
            sys.exit(1)
        if not _in_jupyter_kernel():
            sys.exit(0)

    def _record(self, claim, passed, measured, wanted, why):
        self.claims.append({"claim": claim, "passed": passed, "measured": measured,
                            "wanted": wanted, "why": why})
        mark = "pass" if passed else "FAIL"
        print(f"   [{mark}] {claim}: measured {measured}, wanted {wanted}"
              + (f" ({why})" if why else ""))


def _lesson_folder(script):
    """The folder of the lesson: of ``script`` when it is a path, else of the running script
    (``python lessons/NN_name.py``), else the working folder (a notebook's kernel)."""
    if os.path.dirname(script) or script.endswith(".py"):
        return os.path.dirname(os.path.abspath(script))
    main = sys.argv[0] if sys.argv and sys.argv[0].endswith(".py") else ""
    return os.path.dirname(os.path.abspath(main)) if main else os.getcwd()


def _lesson_argv(argv):
    """The arguments to parse: ``argv`` if given, else the command line's. Inside a Jupyter
    kernel (a lesson opened as a notebook, or run cell by cell in VS Code or PyCharm) the command
    line is the kernel's own (``-f kernel.json``), not the lesson's: then no arguments, i.e. the
    defaults (full mode)."""
    if argv is None and _in_jupyter_kernel():
        return []
    return argv


def _in_jupyter_kernel():
    return "ipykernel" in sys.modules
