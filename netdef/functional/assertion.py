"""Run-time checks of sizes: IAssertionLayer, for what only the run-time shape can answer."""

from __future__ import annotations

from netdef.context import current
from netdef.functional.registry import register_op
from netdef.symbolic import SizeLike, SymInt, assert_compare, decide

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


@register_op(
    "IAssertionLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISliceLayer",
    "IUnaryLayer",
    torch="torch._check",
)
def sym_check(a: SizeLike, cmp: str, b: SizeLike, message: str) -> None:
    """Require ``a <cmp> b`` of sizes (torch._check's role for symbolic sizes).

    Nothing is emitted when it holds at every size the network accepts; an EmitError naming the module is
    raised when it never does; otherwise an IAssertionLayer stops the engine (and the reference interpreter)
    with ``message`` and the module's name.
    """
    ctx = current()
    if cmp not in COMPARISONS:
        raise ctx.error("sym_check", f"cmp must be one of {' '.join(COMPARISONS)}, got {cmp!r}")
    if not isinstance(a, SymInt) and not isinstance(b, SymInt):
        if not decide(cmp, a, b):
            raise ctx.error("sym_check", f"{message} ({a} {cmp} {b} is false)")
        return
    assert_compare(ctx, a, cmp, b, "sym_check", message)
