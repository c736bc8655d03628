"""What modprobe will do, worked out from the catalog before any privileged call.

The window shows these plans in its confirmations, so that a user sees what
will be loaded or what is in the way without a password prompt.
"""

from __future__ import annotations

from collections.abc import Callable

from kmodgui.core.records import ModuleRecord

Lookup = Callable[[str], ModuleRecord | None]


def load_plan(name: str, lookup: Lookup) -> list[str]:
    """Modules ``modprobe name`` inserts, in order: soft pre-deps, dependencies first, the
    module, soft post-deps (as ``modprobe --show-depends`` lists them)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(current: str, stack: tuple[str, ...]) -> None:
        if current in seen or current in stack:
            return
        record = lookup(current)
        if record is not None:
            for pre in record.softdep_pre:
                visit(pre, (*stack, current))
            for dep in record.depends:
                visit(dep, (*stack, current))
        seen.add(current)
        order.append(current)
        if record is not None:
            for post in record.softdep_post:
                visit(post, (*stack, current))

    visit(name, ())
    return order


def already_loaded(names: list[str], lookup: Lookup) -> list[str]:
    """The names in ``names`` that are loaded or built in (modprobe skips them)."""
    out: list[str] = []
    for name in names:
        record = lookup(name)
        if record is not None and (record.loaded or record.state.value == "builtin"):
            out.append(name)
    return out
