# %%
"""Lesson 2: autograd and gradient checking.

Training G and D means following gradients of V(D, G) with respect to millions of weights. An
autograd engine computes them: the forward pass records every operation in a graph, and the
backward pass walks that graph from the output back to the inputs, multiplying local
derivatives (the chain rule). Here we follow one small expression through its backward pass,
check every gradient against central differences, and see why the check needs float64 and a
step eps of about 1e-6: the error of a finite difference is a V-shaped curve in eps.

Run: python lessons/02_autograd_and_gradcheck.py [--fast] [--out DIR] [--seed N]
"""

# %%
import numpy as np

import tinygan
from tinygan.lesson import Lesson

lesson = Lesson("02_autograd_and_gradcheck", "autograd: the backward pass and its gradient check")

# %% [markdown]
# ## 1. A small expression and its graph
#
# f(x, y) = tanh(x y) + e^x / y, at x = 0.5, y = 2. The forward pass builds the graph;
# `tinygan.render_graph` draws it as text, output at the top, leaves at the bottom.

# %%
lesson.step("1. The forward pass records a graph")
x = tinygan.tensor(0.5, dtype=np.float64, requires_grad=True, name="x")
y = tinygan.tensor(2.0, dtype=np.float64, requires_grad=True, name="y")
a = x * y
b = a.tanh()
c = x.exp()
d = c / y
f = b + d
print(tinygan.render_graph(f))

# %% [markdown]
# ## 2. The backward pass, one node at a time
#
# `f.backward()` starts with df/df = 1 and hands each node's gradient to its inputs, times the
# local derivative of the op: for `add` both inputs get df/df; for `div` the numerator gets
# 1/y and the denominator -c/y^2; for `tanh` its input gets (1 - tanh^2); for `mul` each input
# gets the other one. A leaf used twice (x feeds `mul` and `exp`) adds up both contributions.
# After the pass every node holds its gradient in `.grad`; the graph now shows their norms.

# %%
lesson.step("2. The backward pass: every node's gradient by the chain rule")
f.backward()
print(tinygan.render_graph(f))
xv, yv = 0.5, 2.0
by_hand = {  # the chain rule written out, from the output down
    "df/db": (b, 1.0),
    "df/dd": (d, 1.0),
    "df/dc = df/dd * 1/y": (c, 1.0 / yv),
    "df/da = df/db * (1 - tanh(a)^2)": (a, 1 - np.tanh(xv * yv) ** 2),
    "df/dx = df/da * y + df/dc * e^x": (x, (1 - np.tanh(xv * yv) ** 2) * yv + np.exp(xv) / yv),
    "df/dy = df/da * x - df/dd * c / y^2": (y, (1 - np.tanh(xv * yv) ** 2) * xv
                                            - np.exp(xv) / yv ** 2),
}
worst = 0.0
for name, (node, value) in by_hand.items():
    print(f"   {name:38s} backward {float(node.grad):+.12f}   by hand {value:+.12f}")
    worst = max(worst, abs(float(node.grad) - value))
lesson.check("every node's .grad equals the chain rule by hand (largest difference)", worst,
             at_most=1e-12, why="the same formulas in float64, up to a few roundings (~1e-16)")

# %% [markdown]
# ## 3. The gradient check
#
# Nobody derives every gradient by hand. Instead, the derivative is estimated from the function
# alone, by central differences: df/dx ~ (f(x + eps) - f(x - eps)) / (2 eps).
# `tinygan.gradcheck` does this for every entry of every input and compares with backward.

# %%
lesson.step("3. tinygan.gradcheck: backward against central differences")


def expression(x, y):
    return (x * y).tanh() + x.exp() / y


inputs = [tinygan.tensor(values, dtype=np.float64, requires_grad=True)
          for values in ([[0.5, -1.0, 0.3]], [[2.0, 1.5, -0.7]])]
result = tinygan.gradcheck(expression, inputs, raise_exception=False)
lesson.check_true("gradcheck of f on vectors x, y (eps = 1e-6, float64)", result.passed,
                  detail=f"{result.checked} Jacobian entries, max abs error "
                         f"{result.max_abs_error:.2g}",
                  why="float64 central differences at eps = 1e-6 agree to ~1e-9 (section 4)")

