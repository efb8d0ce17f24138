"""Parse an ONNX model with the installed TensorRT's own ONNX parser.

The result is NVIDIA's mapping of the model onto an ``INetworkDefinition`` (created with the flags netdef
uses), which ``netdef.reference.run`` evaluates like any other network: an independent check of the
interpreter's semantics, and a way to inspect or run exported models next to hand-written ones.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

from netdef._trt import LOGGER, NETWORK_FLAGS, builder, trt
from netdef.errors import NetdefError

#: id(network) -> the parser that made it. The parser owns the network's weights, so it lives exactly
#: as long as the network (released by a weakref finalizer).
_PARSERS: dict[int, object] = {}


def parse(model: str | os.PathLike | bytes) -> trt.INetworkDefinition:
    """A new INetworkDefinition from an ONNX file path, serialized bytes, or an ``onnx.ModelProto``.

    Raises NetdefError listing every node the parser rejected (index, name, operator, reason).
    """
    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    network = builder().create_network(NETWORK_FLAGS)
    parser = trt.OnnxParser(network, LOGGER)
    mark = len(LOGGER.messages)
    if isinstance(model, (bytes, bytearray, memoryview)):
        where = "the ONNX model"
        ok = parser.parse(bytes(model))
    else:
        path = Path(model)
        if not path.is_file():
            raise NetdefError(f"{path}: no such ONNX file")
        where = str(path)
        ok = parser.parse_from_file(str(path))  # reads external data next to the file too
    if not ok:
        problems = []
        for i in range(parser.num_errors):
            e = parser.get_error(i)
            node = f"node {e.node()} `{e.node_name()}` ({e.node_operator()})" if e.node() >= 0 else "the model"
            problems.append(f"  {node}: {e.desc()} [{e.code().name}]")
        problems += [f"  {m}" for m in LOGGER.errors_since(mark) if all(m not in p for p in problems)]
        raise NetdefError(f"TensorRT's ONNX parser rejected {where}:\n" + "\n".join(problems or ["  no reason given"]))
    _PARSERS[id(network)] = parser
    weakref.finalize(network, _PARSERS.pop, id(network), None)
    return network
