"""netdef.reference: a CPU interpreter of TensorRT networks (the semantics netdef's parity checks trust)."""

from netdef.reference.interpreter import run

__all__ = ["run"]
