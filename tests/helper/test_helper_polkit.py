"""Fail closed: a polkit that errs, answers nonsense or never answers authorises nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from helperbus import HERE, LIBRARIES, HelperBus, private_bus

pytestmark = pytest.mark.bus

POLKITD_USER = "polkitd"
TIMEOUT = 2.0


@pytest.fixture(scope="module", params=LIBRARIES)
def fake_bus(request: pytest.FixtureRequest) -> Iterator[HelperBus]:
    """A private bus whose polkit is the misbehaving ``fake_polkit.py``."""
    with private_bus(request.param, polkit=False,
                     helper_env={"KMODGUI_HELPER_POLKIT_TIMEOUT": str(TIMEOUT)}) as bus:
        fake = subprocess.Popen(
            ["setpriv", f"--reuid={POLKITD_USER}", f"--regid={POLKITD_USER}",
             "--clear-groups", sys.executable, str(HERE / "fake_polkit.py")],
            env=bus.env, stdout=subprocess.PIPE, cwd="/")
        bus.processes.append(fake)
        assert fake.stdout is not None and fake.stdout.readline() == b"ready\n"
        yield bus


def boot(module: str) -> dict[str, Any]:
    return {"member": "SetLoadAtBoot", "signature": "sba{sv}", "body": [module, True, {}]}


@pytest.mark.parametrize("module", ["pk_error", "pk_garbage", "pk_wrongsig", "pk_hang"])
def test_a_broken_polkit_authorises_nothing(fake_bus: HelperBus, module: str) -> None:
    started = time.monotonic()
    reply = fake_bus.call_root(boot(module))[0]
    assert reply["error_name"] == "org.kmodgui.Error.NotAuthorized", reply
    assert time.monotonic() - started < TIMEOUT + 5
    assert not (fake_bus.root / "etc" / "modules-load.d" / f"kmodgui-{module}.conf").exists()
    # the slot is free again: the control call (granted by the fake) goes through
    target = fake_bus.root / "etc" / "modules-load.d" / "kmodgui-pk_yes.conf"
    assert fake_bus.call_root(boot("pk_yes"))[0]["type"] == "return"
    assert target.exists()
    target.unlink()


def test_interaction_is_offered_to_polkit_only_when_the_call_allows_it(
        fake_bus: HelperBus) -> None:
    without, with_flag = fake_bus.call_root(boot("pk_flags"),
                                            {**boot("pk_flags"), "interactive": True})
    assert without["error_name"] == "org.kmodgui.Error.NotAuthorized", without
    assert with_flag["type"] == "return", with_flag
    (fake_bus.root / "etc" / "modules-load.d" / "kmodgui-pk_flags.conf").unlink()
