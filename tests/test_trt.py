"""netdef._trt: TensorRT's log lines go through ``logging`` (logger ``netdef.tensorrt``), never to stdout."""

from __future__ import annotations

import logging

import pytest

import netdef
from netdef._trt import LOGGER, NETWORK_FLAGS, builder, trt


def _build_with_an_unused_input() -> bool:
    """A real build about which TensorRT's builder logs a warning ("Unused Input: unused")."""
    network = builder().create_network(NETWORK_FLAGS)
    x = network.add_input("x", trt.float32, (1, 4))
    network.add_input("unused", trt.float32, (1, 4))
    network.mark_output(network.add_activation(x, trt.ActivationType.RELU).get_output(0))
    return builder().build_serialized_network(network, builder().create_builder_config()) is not None


def test_tensorrt_warnings_are_log_records_not_stdout(caplog, capfd):
    mark = len(LOGGER.messages)
    with caplog.at_level(logging.WARNING, logger="netdef.tensorrt"):
        assert _build_with_an_unused_input()
    records = [r for r in caplog.records if r.name == "netdef.tensorrt"]
    assert any(r.levelno == logging.WARNING and "Unused Input: unused" in r.getMessage() for r in records)
    out, err = capfd.readouterr()
    assert "Unused Input" not in out and "Unused Input" not in err  # only logging's handlers print it
    assert any("Unused Input: unused" in m for _, m in LOGGER.messages.since(mark))  # still kept for errors


def test_the_log_level_decides_what_is_emitted(caplog):
    with caplog.at_level(logging.ERROR, logger="netdef.tensorrt"):
        _build_with_an_unused_input()
    assert not [r for r in caplog.records if r.name == "netdef.tensorrt"]
    with caplog.at_level(logging.DEBUG, logger="netdef.tensorrt"):
        _build_with_an_unused_input()
    levels = {r.levelno for r in caplog.records if r.name == "netdef.tensorrt"}
    assert logging.WARNING in levels and levels & {logging.INFO, logging.DEBUG}  # INFO/VERBOSE pass through too


def test_errors_attached_to_netdef_errors_come_from_the_same_stream():
    network = builder().create_network(NETWORK_FLAGS)
    a = network.add_input("a", trt.float32, (1, 4))
    b = network.add_input("b", trt.float32, (3, 5))
    network.mark_output(network.add_elementwise(a, b, trt.ElementWiseOperation.SUM).get_output(0))
    mark = len(LOGGER.messages)
    assert builder().build_serialized_network(network, builder().create_builder_config()) is None
    assert any("broadcast" in e for e in LOGGER.errors_since(mark))


def test_quiet_collects_but_does_not_log(caplog):
    mark = len(LOGGER.messages)
    with caplog.at_level(logging.WARNING, logger="netdef.tensorrt"), LOGGER.quiet():
        _build_with_an_unused_input()
    assert not [r for r in caplog.records if r.name == "netdef.tensorrt"]
    assert any("Unused Input: unused" in m for _, m in LOGGER.messages.since(mark))


def test_one_layer_class_table_for_every_layer_type():
    """netdef._trt.layer_classes: every LayerType but PLUGIN has its concrete class; the engine cache and the
    reference interpreter's handlers read layers through this one table."""
    from netdef._trt import layer_class, layer_classes
    from netdef.reference import _registry
    from netdef.reference.interpreter import _load_handlers

    table = layer_classes()
    assert set(trt.LayerType.__members__) - set(table) <= {"PLUGIN"}
    assert table["CONDITIONAL_INPUT"] is trt.IIfConditionalInputLayer and table["SOFTMAX"] is trt.ISoftMaxLayer
    assert table["PARAMETRIC_RELU"] is trt.IParametricReLULayer and table["ELEMENTWISE"] is trt.IElementWiseLayer
    _load_handlers()
    assert all(cls is table[kind] for kind, (cls, _) in _registry.HANDLERS.items())
    with pytest.raises(netdef.NetdefError, match="no layer class for layer type 'PLUGIN'"):
        layer_class("PLUGIN")
    with pytest.raises(ValueError, match="the class of SOFTMAX is ISoftMaxLayer"):
        _registry.register("SOFTMAX", "ISoftmaxLayer")
