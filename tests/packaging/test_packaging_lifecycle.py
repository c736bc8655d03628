"""install -> remove -> purge of the .debs in a clean Debian 13 root leaves nothing behind
(what piuparts checks), and what they install is what the issue asks for."""

from __future__ import annotations

import re

from kmgtest.packages import PACKAGES, PACKAGING, Built, in_trixie

# What a package manager itself changes and piuparts ignores too.
SNAPSHOT = r"""
find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /run \
    -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/log \
    -o -path /dist \) -prune -o -printf '%M %u %g %p\n' | sort > "$1"
"""

LIFECYCLE = r"""
set -e
cat > /tmp/snapshot <<'EOS'
{snapshot}
EOS
sh /tmp/snapshot /tmp/before
apt-get install -y -q /dist/*.deb > /tmp/install.log 2>&1 \
    || {{ cat /tmp/install.log; exit 1; }}
echo "== installed"
stat -c '%U:%G %a %n' /usr/libexec/kmodgui-helper /usr/bin/kmodgui
command -v kmodgui-helper || echo "kmodgui-helper not on PATH"
kmodgui --version
/usr/libexec/kmodgui-helper --version
kmodgui config --json > /dev/null && echo "config ok"
grep '^Exec=' /usr/share/dbus-1/system-services/org.kmodgui.Helper1.service
unit=/usr/lib/systemd/system/kmodgui-helper.service
systemd-analyze verify --man=no $unit 2>&1 && echo "verify ok"
systemd-analyze security --offline=true --no-pager $unit 2>&1 | grep 'Overall exposure'
man -w kmodgui 2>/dev/null || ls /usr/share/man/man1/kmodgui.1.gz
cockpit-bridge --packages 2>&1 | grep '^kmodgui' || echo "cockpit does not see the page"
echo "== removed"
apt-get remove -y -q {packages} > /tmp/remove.log 2>&1 \
    || {{ cat /tmp/remove.log; exit 1; }}
sh /tmp/snapshot /tmp/removed
diff /tmp/before /tmp/removed || true
echo "== purged"
dpkg --purge {packages} > /tmp/purge.log 2>&1 \
    || {{ cat /tmp/purge.log; exit 1; }}
dpkg-query -W -f '${{db:Status-Abbrev}} ${{Package}}\n' {packages} 2>/dev/null \
    | grep -v '^un' || true
sh /tmp/snapshot /tmp/after
diff /tmp/before /tmp/after && echo "nothing left"
"""


def test_install_remove_purge(built: Built) -> None:
    out = in_trixie(LIFECYCLE.format(snapshot=SNAPSHOT, packages=" ".join(PACKAGES)),
                    binds={built.dist: "/dist"}).stdout
    installed = out.split("== installed\n")[1].split("== removed\n")[0]
    assert "root:root 755 /usr/libexec/kmodgui-helper" in installed
    assert "root:root 755 /usr/bin/kmodgui" in installed
    assert "kmodgui-helper not on PATH" in installed
    assert "kmodgui 0.1.0" in installed and "kmodgui-helper 0.1.0" in installed
    assert "config ok" in installed
    assert "Exec=/usr/libexec/kmodgui-helper" in installed
    assert "verify ok" in installed, installed
    # Cockpit finds the page where it looks, with the helper's condition met
    assert re.search(r"^kmodgui\s+Kernel modules", installed, re.M), installed
    exposure = re.search(r"Overall exposure level for kmodgui-helper.service: ([0-9.]+)",
                         installed)
    assert exposure, installed
    # packaging/README.md quotes this number and explains each remaining exposure
    readme = (PACKAGING / "README.md").read_text()
    assert f"exposure level **{exposure.group(1)}**" in readme, exposure.group(0)
    removed = out.split("== removed\n")[1].split("== purged\n")[0]
    assert removed == "", removed  # no conffiles, nothing left even before purge
    purged = out.split("== purged\n")[1]
    assert purged == "nothing left\n", purged  # no dpkg record left either


def test_cockpit_shows_the_page_only_where_the_helper_is(built: Built) -> None:
    """The manifest's path-exists condition, as Debian 13's Cockpit applies it: without
    kmodgui-helper the menu has no "Kernel modules" (nothing there could change anything)."""
    out = in_trixie(r"""
set -e
apt-get install -y -q --no-install-recommends /dist/kmodgui_*.deb /dist/cockpit-kmodgui_*.deb \
    > /tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
echo "== without the helper"
cockpit-bridge --packages 2>&1 | grep '^kmodgui' || true
apt-get install -y -q /dist/kmodgui-helper_*.deb > /tmp/helper.log 2>&1 \
    || { cat /tmp/helper.log; exit 1; }
echo "== with the helper"
cockpit-bridge --packages 2>&1 | grep '^kmodgui' || true
""", binds={built.dist: "/dist"}).stdout
    without = out.split("== without the helper\n")[1].split("== with the helper\n")[0]
    with_helper = out.split("== with the helper\n")[1]
    assert without == "", out
    assert re.match(r"kmodgui\s+Kernel modules\s+/usr/share/cockpit/kmodgui$", with_helper), out
