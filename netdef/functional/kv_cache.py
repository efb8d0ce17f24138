"""KV-cache update: TensorRT's IKVCacheUpdateLayer (write new keys or values into a preallocated cache).

A TensorRT-native op with no torch counterpart, so not registered in ``netdef.functional``: import it from here.
"""

from __future__ import annotations

from netdef._trt import trt
from netdef.functional._common import is_float, require_tensor, wrap
from netdef.tensor import Tensor


def kv_cache_update(cache: Tensor, update: Tensor, write_indices: Tensor) -> Tensor:
    """The cache (B, N, S_max, H) with ``update`` (B, N, S, H) written at ``write_indices[b]`` per sequence.

    ``cache`` must be a network input with a static S_max, and the result must become a network output:
    TensorRT updates the cache in place, so an engine binds one buffer to both. ``write_indices`` is int32 or
    int64 (B,); writes past S_max are undefined in TensorRT (the reference interpreter refuses them).
    """
    op = "kv_cache_update"
    for name, t in (("cache", cache), ("update", update), ("write_indices", write_indices)):
        require_tensor(op, t, name)
    ctx = cache.ctx
    if not hasattr(ctx.network, "add_kv_cache_update"):
        raise ctx.error(op, "this TensorRT has no IKVCacheUpdateLayer (TensorRT-RTX 1.7 and TensorRT 10.15+ do)")
    if not cache.itensor.is_network_input:
        raise ctx.error(op, f"the cache `{cache.name}` must be a network input (TensorRT updates it in place)")
    if cache.ndim != 4 or update.ndim != 4 or not is_float(cache) or update.dtype != cache.dtype:
        raise ctx.error(
            op,
            f"cache and update must be 4-D of one float dtype, got {cache.dtype.name} {cache.shape} and "
            f"{update.dtype.name} {update.shape}",
        )
    if cache.static_shape[2] < 0:
        raise ctx.error(op, f"the cache's sequence dim (2) must be static (the max context), got {cache.shape}")
    if write_indices.dtype.name not in ("INT32", "INT64") or write_indices.ndim != 1:
        raise ctx.error(op, f"write_indices must be int (B,), got {write_indices.dtype.name} {write_indices.shape}")

    def make(net):
        return net.add_kv_cache_update(cache.itensor, update.itensor, write_indices.itensor, trt.KVCacheMode.LINEAR)

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)
