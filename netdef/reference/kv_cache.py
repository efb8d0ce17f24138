"""IKVCacheUpdateLayer semantics (LINEAR mode, PADDED_BHND updates).

``output[b, :, write_indices[b] + s, :] = update[b, :, s, :]`` for s < S, every other element copied from
``cache`` (B, N, S_max, H). TensorRT updates the cache in place and leaves out-of-range writes undefined;
the interpreter returns a new tensor and refuses such writes.
"""

from __future__ import annotations

from netdef.errors import InterpreterError
from netdef.reference._registry import register


@register("KV_CACHE_UPDATE")
def kv_cache_update(layer, inputs):
    cache, update, write_indices = inputs[0], inputs[1], inputs[2]
    where = f"KV-cache update `{layer.name}`"
    if layer.cache_mode.name != "LINEAR" or layer.update_form.name != "PADDED_BHND":
        raise InterpreterError(f"{where}: only LINEAR mode with PADDED_BHND updates is supported")
    if (
        cache.dim() != 4
        or update.dim() != 4
        or update.shape[:2] != cache.shape[:2]
        or update.shape[3] != cache.shape[3]
    ):
        raise InterpreterError(f"{where}: update {tuple(update.shape)} does not fit cache {tuple(cache.shape)}")
    starts = [int(i) for i in write_indices.reshape(-1).tolist()]
    if len(starts) != cache.shape[0]:
        raise InterpreterError(f"{where}: {len(starts)} write indices for a batch of {cache.shape[0]}")
    out = cache.clone()
    length, capacity = update.shape[2], cache.shape[2]
    for b, start in enumerate(starts):
        if start < 0 or start + length > capacity:
            raise InterpreterError(
                f"{where}: batch {b} writes positions [{start}, {start + length}) outside the cache's {capacity}"
            )
        out[b, :, start : start + length] = update[b]
    return [out]
