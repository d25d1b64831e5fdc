"""Calibrated per-field confidence: fit a map from a raw confidence to the probability that the field is correct,
and measure how well confidences are calibrated and how well they rank right answers above wrong ones.

Calibrators: isotonic regression (pool adjacent violators, a monotone piecewise-linear map) and Platt scaling
(a logistic regression on the logit of the raw confidence). Each is a few lines, so they are written here rather
than adding scikit-learn as a dependency. A fitted `Calibrator` is a small frozen value that saves to JSON.

Metrics: expected calibration error over equal-width bins, AUROC (does a correct field get a higher confidence
than a wrong one), accuracy at a given coverage (answer only the most confident fraction), and the reliability
bins behind ECE and its chart. The charts need the [eval] extra (matplotlib), imported only when drawing.
"""

from __future__ import annotations

import json
import math
import numbers
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any, Literal

FORMAT = "reportx-calibration"
VERSION = 1
METHODS = ("isotonic", "platt", "identity")
_EPS = 1e-6  # raw confidences are clipped to [_EPS, 1 - _EPS] before the logit
_RIDGE = 1e-6  # Platt: a tiny L2 pull toward the identity (a=1, b=0) keeps Newton's method defined on degenerate data


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def _sigmoid(s: float) -> float:
    if s >= 0:
        return 1 / (1 + math.exp(-s))
    e = math.exp(s)
    return e / (1 + e)


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"calibration: {what} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Calibrator:
    """A fitted map from raw confidence to calibrated probability.

    method "isotonic": linear interpolation through the points (xs[i], ys[i]), xs strictly increasing, ys
    non-decreasing in [0, 1], constant beyond the first and last breakpoint. method "platt":
    p = sigmoid(a * logit(x) + b) = 1 / (1 + exp(-(a * logit(x) + b))), x clipped to [1e-6, 1 - 1e-6]; a=1, b=0 is
    the identity. method "identity": the raw confidence, clamped to [0, 1]. n: examples it was fitted on.
    """

    method: str
    xs: tuple[float, ...] = ()
    ys: tuple[float, ...] = ()
    a: float = 1.0
    b: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"calibration: unknown method {self.method!r} (expected one of {', '.join(METHODS)})")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise ValueError(f"calibration: n must be a non-negative integer, got {self.n!r}")
        _finite(self.a, "a"), _finite(self.b, "b")
        if self.method != "isotonic":
            return
        xs = [_finite(x, "a breakpoint") for x in self.xs]
        ys = [_finite(y, "a breakpoint value") for y in self.ys]
        if not xs or len(xs) != len(ys):
            raise ValueError("calibration: isotonic needs as many breakpoint values (ys) as breakpoints (xs), at least one")
        if any(x1 <= x0 for x0, x1 in pairwise(xs)):
            raise ValueError("calibration: isotonic breakpoints (xs) must be strictly increasing")
        if any(y1 < y0 for y0, y1 in pairwise(ys)) or ys[0] < 0 or ys[-1] > 1:
            raise ValueError("calibration: isotonic values (ys) must be non-decreasing and within [0, 1]")

    def apply(self, p: float) -> float:
        """The calibrated probability for raw confidence p, always in [0, 1]."""
        p = min(max(_finite(p, "a confidence"), 0.0), 1.0)
        if self.method == "platt":
            return _sigmoid(self.a * _logit(p) + self.b)
        if self.method == "identity":
            return p
        xs, ys = self.xs, self.ys
        if p <= xs[0]:
            return ys[0]
        if p >= xs[-1]:
            return ys[-1]
        i = bisect_right(xs, p)
        t = (p - xs[i - 1]) / (xs[i] - xs[i - 1])
        return min(max(ys[i - 1] + t * (ys[i] - ys[i - 1]), 0.0), 1.0)

    def apply_many(self, ps: Iterable[float]) -> list[float]:
        return [self.apply(p) for p in ps]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: format, version, method, n and the method's parameters."""
        out: dict[str, Any] = {"format": FORMAT, "version": VERSION, "method": self.method, "n": self.n}
        if self.method == "isotonic":
            out.update(xs=list(self.xs), ys=list(self.ys))
        elif self.method == "platt":
            out.update(a=self.a, b=self.b)
        return out

    @classmethod
    def from_json(cls, d: Any) -> Calibrator:
        """The inverse of to_json; anything malformed raises ValueError with a one-line message."""
        if not isinstance(d, dict):
            raise ValueError(f"calibration: expected a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT or d.get("version") != VERSION:
            raise ValueError(f"calibration: not a {FORMAT} version {VERSION} file "
                             f"(format {d.get('format')!r}, version {d.get('version')!r})")
        method = d.get("method")
        if method == "isotonic":
            if not isinstance(d.get("xs"), list) or not isinstance(d.get("ys"), list):
                raise ValueError("calibration: isotonic needs lists xs and ys")
            return cls(method, xs=tuple(d["xs"]), ys=tuple(d["ys"]), n=d.get("n", 0))
        if method == "platt":
            if "a" not in d or "b" not in d:
                raise ValueError("calibration: platt needs a and b")
            return cls(method, a=_finite(d["a"], "a"), b=_finite(d["b"], "b"), n=d.get("n", 0))
        return cls(str(method), n=d.get("n", 0))

    def save(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str) -> Calibrator:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"calibration: {path} is not JSON ({exc})") from None
        return cls.from_json(data)


