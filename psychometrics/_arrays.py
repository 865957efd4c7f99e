"""Shared array helpers: response matrices with missing values, pattern weights.

Kept private: the public modules accept anything array-like and call these, so a
caller can pass lists, numpy arrays or the rows a CSV reader produced.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def as_response_matrix(data: ArrayLike) -> FloatArray:
    """A 2-D float matrix (persons × items) with NaN for missing answers.

    ``None`` entries become NaN; a 1-D input is read as one item.
    """
    if isinstance(data, np.ndarray) and data.dtype != object:
        matrix = np.array(data, dtype=float)
    else:
        rows = np.asarray(data, dtype=object)
        matrix = np.where(rows == None, np.nan, rows).astype(float)  # noqa: E711 (elementwise)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2:
        raise ValueError(f"expected a persons × items matrix, got {matrix.ndim} dimensions")
    if np.isinf(matrix).any():
        raise ValueError("responses must be finite numbers or missing (NaN)")
    return matrix


def as_weights(weights: ArrayLike | None, n: int) -> FloatArray:
    """Pattern frequencies (the ``count`` column): non-negative, one per row, default 1."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"expected {n} weights, got {w.shape[0]}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    return w


def expand_patterns(data: ArrayLike, weights: ArrayLike) -> FloatArray:
    """Repeat each row ``weights[i]`` times (integer counts) — for tools that take raw rows."""
    matrix = as_response_matrix(data)
    counts = np.asarray(weights)
    if not np.all(counts == np.round(counts)):
        raise ValueError("expanding patterns needs integer counts")
    return np.repeat(matrix, counts.astype(int), axis=0)


def collapse_patterns(codes: IntArray, weights: FloatArray) -> tuple[IntArray, FloatArray]:
    """Merge identical rows of category codes (−1 = missing), summing their weights.

    Likelihoods depend on the pattern only. Rows come back in lexicographic order.
    Each row is compared as one byte string (codes + 1 as big-endian 16-bit
    integers, so byte order is numeric order): an order of magnitude faster than
    ``np.unique(axis=0)``, which compares field by field.
    """
    keep = weights > 0
    codes, weights = codes[keep], weights[keep]
    if codes.size and (codes.min() < -1 or codes.max() >= np.iinfo(np.uint16).max):
        unique, inverse = np.unique(codes, axis=0, return_inverse=True)
    else:
        packed = np.ascontiguousarray(codes + 1, dtype=">u2")
        rows = packed.view(np.dtype((np.void, packed.itemsize * packed.shape[1]))).reshape(-1)
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        unique = codes[first]
    return unique, np.bincount(inverse.reshape(-1), weights=weights, minlength=unique.shape[0])


def item_names(names: Sequence[str] | None, n_items: int, prefix: str = "item") -> tuple[str, ...]:
    if names is None:
        return tuple(f"{prefix}{j + 1}" for j in range(n_items))
    names = tuple(str(name) for name in names)
    if len(names) != n_items:
        raise ValueError(f"expected {n_items} item names, got {len(names)}")
    return names
