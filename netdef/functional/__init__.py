"""netdef.functional: torch.nn.functional-style ops that emit TensorRT layers.

Every op is registered by ``@register_op`` in its family module (``registry.py`` says how); this
package exports exactly the registered ops, so adding an op touches only its family module.
"""

from netdef.functional import (  # noqa: F401 - importing a family module registers its ops
    activation,
    assertion,
    attention,
    constant,
    conv,
    creation,
    cumulative,
    detection,
    dropout,
    dtype,
    elementwise,
    embedding,
    indexing,
    inplace,
    linear,
    loop,
    matmul,
    matrix,
    methods,
    normalization,
    padding,
    pooling,
    rearrange,
    reduction,
    resize,
    rnn,
    shape,
    sorting,
    unary,
    unsupported,
)
from netdef.functional.registry import OPS

# the ops replace the family modules of the same name (linear, dropout, embedding), as torch's F.linear
globals().update({name: info.function for name, info in OPS.items()})

__all__ = sorted(OPS)

# TensorRT's loop construct (ILoop): classes of their own, not ops with a torch counterpart
Loop, Recurrence = loop.Loop, loop.Recurrence


def __getattr__(name: str):
    """``F.fractional_max_pool2d`` and other ops netdef lacks: say so, and where the supported ones are listed."""
    if name.startswith("_"):
        raise AttributeError(f"module 'netdef.functional' has no attribute {name!r}")
    raise unsupported.UnsupportedOpError(unsupported.missing_name_message("netdef.functional", name, __all__))