def _check(confidences: Iterable[float], correct: Iterable[bool]) -> tuple[list[float], list[bool]]:
    conf = [_finite(p, "a confidence") for p in confidences]
    ok = [bool(c) for c in correct]
    if not conf:
        raise ValueError("calibration: no examples")
    if len(conf) != len(ok):
        raise ValueError(f"calibration: {len(conf)} confidences but {len(ok)} outcomes")
    if any(p < 0 or p > 1 for p in conf):
        raise ValueError("calibration: confidences must lie in [0, 1]")
    return conf, ok


def fit_isotonic(confidences: Iterable[float], correct: Iterable[bool]) -> Calibrator:
    """Isotonic regression by pool adjacent violators. Equal confidences are pooled first; each block keeps its
    weight (count), its confidence sum and its correct count; a block whose accuracy exceeds the next one's merges
    with it. Breakpoints sit at the blocks' mean confidences, values are the blocks' accuracies."""
    conf, ok = _check(confidences, correct)
    blocks: list[list[float]] = []  # [weight, mean confidence, correct count]
    for p, group in groupby(sorted(zip(conf, ok, strict=True)), key=lambda pair: pair[0]):
        outcomes = [c for _, c in group]
        blocks.append([float(len(outcomes)), p, float(sum(outcomes))])
        while len(blocks) > 1 and blocks[-2][2] / blocks[-2][0] > blocks[-1][2] / blocks[-1][0]:
            w, m, k = blocks.pop()
            w0, m0, k0 = blocks[-1]
            blocks[-1] = [w0 + w, (w0 * m0 + w * m) / (w0 + w), k0 + k]
    xs = tuple(m for _, m, _ in blocks)
    ys = tuple(min(max(k / w, 0.0), 1.0) for w, _, k in blocks)
    return Calibrator("isotonic", xs=xs, ys=ys, n=len(conf))


def _platt_loss(zs: list[float], ts: list[float], a: float, b: float) -> float:
    loss = 0.5 * _RIDGE * ((a - 1) ** 2 + b**2)
    for z, t in zip(zs, ts, strict=True):
        s = a * z + b
        loss += max(s, 0.0) + math.log1p(math.exp(-abs(s))) - t * s
    return loss


def fit_platt(confidences: Iterable[float], correct: Iterable[bool], iterations: int = 200) -> Calibrator:
    """Platt scaling: p = sigmoid(a * logit(x) + b), fitted by Newton's method with step halving on the
    cross-entropy against Platt's smoothed targets ((N+ + 1) / (N+ + 2) for correct, 1 / (N- + 2) for wrong),
    which keep the parameters finite on separable data. Deterministic."""
    conf, ok = _check(confidences, correct)
    pos = sum(ok)
    hi, lo = (pos + 1) / (pos + 2), 1 / (len(ok) - pos + 2)
    zs, ts = [_logit(p) for p in conf], [hi if c else lo for c in ok]
    a, b = 1.0, 0.0
    loss = _platt_loss(zs, ts, a, b)
    for _ in range(iterations):
        ga, gb, haa, hab, hbb = _RIDGE * (a - 1), _RIDGE * b, _RIDGE, 0.0, _RIDGE
        for z, t in zip(zs, ts, strict=True):
            p = _sigmoid(a * z + b)
            w = p * (1 - p)
            ga, gb = ga + (p - t) * z, gb + (p - t)
            haa, hab, hbb = haa + w * z * z, hab + w * z, hbb + w
        det = haa * hbb - hab * hab
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        step, new = 1.0, _platt_loss(zs, ts, a - da, b - db)
        while new > loss and step > 1e-10:  # halve the step until the loss does not rise
            step /= 2
            new = _platt_loss(zs, ts, a - step * da, b - step * db)
        if new > loss:
            break
        a, b, loss = a - step * da, b - step * db, new
        if max(abs(step * da), abs(step * db)) < 1e-10:
            break
    return Calibrator("platt", a=a, b=b, n=len(conf))


