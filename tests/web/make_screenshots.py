"""Screenshots of the Cockpit page (light and dark) for cockpit/screenshots and the metainfo.

Runs the web tier's real stack (cockpit-ws, the private bus with polkitd and the helper,
headless Chromium) on the captured qemu system over the fetched Debian kernel:

    .venv/bin/python tests/web/make_screenshots.py [OUTDIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))   # the shared test package kmgtest

from webpage import Page  # noqa: E402
from webstack import chromium, cockpit_session, load_by_path, web_system  # noqa: E402

from kmodgui.core.paths import Root  # noqa: E402

WIDTH, HEIGHT = 1400, 860


def kernel_root() -> Root:
    # tests/conftest.py says where tests/fetch-kernel put the tree
    cache = load_by_path("tests_conftest", HERE.parent / "conftest.py").CACHE
    base = cache / "current" / "root"
    releases = sorted(p.name for p in (base / "lib" / "modules").glob("*") if p.is_dir())
    if not releases:
        raise SystemExit(f"no kernel tree under {base}: run tests/fetch-kernel")
    return Root(base, releases[-1])


def shoot(page: Page, out: Path, style: str) -> list[Path]:
    page.open(style)
    page.idle()
    made = []

    def save(name: str) -> None:
        page.driver.switch_to.default_content()
        path = out / f"{name}-{style}.png"
        page.driver.save_screenshot(str(path))
        made.append(path)
        page.driver.switch_to.frame(page.driver.find_element(
            "css selector", "iframe[name='cockpit1:localhost/kmodgui']"))

    page.js("document.querySelector('.kg-table-wrap').scrollTop = 0")
    save("modules")
    page.select("usb_storage")
    page.js("const s = document.getElementById('search'); s.value = 'usb';"
            "s.dispatchEvent(new Event('input'))")
    save("details")
    page.click("tab-hardware")
    page.wait(lambda: page.js("return document.querySelectorAll('#devices-table tbody tr')"
                              ".length"), "the device list")
    save("hardware")
    page.click("tab-modules")
    return made


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[1] / "cockpit" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with web_system(kernel_root()) as system, cockpit_session(system, None) as session, \
            tempfile.TemporaryDirectory() as tmp:
        system.cli("list", "--state", "all", "--json")  # warm the catalog cache
        (system.root / "etc" / "modprobe.d" / "usb.conf").write_text(
            "options usb_storage delay_use=2\n")
        driver = chromium(Path(tmp) / "profile", WIDTH, HEIGHT)
        try:
            page = Page(driver, session)
            for style in ("light", "dark"):
                for path in shoot(page, out, style):
                    print(path)
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
