"""What modprobe will do, asked of the core before any privileged call.

The window shows these plans in its confirmations, so that a user sees what
will be loaded without a password prompt. The ordering rules are kmod's and
live in :meth:`kmodgui.core.lookup.Lookup.dependency_order`; this module only
keeps one lookup per window and says which steps change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kmodgui.core.errors import KmodguiError
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord


@dataclass(frozen=True)
class PlanStep:
    name: str
    action: str          # insmod, install (a modprobe.d command runs instead), builtin
    present: bool        # already loaded or built in: nothing happens for it


class Planner:
    """Load plans for one root; the lookup's indexes are read once, on first use."""

    def __init__(self, root: Root, records: Callable[[str], ModuleRecord | None]) -> None:
        self._root = root
        self._records = records
        self._lookup: object | None = None

    def invalidate(self) -> None:
        """Forget the indexes and configuration (after depmod or a config change)."""
        self._lookup = None

    def load_plan(self, name: str) -> tuple[list[PlanStep], str]:
        """The steps of ``modprobe name`` in order, and an error message if it cannot work."""
        from kmodgui.core.lookup import Lookup

        try:
            if self._lookup is None:
                self._lookup = Lookup(self._root)
            assert isinstance(self._lookup, Lookup)  # noqa: S101 - set just above
            steps = self._lookup.dependency_order(name)
        except KmodguiError as exc:
            return [PlanStep(name, "insmod", False)], exc.message
        plan: list[PlanStep] = []
        for step in steps:
            record = self._records(step.name)
            present = step.action == "builtin" or (record is not None and record.loaded)
            plan.append(PlanStep(step.name, step.action, present))
        if not plan:
            return [], "blacklisted"
        return plan, ""