#: The maps a calibration can be fitted as, by :attr:`Calibrator.method` name.
FITTERS = {"isotonic": fit_isotonic, "platt": fit_platt}


def reliability_bins(confidences: Iterable[float], correct: Iterable[bool], bins: int = 10) -> list[dict[str, float]]:
    """Equal-width bins over [0, 1] (the last includes 1.0); per non-empty bin: lo, hi, count, mean_confidence,
    accuracy."""
    conf, ok = _check(confidences, correct)
    if bins < 1:
        raise ValueError("calibration: bins must be at least 1")
    acc: list[list[float]] = [[0, 0.0, 0.0] for _ in range(bins)]  # count, sum of confidence, sum of correct
    for p, c in zip(conf, ok, strict=True):
        cell = acc[min(int(p * bins), bins - 1)]
        cell[0], cell[1], cell[2] = cell[0] + 1, cell[1] + p, cell[2] + c
    return [{"lo": i / bins, "hi": (i + 1) / bins, "count": int(n), "mean_confidence": s / n, "accuracy": k / n}
            for i, (n, s, k) in enumerate(acc) if n]


def expected_calibration_error(confidences: Iterable[float], correct: Iterable[bool], bins: int = 10) -> float:
    """Sum over bins of (bin count / n) * |bin accuracy - bin mean confidence|."""
    cells = reliability_bins(confidences, correct, bins)
    n = sum(c["count"] for c in cells)
    return sum(c["count"] / n * abs(c["accuracy"] - c["mean_confidence"]) for c in cells)


def auroc(confidences: Iterable[float], correct: Iterable[bool]) -> float | None:
    """P(a correct item's confidence > a wrong item's), ties counting 1/2; None if all correct or all wrong."""
    conf, ok = _check(confidences, correct)
    pos = sum(ok)
    neg = len(ok) - pos
    if not pos or not neg:
        return None
    wins, wrong_below = 0.0, 0
    for _, group in groupby(sorted(zip(conf, ok, strict=True)), key=lambda pair: pair[0]):  # one group per tie
        outcomes = [c for _, c in group]
        right, wrong = sum(outcomes), len(outcomes) - sum(outcomes)
        wins += right * (wrong_below + wrong / 2)
        wrong_below += wrong
    return wins / (pos * neg)


def accuracy_at_coverage(confidences: Iterable[float], correct: Iterable[bool], coverage: float) -> float:
    """Accuracy over the ceil(coverage * n) most confident items (ties: earlier items first); coverage in (0, 1]."""
    conf, ok = _check(confidences, correct)
    if not 0 < coverage <= 1:
        raise ValueError(f"calibration: coverage must be in (0, 1], got {coverage!r}")
    k = max(1, math.ceil(round(coverage * len(conf), 9)))
    order = sorted(range(len(conf)), key=lambda i: (-conf[i], i))[:k]
    return sum(ok[i] for i in order) / k


def _chart(path: Path | str, draw: Any, xlabel: str, ylabel: str, title: str,
           legend: Literal["upper left", "lower left"]) -> None:
    """Matplotlib with no display (Agg): a new figure, draw(ax), labels, grid, legend, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    draw(ax)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8, loc=legend)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_reliability_chart(path: Path | str, systems: dict[str, tuple[list[float], list[bool]]]) -> None:
    """Accuracy against mean confidence per bin, one line per system, with the diagonal (PNG, no display)."""

    def draw(ax: Any) -> None:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
        for name, (conf, ok) in systems.items():
            cells = reliability_bins(conf, ok)
            ax.plot([c["mean_confidence"] for c in cells], [c["accuracy"] for c in cells], marker="o",
                    label=f"{name} (ECE {expected_calibration_error(conf, ok):.3f})")
        ax.set(xlim=(0, 1), ylim=(0, 1))

    _chart(path, draw, "mean confidence", "accuracy", "Reliability (10 equal-width bins)", "upper left")


def write_coverage_chart(path: Path | str, systems: dict[str, tuple[list[float], list[bool]]]) -> None:
    """Accuracy of the most confident fraction against that fraction, 5% to 100%, one line per system (PNG)."""
    coverages = [i / 20 for i in range(1, 21)]

    def draw(ax: Any) -> None:
        for name, (conf, ok) in systems.items():
            ax.plot([100 * c for c in coverages], [100 * accuracy_at_coverage(conf, ok, c) for c in coverages],
                    marker=".", label=name)
        ax.set(xlim=(0, 100), ylim=(0, 100))

    _chart(path, draw, "coverage % (most confident fields answered)", "accuracy %", "Accuracy at coverage", "lower left")
