"""``kmodgui new``: the template the issue describes, and the names and files it refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kmodgui_helper import validate
from kmodgui_helper.errors import HelperError

from kmodgui.cli import main
from kmodgui.core.names import valid_module_name
from kmodgui.core.workbench.errors import TemplateError
from kmodgui.core.workbench.template import create, render


def test_the_source_has_every_part_of_the_note() -> None:
    files = render("simplemodule", author="Ada").files
    assert list(files) == ["simplemodule.c", "Kbuild", "Makefile"]
    c = files["simplemodule.c"]
    assert '#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt' in c
    assert "static int __init simplemodule_init(void)" in c
    assert "static void __exit simplemodule_exit(void)" in c
    assert 'pr_info("In init module\\n");' in c
    assert re.search(r'pr_info\("In exit module', c)
    assert "module_param(count, int, 0644);" in c
    assert "module_init(simplemodule_init);" in c and "module_exit(simplemodule_exit);" in c
    assert 'MODULE_LICENSE("GPL");' in c
    assert 'MODULE_DESCRIPTION("' in c and 'MODULE_AUTHOR("Ada");' in c
    assert files["Kbuild"] == "obj-m := simplemodule.o\n"


def test_the_makefile_wrapper_uses_real_tabs() -> None:
    makefile = render("simplemodule").files["Makefile"]
    assert "KDIR ?= /lib/modules/$(shell uname -r)/build\n" in makefile
    recipes = [line for line in makefile.splitlines() if "$(MAKE)" in line]
    assert len(recipes) == 2 and all(line.startswith("\t$(MAKE) -C $(KDIR)") for line in recipes)


def test_dashes_and_leading_digits_still_give_c_identifiers() -> None:
    c = render("my-mod").files["my-mod.c"]
    assert "my_mod_init(void)" in c and render("my-mod").files["Kbuild"] == "obj-m := my-mod.o\n"
    assert "static int __init mod_8250x_init(void)" in render("8250x").files["8250x.c"]


def test_author_cannot_break_the_string() -> None:
    c = render("m", author='Eve "\\" x').files["m.c"]
    assert "MODULE_AUTHOR(\"Eve '' x\");" in c


@pytest.mark.parametrize("name", ["", "-x", "a b", "a.b", "a/b", "x" * 56, "ü", "a\n"])
def test_refuses_names_kmod_would_not_accept(name: str, tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot be a module name"):
        create(name, tmp_path / "m")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("name", ["a", "a-b", "a_b", "x" * 55, "Mod9"])
def test_accepts_names_kmod_accepts(name: str) -> None:
    assert valid_module_name(name)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
       | st.from_regex(r"[A-Za-z0-9_-]{0,58}", fullmatch=True))
def test_one_rule_with_the_helper(name: str) -> None:
    """The workbench's name rule is the helper's, so a module it makes can be loaded."""
    try:
        validate.module(name)
        accepted = True
    except HelperError:
        accepted = False
    assert valid_module_name(name) == accepted


def test_refuses_existing_files_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "Kbuild").write_text("mine\n")
    with pytest.raises(TemplateError, match="already exists"):
        create("simplemodule", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Kbuild"]
    assert (tmp_path / "Kbuild").read_text() == "mine\n"


def test_cli_new(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "simplemodule"]) == 0
    out = capsys.readouterr().out
    assert "created simplemodule/simplemodule.c" in out
    assert "next: kmodgui build simplemodule" in out
    assert main(["new", "simplemodule"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "never overwrites" in err
    assert main(["new", "bad name", "x"]) == 1
    assert "cannot be a module name" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
