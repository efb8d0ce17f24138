"""If-conditionals (IIfConditional): the condition, input and output layers.

Both branches are evaluated (TensorRT layers have no side effects); the output layer then returns its
true-branch or false-branch input. The interpreter hands the output layer the tested condition as a
last input.
"""

from __future__ import annotations

from netdef.reference._registry import register


@register("CONDITION", "IConditionLayer")
def condition(layer, inputs):
    return []


@register("CONDITIONAL_INPUT", "IIfConditionalInputLayer")
def conditional_input(layer, inputs):
    return [inputs[0]]


@register("CONDITIONAL_OUTPUT", "IIfConditionalOutputLayer")
def conditional_output(layer, inputs):
    if_true, if_false, condition = inputs
    return [if_true if bool(condition.reshape(-1)[0]) else if_false]
