"""Issue 12 on a kernel booted with ``module.sig_enforce=1``: the workbench's module refused.

Run inside the guest as ``kmguser`` before scn_locked.py (which ends by
switching module loading off). The unsigned build is refused by the page
before any helper call, and by the kernel when sent anyway, with the
signature explanation; the copy signed with our own key (not enrolled) is
refused too, explained the same way. (With signatures enforced the kernel
turns ENOKEY, "Required key not available", into EKEYREJECTED and says
"Loading of module with unavailable key is rejected": kernel/module/signing.c.)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from guestlib import HelperError, KernelLog, insert_file, loaded
from scn_workbench import helper_up

from kmodgui.client import HelperError as ClientError
from kmodgui.client import explain

NAME = "simplemodule"


def test_the_page_says_why_before_asking(qtbot: Any, mods: Path, tmp_path: Path) -> None:
    from kmodgui.core.paths import Root
    from kmodgui.ui.operations import Operations
    from kmodgui.ui.workbench_page import WorkbenchPage

    folder = tmp_path / NAME
    folder.mkdir()
    shutil.copy(mods / f"{NAME}.ko", folder)
    sent: list[object] = []

    class Client:
        def start(self, request: object, on_reply: object, on_error: object) -> None:
            sent.append(request)

    page = WorkbenchPage(Root.create(), Operations(Client()))
    qtbot.addWidget(page)
    page.set_folder(folder)
    page.load_button.click()
    assert sent == []                                   # no password prompt for a sure refusal
    text = page.notice.text()
    assert "loads only signed modules" in text and "module.sig_enforce is on" in text, text
    assert "kmodgui keygen" in text and "mokutil --import" in text


@pytest.mark.parametrize(("file", "kernel_words"), [
    (f"{NAME}.ko", "Loading of unsigned module is rejected"),
    # signed, but by a key the kernel does not know
    (f"{NAME}-signed.ko", "Loading of module with unavailable key is rejected"),
])
def test_the_kernel_refuses_and_it_is_explained(mods: Path, file: str,
                                                 kernel_words: str) -> None:
    helper_up()
    log = KernelLog()
    with pytest.raises(HelperError) as refused:
        insert_file(mods / file)
    error = refused.value
    assert error.short == "SignatureRejected", error
    assert any(kernel_words in line for line in log.new()), log.new()
    # the kernel's line names no module ("Loading of ... is rejected"): a user who may not
    # read the kernel log is told only that it exists (the helper's kernel-log filtering)
    assert error.kernel_log == ["1 other kernel message not shown"], error.kernel_log
    explanation = explain(ClientError(error.name, error.message, error.kernel_log), module=NAME)
    assert explanation.title == "Signature rejected"
    assert "signed with a trusted key" in explanation.text
    assert NAME not in loaded()
    print(f"{file}: {error.name}: {error.message} {error.kernel_log}")
