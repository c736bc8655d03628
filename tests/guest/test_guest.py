"""The real-kernel tier: results of the guests booted under qemu (issue 6).

Each guest configuration in ``conftest.PLANS`` boots once; its scenario
files (``inside/scn_*.py``) run there under pytest as an unprivileged user
against the helper started by D-Bus activation. Here every scenario becomes
one host test, failing with the guest's own report and console log.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Callable

import pytest
from plans import PLANS, Outcome, scenario_names

pytestmark = pytest.mark.guest


def test_harness_boots_and_runs_as_root_and_as_user(guest: Callable[[str], Outcome]) -> None:
    """Before any project code: the guest boots, root loads a module, a user is a user."""
    outcome = guest("default")
    steps = outcome.steps
    assert "kmgtest: powering off" in outcome.run.console_text(), outcome.diagnostics()
    assert outcome.run.returncode == 0, outcome.diagnostics()
    assert steps["modprobe-dummy"]["rc"] == 0, steps["modprobe-dummy"]
    assert "dummy" in steps["lsmod"]["stdout"].split()
    links = steps["ip-link"]["stdout"]
    assert ": dummy0:" in links
    assert ": dummy1:" in links
    assert ": dummy2:" not in links
    assert steps["rmmod-dummy"]["rc"] == 0, steps["rmmod-dummy"]
    assert steps["id"]["stdout"].strip() == "kmguser"
    assert (outcome.run.out / "dmesg.txt").read_text().count("Linux version") == 1


def test_project_installed_as_a_distribution_does(guest: Callable[[str], Outcome]) -> None:
    """``make -C packaging install`` put the files where dbus-daemon and polkitd look."""
    outcome = guest("default")
    install = outcome.steps.get("install-project")
    assert install is not None and install["rc"] == 0, outcome.diagnostics()
    files = outcome.steps["installed"]
    assert files["rc"] == 0, files["stderr"]
    assert f"Exec={sysconfig.get_path('scripts')}/kmodgui-helper" in files["stdout"]
    assert 'allow own="org.kmodgui.Helper1"' in files["stdout"]
    assert '<action id="org.kmodgui.load">' in files["stdout"]


def test_helper_started_by_dbus_activation(guest: Callable[[str], Outcome]) -> None:
    """The helper ran because the bus activated it, as root, and served the callers."""
    outcome = guest("default")
    log = (outcome.run.out / "dbus-daemon.log").read_text(errors="replace")
    assert "Successfully activated service 'org.kmodgui.Helper1'" in log, outcome.diagnostics()
    assert "serving org.kmodgui.Helper1" in log
    helper_lines = [line for line in log.splitlines() if line.startswith("kmodgui-helper[")]
    assert any("4242" in line for line in helper_lines)  # it logged the unprivileged caller


SCENARIOS = [(plan, name) for plan in PLANS for name in scenario_names(PLANS[plan])]


@pytest.mark.parametrize(("plan", "scenario"), SCENARIOS,
                         ids=[f"{p}:{n.split('::')[1]}" for p, n in SCENARIOS])
def test_scenario(guest: Callable[[str], Outcome], plan: str, scenario: str) -> None:
    """One scenario as it ran inside the guest."""
    outcome = guest(plan)
    cases = outcome.cases.get(scenario)
    if not cases:
        pytest.fail(f"{scenario} did not run in the {plan!r} guest\n{outcome.diagnostics()}")
    failures = [f"{case}: {failure}" for case, failure in cases if failure]
    if failures:
        pytest.fail("\n\n".join(failures) + "\n\n" + outcome.diagnostics(pytest_output=False))
