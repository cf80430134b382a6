"""Turning measurements into probabilities: prototype kernels, softmax/sigmoid, and 4-decimal distributions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def round4(probs: Mapping[str, float]) -> dict[str, float]:
    """Round to 4 decimals keeping the sum at 1 (the rounding error goes to the largest entry)."""
    out = {k: round(float(v), 4) for k, v in probs.items()}
    if out:
        top = max(out, key=lambda k: out[k])
        out[top] = round(out[top] + 1.0 - sum(out.values()), 4)
    return out


def distribution(names: Sequence[str], p: np.ndarray) -> dict[str, float]:
    p = np.asarray(p, np.float64)
    p = p / max(p.sum(), 1e-12)
    return round4(dict(zip(names, p.tolist(), strict=True)))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


STUDENT_NU = 2.0
"""Prototype scores use a Student-t kernel ``(1 + d^2 / nu) ^ -((nu + 1) / 2)`` of the scaled distance ``d``
rather than a Gaussian: heavy tails keep a far prototype's probability small but measurable (and image-dependent)
instead of rounding to 0 everywhere."""


def student_t(d2: np.ndarray) -> np.ndarray:
    return (1.0 + np.asarray(d2, np.float64) / STUDENT_NU) ** (-(STUDENT_NU + 1) / 2)


def prototype_probs(x: Sequence[float], protos: Mapping[str, Sequence[float]], scales: Sequence[float]) -> np.ndarray:
    """Student-t scores of the scaled distances from ``x`` to each prototype (normalised), in the prototypes' order."""
    v = np.asarray(x, np.float64)
    s = np.asarray(scales, np.float64)
    d2 = np.array([float((((v - np.asarray(p)) / s) ** 2).sum()) for p in protos.values()])
    k = student_t(d2)
    return k / k.sum()
