"""``kmodgui new``: the smallest complete module, as the kernel-module note writes it.

The note's cycle expects "In init module" in the kernel log and an exit
message on unload; the one parameter (0644) shows a live change in
``/sys/module/NAME/parameters``. ``Kbuild`` is what kbuild reads; the
``Makefile`` is only a wrapper for people who type ``make`` in the folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kmodgui.core.names import MODULE_NAME_MAX, normalize_module_name, valid_module_name
from kmodgui.core.workbench.errors import TemplateError

PARAMETER = "count"

SOURCE = """\
// SPDX-License-Identifier: GPL-2.0
/*
 * {name}: a kernel module made by `kmodgui new`.
 *
 * Build: make        (or: kmodgui build .)
 * Load:  kmodgui insert {name}.ko {parameter}=3
 * Watch: the kernel log shows "{modname}: In init module".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static int {parameter} = 1;
module_param({parameter}, int, 0644);
MODULE_PARM_DESC({parameter}, "A number you can change while the module is loaded");

static int __init {ident}_init(void)
{{
\tpr_info("In init module\\n");
\tpr_info("{parameter} is %d\\n", {parameter});
\treturn 0;
}}

static void __exit {ident}_exit(void)
{{
\tpr_info("In exit module ({parameter} was %d)\\n", {parameter});
}}

module_init({ident}_init);
module_exit({ident}_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("{name}: a module made from the kmodgui template");
MODULE_AUTHOR("{author}");
"""

KBUILD = "obj-m := {name}.o\n"

MAKEFILE = """\
# Builds {name}.ko against the running kernel's headers; KDIR=... for another kernel.
KDIR ?= /lib/modules/$(shell uname -r)/build

all:
\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
\t$(MAKE) -C $(KDIR) M=$(CURDIR) clean
"""


@dataclass(frozen=True)
class TemplateFiles:
    """The three files of a new module, by file name."""

    name: str
    files: dict[str, str]


def check_name(name: str) -> None:
    """Refuse a name kmod would not load (the module name is the file name)."""
    if not valid_module_name(name):
        raise TemplateError(
            f"'{name}' cannot be a module name",
            hint=f"Use up to {MODULE_NAME_MAX} letters, digits, '_' or '-', "
                 "not starting with '-' (for example: simplemodule).")


def render(name: str, *, author: str = "") -> TemplateFiles:
    """The template's files for module ``name`` (validated)."""
    check_name(name)
    modname = normalize_module_name(name)
    # C identifiers cannot start with a digit; KBUILD_MODNAME is the normalised name
    ident = modname if not modname[0].isdigit() else f"mod_{modname}"
    values = {"name": name, "modname": modname, "ident": ident, "parameter": PARAMETER,
              "author": (author or default_author()).replace("\\", "").replace('"', "'")}
    return TemplateFiles(name, {
        f"{name}.c": SOURCE.format(**values),
        "Kbuild": KBUILD.format(**values),
        "Makefile": MAKEFILE.format(**values),
    })


def default_author() -> str:
    """The calling user's name, as a module author line would show it."""
    import pwd

    try:
        entry = pwd.getpwuid(os.getuid())
    except KeyError:
        return "unknown"
    full = entry.pw_gecos.split(",", 1)[0].strip()
    return full or entry.pw_name


def create(name: str, directory: Path, *, author: str = "") -> list[Path]:
    """Write the template into ``directory`` (made if missing); never overwrite a file.

    Returns the files written. Nothing is written when any of them exists.
    """
    template = render(name, author=author)
    targets = [directory / file for file in template.files]
    existing = [p for p in targets if p.exists() or p.is_symlink()]
    if existing:
        raise TemplateError(
            f"{existing[0]} already exists",
            hint="Choose another folder or name; kmodgui new never overwrites files.")
    if directory.exists() and not directory.is_dir():
        raise TemplateError(f"{directory} is not a folder")
    written: list[Path] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for target, text in zip(targets, template.files.values(), strict=True):
            with open(target, "x", encoding="utf-8") as fh:  # "x": never overwrite
                written.append(target)
                fh.write(text)
    except OSError as exc:
        for path in written:  # all three or none
            path.unlink(missing_ok=True)
        raise TemplateError(f"cannot write the module into {directory}: "
                            f"{exc.strerror or exc}") from exc
    return written
