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
    linear,
    matmul,
    normalization,
    padding,
    pooling,
    reduction,
    resize,
    shape,
    unary,
)
from netdef.functional.registry import OPS

# the ops replace the family modules of the same name (linear, dropout, embedding), as torch's F.linear
globals().update({name: info.function for name, info in OPS.items()})

__all__ = sorted(OPS)
