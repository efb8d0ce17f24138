"""Key renaming rules: prefix strip/add and regex maps, applied in order; collisions are errors."""

from __future__ import annotations

from collections import OrderedDict

import pytest

from netdef.errors import WeightsFormatError
from netdef.weights import Rename, Weights, rename_weights


def test_rules_apply_strip_then_regex_then_add():
    rename = Rename(
        strip_prefix="module.", regex=[(r"\.gamma$", ".weight"), (r"^blocks\.", "layer.")], add_prefix="net."
    )
    assert rename("module.blocks.0.norm.gamma") == "net.layer.0.norm.weight"
    assert rename("blocks.1.fc.bias") == "net.layer.1.fc.bias"  # no prefix to strip: kept
    assert rename("head.gamma.x") == "net.head.gamma.x"  # the anchored regex leaves it alone


def test_several_prefixes_are_stripped_in_order():
    rename = Rename(strip_prefix=["module.", "model."])
    assert rename("module.model.fc.weight") == "fc.weight"
    assert rename("model.module.fc.weight") == "module.fc.weight"  # "module." was tried first
    assert rename("fc.weight") == "fc.weight"


def test_regex_map_from_a_dict_with_groups():
    rename = Rename(regex={r"^features\.(\d+)\.": r"layer\1.", "running_var$": "running_var"})
    assert rename("features.12.running_var") == "layer12.running_var"


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="bad regex"):
        Rename(regex=[("(unclosed", "")])
    with pytest.raises(ValueError, match="empty prefix"):
        Rename(strip_prefix="")
    with pytest.raises(ValueError, match="pair"):
        Rename(regex=[("a", "b", "c")])


def test_rename_keeps_order_values_and_the_shaped_flag():
    weights = Weights([("module.b", 1), ("module.a", 2)])
    weights.shaped = False
    out = rename_weights(weights, Rename(strip_prefix="module."), "ckpt.pt")
    assert list(out.items()) == [("b", 1), ("a", 2)]
    assert isinstance(out, Weights) and out.shaped is False
    ordered = rename_weights(OrderedDict([("x", 1)]), Rename(add_prefix="p."))
    assert ordered == {"p.x": 1} and isinstance(ordered, OrderedDict)
    assert rename_weights({"x": 1}, None) == {"x": 1}


def test_collision_names_both_source_keys_and_the_file():
    with pytest.raises(WeightsFormatError) as info:
        rename_weights({"module.fc.weight": 1, "fc.weight": 2}, Rename(strip_prefix="module."), "ckpt.pt")
    message = str(info.value)
    assert message.startswith("ckpt.pt: ")
    assert "'module.fc.weight'" in message and "'fc.weight'" in message and "to 'fc.weight'" in message


def test_a_rule_that_empties_a_name_is_an_error():
    with pytest.raises(WeightsFormatError, match=r"renaming 'module\.' gave ''"):
        rename_weights({"module.": 1}, Rename(strip_prefix="module."))
    with pytest.raises(WeightsFormatError, match="gave None"):
        rename_weights({"a": 1}, lambda name: None)


def test_repr_shows_the_rules():
    text = repr(Rename(strip_prefix="module.", regex={"a": "b"}, add_prefix="p."))
    assert "strip_prefix=('module.',)" in text and "('a', 'b')" in text and "add_prefix='p.'" in text
