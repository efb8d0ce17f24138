"""Activation ranges for Q/DQ scales, computed on CPU with the reference interpreter over user data."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netdef._io import atomic_write
from netdef.errors import NetdefError
from netdef.progress import track
from netdef.quantization.points import activation_key, find_points

CACHE_FORMAT = "netdef-calibration/2"
#: caches written before the key was stored: readable, never reused by ``calibrate``
_UNKEYED_FORMATS = ("netdef-calibration/1",)
METHODS = ("max", "percentile", "entropy")

log = logging.getLogger(__name__)


@dataclass
class Calibration:
    """amax (the largest magnitude to represent) per activation input, as ``<layer name>:<slot>``.

    ``key`` records what determined the ranges (see :func:`calibration_key`): the fp32 network's fingerprint
    (structure, layer names and weights), the method and its parameters, and a digest of the data. ``calibrate``
    reuses a cache only when it matches.
    """

    method: str
    amax: dict[str, float] = field(default_factory=dict)
    batches: int = 0
    key: dict[str, object] | None = None

    def save(self, path: str | os.PathLike) -> None:
        """Write the calibration cache (JSON) atomically."""
        payload = {
            "format": CACHE_FORMAT,
            "method": self.method,
            "batches": self.batches,
            "amax": self.amax,
            "key": self.key,
        }
        with atomic_write(path, "w") as f:
            json.dump(payload, f, indent=1, sort_keys=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Calibration:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise NetdefError(f"{path}: unreadable calibration cache ({exc}); delete it to recalibrate") from None
        if not isinstance(data, dict) or data.get("format") not in (CACHE_FORMAT, *_UNKEYED_FORMATS):
            raise NetdefError(f"{path}: not a {CACHE_FORMAT} calibration cache; delete it to recalibrate")
        try:
            amax = {str(k): float(v) for k, v in data["amax"].items()}
            key = data.get("key") if data["format"] == CACHE_FORMAT else None
            if key is not None and not isinstance(key, dict):
                raise TypeError(f"`key` is a {type(key).__name__}, not an object")
            return cls(str(data["method"]), amax, int(data.get("batches", 0)), key)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NetdefError(f"{path}: malformed calibration cache ({exc!r}); delete it to recalibrate") from None


def data_digest(batches: list[Mapping[str, np.ndarray]]) -> str:
    """sha256 over every batch's input names, dtypes, shapes and bytes, in order."""
    h = hashlib.sha256()
    for i, feeds in enumerate(batches):
        for name in sorted(feeds):
            arr = np.ascontiguousarray(np.asarray(feeds[name]))
            h.update(f"{i} {name} {arr.dtype.str} {arr.shape}\n".encode())
            h.update(arr.view(np.uint8).data if arr.size else b"")
    return h.hexdigest()


def calibration_key(network, method: str, percentile: float, num_bins: int) -> dict[str, object]:
    """What the ranges depend on besides the data: the network's content fingerprint (``netdef.cache``: every
    layer's name, type, connections, attributes and weights), the method and the parameters it uses."""
    from netdef.cache import network_fingerprint

    net = getattr(network, "network", network)
    try:
        fingerprint = network_fingerprint(net, getattr(network, "named_weights", None))
    except NetdefError as exc:  # a layer whose content cannot be read: the cache could not tell networks apart
        raise NetdefError(f"the calibration cache cannot key this network ({exc}); calibrate without cache=") from None
    key: dict[str, object] = {"network": fingerprint, "method": method}
    if method != "max":
        key["num_bins"] = int(num_bins)
    if method == "percentile":
        key["percentile"] = float(percentile)
    return key


def _stale(cached: Calibration, key: dict[str, object], data: str | None, needed: set[str]) -> str | None:
    """Why ``cached`` cannot stand for a calibration with ``key`` over data of digest ``data`` (None: unknown,
    the caller gave no batches), or None when it can."""
    if cached.key is None:
        return "it was written by an older netdef that did not record which network and data it was computed for"
    if cached.key.get("network") != key["network"]:
        return "it was computed for another network (different weights, layers or layer names)"
    for name in ("method", "num_bins", "percentile"):
        if cached.key.get(name) != key.get(name):
            return f"it was computed with {name}={cached.key.get(name)!r}, not {key.get(name)!r}"
    if data is not None and cached.key.get("data") != data:
        return "it was computed over other calibration data"
    missing = needed - set(cached.amax)
    if missing:
        return f"it has no range for {len(missing)} of the activations to calibrate (e.g. {sorted(missing)[0]!r})"
    return None


