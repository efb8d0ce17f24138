"""Refit: replace the weights of a refittable engine without rebuilding it (needs a GPU)."""

from __future__ import annotations

import hashlib

import numpy as np

from netdef._trt import LOGGER, trt
from netdef.define import Network
from netdef.errors import EngineError
from netdef.runtime.engine import Engine


def refit(engine: Engine, network: Network) -> list[str]:
    """Load every weight of ``network`` (same model, new weights) into ``engine``; returns the names set.

    Weights are matched by their refit names, ``<module path>/<op>.<role>`` (e.g. ``conv1/conv.kernel``),
    which netdef derives from module paths, so a network defined from the same model class lines up.
    """
    if not engine.engine.refittable:
        raise EngineError("this engine was not built refittable: rebuild it with build(..., refit=True)")
    refitter = trt.Refitter(engine.engine, LOGGER)
    wanted = list(refitter.get_all_weights())
    missing = [n for n in wanted if n not in network.named_weights]
    if missing:
        raise EngineError(
            f"the network lacks {len(missing)} weights the engine holds ({', '.join(missing[:6])}...): "
            "refit needs a network defined from the same model class, inputs and precision"
        )
    mark = len(LOGGER.messages)
    for name in wanted:
        arr = np.ascontiguousarray(network.named_weights[name])
        if not refitter.set_named_weights(name, trt.Weights(arr)):
            problems = "; ".join(LOGGER.errors_since(mark))
            raise EngineError(f"TensorRT refused new weights for {name!r} ({arr.dtype}, {arr.size} values): {problems}")
    if not refitter.refit_cuda_engine():
        raise EngineError("refit failed: " + ("; ".join(LOGGER.errors_since(mark)) or "TensorRT gave no reason"))
    if engine.metadata:
        data = bytes(engine.engine.serialize())
        engine.metadata.update(
            weights_sha256=network.weights_digest,
            engine_sha256=hashlib.sha256(data).hexdigest(),
            engine_bytes=len(data),
        )
    return wanted
