"""The search syntax, checked against a brute-force reading of the real catalog."""

from __future__ import annotations

import pytest

from kmodgui.core.catalog import load_catalog
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord, ModuleState, Parameter
from kmodgui.ui.search import SearchText, Term, fold, matches, parse_query


def test_parse_query_prefixes_and_plain_terms() -> None:
    assert parse_query("  Param:Debug  usb-storage alias:pci:v00008086* ") == [
        Term("parameters", "debug"), Term("everything", "usb_storage"),
        Term("aliases", "pci:v00008086*")]
    assert parse_query("nosuch:thing") == [Term("everything", "nosuch:thing")]
    assert parse_query("param:") == []
    assert parse_query("") == []


def test_fields_are_kept_apart() -> None:
    record = ModuleRecord(
        name="snd-dummy", state=ModuleState.AVAILABLE, description="Dummy soundcard",
        aliases=["platform:snd_dummy"], authors=["Jaroslav Kysela"],
        parameters=[Parameter("pcm_devs"), Parameter("mixer_volume_level_min")],
        path="/lib/modules/x/kernel/sound/drivers/snd-dummy.ko")
    text = SearchText.of(record)
    assert matches(text, parse_query("snd_dummy"))
    assert matches(text, parse_query("SOUNDCARD kysela"))
    assert matches(text, parse_query("param:pcm_devs"))
    assert not matches(text, parse_query("param:soundcard"))
    assert matches(text, parse_query("file:sound/drivers"))
    assert not matches(text, parse_query("author:dummy"))
    assert not matches(text, parse_query("soundcard nothere"))
    assert fold("USB-Storage") == "usb_storage"


@pytest.fixture(scope="module")
def catalog_records(kernel_root: Root) -> list[ModuleRecord]:
    return list(load_catalog(kernel_root, use_cache=False).records.values())


@pytest.mark.parametrize(("query", "expect"), [
    ("param:debug", lambda r: any("debug" in p.name.lower() for p in r.parameters)),
    ("alias:usb:v05ac", lambda r: any("usb:v05ac" in a.lower() for a in r.aliases)),
    ("author:torvalds", lambda r: any("torvalds" in a.lower() for a in r.authors)),
    ("ext", lambda r: any("ext" in f.lower().replace("-", "_") for f in (
        r.name, r.description, *r.aliases, *r.authors, *(p.name for p in r.parameters),
        r.path or ""))),
])
def test_queries_on_the_real_catalog(catalog_records: list[ModuleRecord], query: str,
                                     expect: object) -> None:
    terms = parse_query(query)
    found = {r.name for r in catalog_records if matches(SearchText.of(r), terms)}
    wanted = {r.name for r in catalog_records if expect(r)}  # type: ignore[operator]
    assert found == wanted
    assert found, f"{query} should find something in a real kernel"
