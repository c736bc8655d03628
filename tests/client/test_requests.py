"""Every client request against the helper's own method table, so the two cannot drift.

Each request is marshalled as the CLI sends it (dbus-fast) and handed to the
helper's own validation (``Method.prepare``): names, signatures and option
keys must be the helper's, and the polkit actions the request names must be
the ones the helper will ask.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kmgtest.tinyko import tiny_ko
from kmodgui_helper import api, validate

from kmodgui.client import requests
from kmodgui.client.bus import marshal
from kmodgui.client.requests import Request
from kmodgui.core.modprobe_config import BlacklistMode
from kmodgui.core.paths import Root


@pytest.fixture(scope="module")
def module_fd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    path: Path = tmp_path_factory.mktemp("ko") / "m.ko"
    path.write_bytes(tiny_ko("m"))
    fd = os.open(path, os.O_RDONLY)
    yield fd
    os.close(fd)


def every_request(fd: int) -> list[Request]:
    """At least one request per helper method, with every option the client can set."""
    return [
        requests.get_capabilities(),
        requests.load("dummy"), requests.load("dummy", {"numdummies": "2"}),
        requests.unload("dummy"), requests.unload("dummy", dependencies=True),
        requests.unload("dummy", force=True),
        requests.insert_file(fd, ["a=1"], module="m"),
        requests.set_parameter("loop", "max_part", "1"),
        requests.set_persistent_options("dummy", {"numdummies": "2"}),
        requests.set_persistent_options("dummy", {}),
        *(requests.set_blacklist("dummy", mode) for mode in BlacklistMode),
        requests.set_load_at_boot("dummy", True), requests.set_load_at_boot("dummy", False),
        requests.rebuild_index("6.1.0-56-amd64"),
    ]


def test_every_helper_method_has_a_request(module_fd: int) -> None:
    assert {r.method for r in every_request(module_fd)} == {m.name for m in api.METHODS}


def test_requests_match_the_helper_table(module_fd: int, tmp_path: Path) -> None:
    table = api.check_table()
    root = Root(tmp_path, "6.1.0-56-amd64")     # an empty system: nothing is loaded
    for request in every_request(module_fd):
        method = table[request.method]
        assert request.types == tuple(sig for _, sig in method.args), request
        assert request.signature == method.signature
        for kind, value in zip(request.types, request.args, strict=True):
            if kind == "a{sv}":
                assert isinstance(value, dict)
                assert set(value) <= set(method.options), request
        body, fds = marshal(request)
        prepared = method.prepare(body, fds, root)  # the helper's validation accepts it
        assert prepared.actions == request.actions, request
        assert set(request.actions) <= set(api.ACTIONS)
        assert request.interactive == (not method.public), request


def test_blacklist_modes_are_the_helpers() -> None:
    assert tuple(m.value for m in BlacklistMode) == validate.BLACKLIST_MODES


def test_what_a_request_concerns() -> None:
    assert requests.load("snd-hda-intel").module == "snd_hda_intel"
    assert requests.set_blacklist("a", BlacklistMode.ALWAYS).args[1] == "always"
    assert [r.changes_configuration for r in (
        requests.load("a"), requests.unload("a"), requests.set_parameter("a", "b", "c"),
        requests.set_persistent_options("a", {}), requests.set_blacklist("a", "none"),
        requests.set_load_at_boot("a", True), requests.rebuild_index("r"))] == [
        False, False, False, True, True, True, True]
    assert requests.get_capabilities().timeout < requests.load("a").timeout


@pytest.mark.parametrize(("request_", "typed"), [
    (requests.load("loop", {"max_loop": "8"}), "modprobe loop max_loop=8"),
    (requests.unload("loop"), "rmmod loop"),
    (requests.unload("bridge", dependencies=True), "modprobe -r bridge"),
    (requests.unload("loop", force=True), "rmmod -f loop"),
    (requests.insert_file(3, ["count=3"], module="simplemodule"), "insmod simplemodule.ko count=3"),
    (requests.set_parameter("dummy", "numdummies", "2"),
     "echo 2 > /sys/module/dummy/parameters/numdummies"),
    (requests.set_persistent_options("dummy", {"numdummies": "2"}),
     "options dummy numdummies=2  (/etc/modprobe.d/kmodgui-dummy.conf)"),
    (requests.set_blacklist("pcspkr", "always"),
     "blacklist pcspkr; install pcspkr /bin/false  (/etc/modprobe.d/kmodgui-pcspkr.conf)"),
    (requests.set_load_at_boot("dummy", True), "dummy  (/etc/modules-load.d/kmodgui-dummy.conf)"),
    (requests.rebuild_index("6.1.0-56-amd64"), "depmod -a 6.1.0-56-amd64"),
])
def test_the_log_says_what_an_admin_would_have_typed(request_: Request, typed: str) -> None:
    assert request_.describe() == typed


def test_every_changing_method_has_its_admin_words(module_fd: int) -> None:
    """A new helper method is not logged as a bare call by accident."""
    for request in every_request(module_fd):
        described = request.describe()
        assert (described.startswith(f"{request.method}(")) == (request.method == "GetCapabilities")