# %% [markdown]
# ## 4. How small should eps be?
#
# Two errors pull in opposite directions. **Truncation**: the Taylor series gives
# (f(x + eps) - f(x - eps)) / (2 eps) = f'(x) + eps^2 f'''(x) / 6 + ..., so the error falls
# like eps^2. **Round-off**: f is computed with a relative error of about the machine epsilon
# u (2.2e-16 in float64, 1.2e-7 in float32), and dividing the difference by 2 eps magnifies it
# to about u |f| / eps. The sum eps^2 |f'''| / 6 + u |f| / eps is a V in log-log axes, with
# slope 2 on the right, slope -1 on the left and its minimum at eps* = (3 u |f| / |f'''|)^(1/3),
# about u^(1/3): 6e-6 in float64, 5e-3 in float32. The best error, about u^(2/3), is 1e-11 in
# float64 but 2e-5 in float32: far too coarse to catch a wrong gradient, so checks use float64.
#
# We measure it: the median error over many points x of f(x) = tanh(2x) + e^x / 2, for eps
# from 1 down to 1e-16, in both precisions (the whole forward pass in that dtype).

# %%
lesson.step("4. The error of central differences as eps shrinks")
points = np.linspace(-1.0, 1.0, 64 if lesson.fast else 512)
exponents = np.linspace(0, -16, 49 if lesson.fast else 129)
epsilons = 10.0 ** exponents


def g(t):
    return (t * 2.0).tanh() + t.exp() / 2.0


xs64 = tinygan.tensor(points, dtype=np.float64, requires_grad=True)
g(xs64).sum().backward()
exact = xs64.grad  # the backward pass, float64 (checked in sections 2-3)

errors = {}
for dtype in (np.float32, np.float64):
    median = []
    for eps in epsilons:
        with tinygan.no_grad():
            plus = g(tinygan.tensor(points + eps, dtype=dtype)).data.astype(np.float64)
            minus = g(tinygan.tensor(points - eps, dtype=dtype)).data.astype(np.float64)
        estimate = (plus - minus) / (2 * eps)
        median.append(np.median(np.abs(estimate - exact)))
    errors[np.dtype(dtype).name] = np.maximum(np.array(median), 1e-18)


def slope(name, lo, hi):
    """The log-log slope of the error curve for eps between 10^lo and 10^hi."""
    inside = (exponents >= lo) & (exponents <= hi)
    return float(np.polyfit(exponents[inside], np.log10(errors[name][inside]), 1)[0])


for name in ("float64", "float32"):
    u = float(np.finfo(name).eps)
    best = int(np.argmin(errors[name]))
    predicted = u ** (1 / 3)
    print(f"   {name}: smallest error {errors[name][best]:.2g} at eps = {epsilons[best]:.2g} "
          f"(theory: eps* ~ u^(1/3) = {predicted:.2g}, error ~ u^(2/3) = {u ** (2 / 3):.2g})")
    lesson.check(f"{name}: log10 of the best eps, against log10 u^(1/3)",
                 np.log10(epsilons[best]), expected=np.log10(predicted), tol=1.0,
                 why="eps* = (3 u |f| / |f'''|)^(1/3): the factor (3 |f| / |f'''|)^(1/3) is "
                     "of order 1 here, so within one decade of u^(1/3)")
lesson.check("float64, right arm (eps from 1e-4 to 1e-2): slope of log error vs log eps",
             slope("float64", -4, -2), expected=2.0, tol=0.2,
             why="truncation error eps^2 f'''/6 dominates there")
lesson.check("float64, left arm (eps from 1e-14 to 1e-9): slope of log error vs log eps",
             slope("float64", -14, -9), expected=-1.0, tol=0.3,
             why="round-off u |f| / eps dominates there; rounding is noisy, the median over "
                 "points smooths it to within ~0.2")
ratio = np.log10(errors["float32"].min() / errors["float64"].min())
lesson.check("log10 of (best float32 error / best float64 error)", ratio,
             expected=np.log10((np.finfo(np.float32).eps / np.finfo(np.float64).eps) ** (2 / 3)),
             tol=1.0, why="the best error scales as u^(2/3); constants of order 1 allow a "
                          "decade")


def draw_v(ax):
    for name, color in (("float64", "#1f5fbf"), ("float32", "#7b3fbf")):
        ax.loglog(epsilons, errors[name], "o-", ms=3, color=color, label=name)
        u = float(np.finfo(name).eps)
        ax.axvline(u ** (1 / 3), color=color, ls=":", lw=1)
    ax.loglog(epsilons, epsilons ** 2, "k--", lw=0.8, label="slope 2 (truncation)")
    ax.loglog(epsilons, 1e-16 / epsilons, "k-.", lw=0.8, label="slope -1 (round-off)")
    ax.set_ylim(1e-13, 10)
    ax.set_xlabel("eps")
    ax.set_ylabel("median |central difference - f'(x)|")
    ax.legend(fontsize=8)


lesson.figure("error_vs_eps.png", draw_v, size=5,
              title="the V of central differences (dotted: u^(1/3))")

# %%
failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
