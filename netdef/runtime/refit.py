"""Refit: replace the weights of a refittable engine without rebuilding it (needs a GPU)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from netdef._trt import LOGGER, trt
from netdef.errors import EngineError
from netdef.runtime.engine import Engine


def refit(engine: Engine, weights: Mapping[str, np.ndarray], *, weights_sha256: str | None = None) -> list[str]:
    """Load new values for every weight of ``engine`` from ``weights`` (refit name -> array); returns the names set.

    Weights are matched by their refit names, ``<module path>/<op>.<role>`` (e.g. ``conv1/conv.kernel``), which
    netdef derives from module paths: ``netdef.define(model, inputs).named_weights`` of the same model class,
    inputs and precision lines up. ``weights_sha256`` (e.g. ``network.weights_digest``) is recorded in the
    engine's metadata; without it the metadata says the weights are unknown.
    """
    if not isinstance(weights, Mapping):
        hint = " (for a Network, pass network.named_weights)" if hasattr(weights, "named_weights") else ""
        raise EngineError(f"refit takes a mapping of refit name -> array, not a {type(weights).__name__}{hint}")
    if not engine.engine.refittable:
        raise EngineError("this engine was not built refittable: rebuild it with build(..., refit=True)")
    refitter = trt.Refitter(engine.engine, LOGGER)
    wanted = list(refitter.get_all_weights())
    missing = [n for n in wanted if n not in weights]
    if missing:
        raise EngineError(
            f"the weights lack {len(missing)} of the engine's ({', '.join(missing[:6])}...): refit needs the "
            "named_weights of a network defined from the same model class, inputs and precision"
        )
    mark = len(LOGGER.messages)
    for name in wanted:
        arr = np.ascontiguousarray(weights[name])
        if not refitter.set_named_weights(name, trt.Weights(arr)):
            problems = "; ".join(LOGGER.errors_since(mark))
            raise EngineError(f"TensorRT refused new weights for {name!r} ({arr.dtype}, {arr.size} values): {problems}")
    if not refitter.refit_cuda_engine():
        raise EngineError("refit failed: " + ("; ".join(LOGGER.errors_since(mark)) or "TensorRT gave no reason"))
    if engine.metadata:
        data = memoryview(engine.engine.serialize()).cast("B")  # hashed in place: no copy of the plan
        engine.metadata.update(
            weights_sha256=weights_sha256,
            engine_sha256=hashlib.sha256(data).hexdigest(),
            engine_bytes=len(data),
        )
    return wanted