def calibrate(
    network,
    batches: Iterable[Mapping[str, np.ndarray]],
    method: str = "entropy",
    percentile: float = 99.99,
    num_bins: int = 2048,
    cache: str | os.PathLike | None = None,
    skip: tuple[str, ...] = (),
) -> Calibration:
    """Ranges of the activations that feed convs and matmuls, from ``batches`` of feeds run on CPU.

    ``method``: 'max' (largest magnitude seen), 'percentile' (that percentile of magnitudes), or 'entropy'
    (TensorRT's KL-divergence choice over a histogram). With ``cache``, a cache file is reused without running
    the data only when it was computed for this network (same weights and layers, by content), with the same
    method and parameters, over the same ``batches`` (not checked when ``batches`` is empty: the cache alone is
    used) and covers every point; otherwise the data is run and the file rewritten (logged), or, without data,
    the stale cache is refused.
    """
    from netdef.reference import run

    if method not in METHODS:
        raise NetdefError(f"calibration method must be one of {', '.join(METHODS)}, got {method!r}")
    net = getattr(network, "network", network)
    points = find_points(net, skip)
    tensors: dict[str, str] = {}
    for p in points:
        layer = net.get_layer(p.index)
        for slot in p.activations:
            tensors[activation_key(p, slot)] = layer.get_input(slot).name
    batches = list(batches)
    key = calibration_key(network, method, percentile, num_bins) if cache is not None else None
    if key is not None:
        key["data"] = data_digest(batches) if batches else None
    if key is not None and Path(cache).is_file():
        cached = Calibration.load(cache)
        reason = _stale(cached, key, key["data"], set(tensors))
        if reason is None:
            return cached
        if not batches:
            raise NetdefError(
                f"calibration cache {cache} does not fit this calibration: {reason}; pass calibration data to "
                "recalibrate (the cache is then rewritten), or delete the file"
            )
        log.warning("calibration cache %s is not reused: %s; recalibrating and rewriting it", cache, reason)
    if not batches:
        raise NetdefError("calibration needs at least one batch of inputs")
    names = sorted(set(tensors.values()))

    def magnitudes(feeds) -> dict[str, np.ndarray]:
        out = run(network, feeds, outputs=names)
        return {k: np.abs(v.astype(np.float32, copy=False)).ravel() for k, v in out.items()}

    maxima = dict.fromkeys(names, 0.0)
    passes = "1/2" if method != "max" else "1/1"
    for feeds in track(batches, f"calibrating ({method}, pass {passes})"):
        for name, mag in magnitudes(feeds).items():
            maxima[name] = max(maxima[name], float(mag.max(initial=0.0)))
    amax_by_tensor = dict(maxima)
    if method != "max":
        hists = {n: np.zeros(num_bins, np.int64) for n in names}
        for feeds in track(batches, f"calibrating ({method}, pass 2/2)"):
            for name, mag in magnitudes(feeds).items():
                if maxima[name] > 0:
                    hists[name] += np.histogram(mag, bins=num_bins, range=(0.0, maxima[name]))[0]
        for name in names:
            if maxima[name] > 0:
                width = maxima[name] / num_bins
                if method == "percentile":
                    amax_by_tensor[name] = _percentile_amax(hists[name], width, percentile)
                else:
                    amax_by_tensor[name] = _entropy_amax(hists[name], width)
    result = Calibration(method, {k: amax_by_tensor[t] for k, t in tensors.items()}, len(batches), key)
    if cache is not None:
        result.save(cache)
    return result


def _percentile_amax(hist: np.ndarray, width: float, percentile: float) -> float:
    cdf = np.cumsum(hist) / max(hist.sum(), 1)
    return float((np.searchsorted(cdf, percentile / 100.0) + 1) * width)


def _entropy_amax(hist: np.ndarray, width: float, levels: int = 128) -> float:
    """The threshold minimizing KL(P || Q), P the clipped histogram and Q its ``levels``-bin quantization."""
    hist = hist.astype(np.float64)
    best, best_i = np.inf, len(hist)
    for i in range(levels, len(hist) + 1):
        p = hist[:i].copy()
        p[-1] += hist[i:].sum()  # outliers fold into the last kept bin
        nonzero = p > 0
        # quantize the first i bins into `levels` groups, spreading each group's mass over its nonzero bins
        groups = np.minimum((np.arange(i) * levels) // i, levels - 1)
        mass = np.bincount(groups, weights=hist[:i], minlength=levels)
        count = np.bincount(groups, weights=nonzero.astype(np.float64), minlength=levels)
        q = np.where(nonzero, mass[groups] / np.maximum(count[groups], 1), 0.0)
        ps, qs = p.sum(), q.sum()
        if ps == 0 or qs == 0:
            continue
        p_n, q_n = p[nonzero] / ps, q[nonzero] / qs
        kl = float(np.sum(p_n * np.log(p_n / np.maximum(q_n, 1e-12))))
        if kl < best:
            best, best_i = kl, i
    return float((best_i + 0.5) * width)
