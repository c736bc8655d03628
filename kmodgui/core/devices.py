"""Devices the kernel knows, the driver bound to each, and the modules that could drive them.

This answers "why doesn't my Wi-Fi work?": every device that exposes a
modalias (PCI, USB, platform, ACPI, HID, virtio, input, CPU, ...), the driver
bound to it (its ``driver`` link) and the module providing that driver (the
driver's ``module`` link, or built-in), plus the candidate modules for its
modalias, which are exactly what ``modprobe -R <modalias>`` answers (asked of
:class:`kmodgui.core.lookup.Lookup`, never re-implemented here).

Only sysfs is read; it needs no privilege. Devices on a bus can have a driver
bound; devices of a class (``input``) or with no subsystem (the CPU root)
never do, so "no driver" is meaningful only for the former (``bindable``).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kmodgui.core.errors import KmodguiError
from kmodgui.core.globmatch import fnmatch
from kmodgui.core.hwids import HardwareNames, IdDatabase
from kmodgui.core.names import InvalidAlias, normalize_alias, normalize_module_name
from kmodgui.core.paths import Root
from kmodgui.core.records import Source

if TYPE_CHECKING:
    from kmodgui.core.lookup import ModuleMatch
    from kmodgui.core.modprobe_config import ModprobeConfig

# sysfs attributes are at most a page; reading more would only hide a bug.
_ATTR_LIMIT = 64 * 1024


class CandidateState(StrEnum):
    """What stands between a candidate module and the device, in the words the UI shows."""

    LOADED = "loaded"
    BUILTIN = "built-in"
    BLACKLISTED = "blacklisted"   # installed, not loaded, and a blacklist line names it
    AVAILABLE = "available"
    UNKNOWN = "unknown"           # not installed: the index names a module without a file


@dataclass(frozen=True)
class Candidate:
    """A module whose aliases match the device's modalias."""

    module: str
    state: CandidateState
    blacklisted_by: tuple[Source, ...] = ()

    def describe(self) -> str:
        """``e1000 (available)``, ``b43 (blacklisted: /etc/modprobe.d/b.conf:1)``."""
        detail = self.state.value
        files = ", ".join(str(s) for s in self.blacklisted_by)
        if self.state == CandidateState.BLACKLISTED:
            detail = f"blacklisted: {files}"
        elif files:
            detail = f"{detail}; blacklisted: {files}"
        return f"{self.module} ({detail})"


@dataclass
class Device:
    """One device with a modalias, as sysfs shows it."""

    syspath: str                  # canonical path relative to /sys, e.g. "devices/pci0000:00/..."
    name: str                     # kernel name: "0000:00:03.0", "1-1:1.0", "serial8250"
    bus: str                      # subsystem: "pci", "usb", "input", ... ("" if none)
    modalias: str
    bindable: bool = True         # on a bus, so a driver can be bound to it
    driver: str | None = None     # bound driver's name
    driver_module: str | None = None   # module providing the driver (None: built-in, unnamed)
    driver_builtin: bool = False  # the bound driver is compiled into the kernel
    vendor_id: int | None = None
    product_id: int | None = None
    vendor: str | None = None     # vendor name (hwdata), else None
    product: str | None = None    # product name (hwdata, HID_NAME, sysfs name/product)
    kind: str | None = None       # class name, e.g. "Ethernet controller"
    candidates: list[Candidate] = field(default_factory=list)
    lookup_error: str = ""        # why candidates could not be found, if they could not

    @property
    def needs_driver(self) -> bool:
        """No driver bound although one could be: the rows the hardware page puts first."""
        return self.bindable and self.driver is None

    @property
    def ids(self) -> str:
        """``8086:100e`` when the bus has vendor and product IDs, else ``""``."""
        if self.vendor_id is None or self.product_id is None:
            return ""
        return f"{self.vendor_id:04x}:{self.product_id:04x}"

    @property
    def description(self) -> str:
        """The best human name: vendor and product names, else IDs, else the kernel name."""
        parts = [p for p in (self.vendor, self.product) if p]
        if parts:
            return " ".join(parts)
        if self.ids:
            return f"{self.bus.upper()} device {self.ids}"
        return self.name

    @property
    def driver_text(self) -> str:
        """``e1000 (module e1000)``, ``serial8250 (built-in)``, ``(none)`` or ``-``."""
        if self.driver is None:
            return "(none)" if self.bindable else "-"
        if self.driver_builtin:
            return f"{self.driver} (built-in)"
        return f"{self.driver} (module {self.driver_module})"

    def candidate_names(self) -> list[str]:
        return [c.module for c in self.candidates]


# ---------------------------------------------------------------- sysfs reading

def _read(path: Path) -> str | None:
    """A sysfs attribute without its trailing newline; None when absent or unreadable."""
    try:
        # Non-blocking and regular files only: a FIFO in a copied tree must not hang us.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, _ATTR_LIMIT)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.decode("utf-8", errors="replace").rstrip("\n")


def _link_name(path: Path) -> str | None:
    """The last component of a symlink's target (``driver`` → ``e1000``)."""
    try:
        return os.path.basename(os.readlink(path))
    except OSError:
        return None


def _uevent(path: Path) -> dict[str, str]:
    text = _read(path / "uevent") or ""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _modalias(path: Path, uevent: Mapping[str, str]) -> str | None:
    """The ``modalias`` attribute, else the uevent's ``MODALIAS`` (CPUs carry only that)."""
    alias = _read(path / "modalias")
    if alias is None:
        alias = uevent.get("MODALIAS")
    alias = (alias or "").strip()
    return alias or None


def _subsystem(path: Path) -> tuple[str, bool]:
    """(subsystem name, is it a bus) from the ``subsystem`` link."""
    try:
        target = os.readlink(path / "subsystem")
    except OSError:
        return "", False
    parts = target.rstrip("/").split("/")
    return parts[-1], len(parts) >= 2 and parts[-2] == "bus"


def _driver(path: Path, sys_module: Path) -> tuple[str | None, str | None, bool]:
    """(driver, module, built-in) of the device at ``path``."""
    driver = _link_name(path / "driver")
    if driver is None:
        return None, None, False
    module = _link_name(path / "driver" / "module")
    if module is None:
        return driver, None, True     # a loadable module always has its module link
    return driver, module, not (sys_module / module / "initstate").exists()


def _device(root: Root, path: Path, bus: str, bindable: bool) -> Device | None:
    uevent = _uevent(path)
    modalias = _modalias(path, uevent)
    if modalias is None:
        return None
    real_sys, real = os.path.realpath(root.sys), os.path.realpath(path)
    inside = real.startswith(real_sys + os.sep)
    syspath = Path(os.path.relpath(real, real_sys)).as_posix() if inside else real
    driver, module, builtin = _driver(path, root.sys_module)
    device = Device(syspath=syspath, name=path.name, bus=bus or modalias.split(":", 1)[0],
                    modalias=modalias, bindable=bindable, driver=driver,
                    driver_module=module, driver_builtin=builtin)
    product = uevent.get("HID_NAME") or _read(path / "name")
    if product:
        device.product = product.strip()
    return device


def read_devices(root: Root) -> list[Device]:
    """Every device with a modalias under ``root``'s ``/sys``, without names or candidates.

    Devices listed under ``/sys/bus/*/devices`` come first (they can have a
    driver); then any other directory under ``/sys/devices`` with a
    ``modalias`` (class devices such as input, the CPU root).
    """
    devices: list[Device] = []
    seen: set[str] = set()
    try:
        buses = sorted(p for p in root.sys_bus.iterdir() if p.is_dir())
    except OSError:
        buses = []
    for bus in buses:
        try:
            entries = sorted((bus / "devices").iterdir())
        except OSError:
            continue
        for entry in entries:
            real = Path(os.path.realpath(entry))
            if str(real) in seen or not real.is_dir():
                continue
            seen.add(str(real))
            device = _device(root, real, bus.name, True)
            if device is not None:
                devices.append(device)
    sys_devices = root.sys_devices
    for directory, subdirs, files in os.walk(sys_devices):
        subdirs.sort()
        if "modalias" not in files or os.path.realpath(directory) in seen:
            continue
        path = Path(directory)
        seen.add(os.path.realpath(directory))
        subsystem, is_bus = _subsystem(path)
        device = _device(root, path, subsystem, is_bus)
        if device is not None:
            devices.append(device)
    return devices


def read_device(root: Root, syspath: str) -> Device | None:
    """Read one device again (after a load: is a driver bound now?); None if it is gone."""
    path = root.sys / syspath
    if not path.is_dir():
        return None
    subsystem, is_bus = _subsystem(path)
    return _device(root, path, subsystem, is_bus)


def network_interfaces(root: Root, syspath: str) -> list[str]:
    """Network interfaces the device provides (its ``net/`` children), e.g. ``["eth0"]``."""
    try:
        return sorted(p.name for p in (root.sys / syspath / "net").iterdir())
    except OSError:
        return []


# ---------------------------------------------------------------- names

_FIELD = re.compile(r"([a-z]+)([0-9A-F]+)")


def modalias_fields(alias: str) -> dict[str, int]:
    """The numbered fields of a PCI/USB/HID-style modalias.

    ``pci:v00008086d0000100Esv...bc02sc00i00`` → ``{"v": 0x8086, "d": 0x100e, ..., "i": 0}``:
    keys are lower case, values upper-case hex, so the two never run together.
    """
    _, _, body = alias.partition(":")
    fields: dict[str, int] = {}
    for key, value in _FIELD.findall(body):
        fields.setdefault(key, int(value, 16))
    return fields


def pci_class_name(db: IdDatabase, base: int, sub: int) -> str:
    """The class as lspci prints it: the subclass name, else the class name and the code."""
    name = db.device_class(base, sub, exact=True)
    if name is not None:
        return name
    base_name = db.device_class(base)
    code = f"{base:02x}{sub:02x}"
    return f"{base_name} [{code}]" if base_name else f"Class {code}"


def _pci_names(device: Device, db: IdDatabase | None) -> None:
    fields = modalias_fields(device.modalias)
    vendor, product = fields.get("v"), fields.get("d")
    device.vendor_id, device.product_id = vendor, product
    if db is None or vendor is None or product is None:
        return
    device.vendor = db.vendor(vendor)
    device.product = db.product(vendor, product)
    if "bc" in fields and "sc" in fields:
        device.kind = pci_class_name(db, fields["bc"], fields["sc"])


def _usb_names(device: Device, db: IdDatabase | None, root: Root) -> None:
    fields = modalias_fields(device.modalias)
    vendor, product = fields.get("v"), fields.get("p")
    device.vendor_id, device.product_id = vendor, product
    if db is not None and vendor is not None and product is not None:
        device.vendor = db.vendor(vendor)
        device.product = db.product(vendor, product)
        if "ic" in fields:   # the interface class ("Human Interface Device", "Mass Storage")
            device.kind = db.device_class(fields["ic"])
    if device.product is None:
        # The interface's parent (the USB device) carries the strings the device reports.
        parent = (root.sys / device.syspath).parent
        device.vendor = device.vendor or _read(parent / "manufacturer")
        device.product = _read(parent / "product")


def _hid_names(device: Device, usb: IdDatabase | None) -> None:
    # hid:b0003g0001v00000627p00000001 — bus 0003 is USB, so usb.ids knows the IDs.
    fields = modalias_fields(device.modalias)
    vendor, product = fields.get("v"), fields.get("p")
    device.vendor_id, device.product_id = vendor, product
    if usb is not None and fields.get("b") == 3 and vendor is not None:
        device.vendor = usb.vendor(vendor) or device.vendor
        if product is not None:
            device.product = usb.product(vendor, product) or device.product


def add_names(devices: Sequence[Device], root: Root, names: HardwareNames | None = None) -> None:
    """Fill IDs, vendor, product and class names from the modalias and hwdata."""
    names = names or HardwareNames(root)
    for device in devices:
        prefix = device.modalias.split(":", 1)[0]
        if prefix == "pci":
            _pci_names(device, names.database("pci"))
        elif prefix == "usb":
            _usb_names(device, names.database("usb"), root)
        elif prefix == "hid":
            _hid_names(device, names.database("usb"))
        elif device.bus == "scsi":    # the INQUIRY strings: "ATA" "QEMU HARDDISK"
            path = root.sys / device.syspath
            device.vendor = (_read(path / "vendor") or "").strip() or None
            device.product = (_read(path / "model") or "").strip() or None
    # A virtio device is the function of its transport's PCI device ("Virtio console").
    by_path = {d.syspath: d for d in devices}
    for device in devices:
        parent = by_path.get(device.syspath.rsplit("/", 1)[0])
        if device.bus == "virtio" and device.product is None and parent is not None:
            device.vendor, device.product = parent.vendor, parent.product


# ---------------------------------------------------------------- candidates

class Finder(Protocol):
    """What candidates need from :class:`kmodgui.core.lookup.Lookup`."""

    config: ModprobeConfig

    def find(self, name: str) -> list[ModuleMatch]: ...


def live_modules(root: Root) -> set[str]:
    """Loadable modules loaded right now: ``/sys/module/*`` with an ``initstate``.

    Read fresh on every scan so that states stay true after a load, whoever did it.
    """
    try:
        return {p.name for p in root.sys_module.iterdir() if (p / "initstate").exists()}
    except OSError:
        return set()


def blacklist_sources(config: ModprobeConfig) -> dict[str, tuple[Source, ...]]:
    """Module name → the ``blacklist`` lines (file and line) that name it."""
    sources: dict[str, tuple[Source, ...]] = {}
    for entry in config.entries:
        if entry.kind == "blacklist":
            name = normalize_module_name(entry.module)
            sources[name] = (*sources.get(name, ()), entry.source)
    return sources


def candidate_state(match: ModuleMatch, loaded: set[str],
                    blacklists: Mapping[str, tuple[Source, ...]]) -> Candidate:
    """Loaded (live sysfs) before built-in before blacklisted before available."""
    sources = blacklists.get(match.name, ())
    if match.name in loaded:
        state = CandidateState.LOADED
    elif match.builtin:
        state = CandidateState.BUILTIN
    elif match.path is None:
        state = CandidateState.UNKNOWN
    elif sources:
        state = CandidateState.BLACKLISTED
    else:
        state = CandidateState.AVAILABLE
    return Candidate(match.name, state, sources)


def add_candidates(devices: Iterable[Device], finder: Finder, loaded: set[str]) -> None:
    """Set each device's candidates: what the modalias resolves to, each module once."""
    blacklists = blacklist_sources(finder.config)
    cache: dict[str, list[Candidate]] = {}
    for device in devices:
        if device.modalias not in cache:
            try:
                matches = finder.find(device.modalias)
            except KmodguiError as exc:
                device.lookup_error = exc.message
                matches = []
            unique = {m.name: m for m in reversed(matches)}   # first match of each name wins
            cache[device.modalias] = [candidate_state(unique[name], loaded, blacklists)
                                      for name in dict.fromkeys(m.name for m in matches)]
        device.candidates = list(cache[device.modalias])


def sort_key(device: Device) -> tuple[int, str, str]:
    """Devices without a driver first (those with candidates before the rest), then by bus."""
    rank = 2
    if device.needs_driver:
        rank = 0 if device.candidates else 1
    return (rank, device.bus, device.name)


def scan(root: Root, finder: Finder | None = None,
         names: HardwareNames | None = None) -> list[Device]:
    """Every device of ``root`` with names and candidates, those needing a driver first.

    ``finder`` resolves a modalias as ``modprobe -R`` does; by default a
    :class:`kmodgui.core.lookup.Lookup` over ``root`` and its modprobe.d.
    """
    if finder is None:
        from kmodgui.core.lookup import Lookup

        finder = Lookup(root)
    devices = read_devices(root)
    add_names(devices, root, names)
    add_candidates(devices, finder, live_modules(root))
    devices.sort(key=sort_key)
    return devices


def _patterns(aliases: Iterable[str]) -> list[str]:
    """Aliases as depmod writes them to the index (kmod's normalisation); bad ones dropped."""
    patterns = []
    for alias in aliases:
        try:
            patterns.append(normalize_alias(alias))
        except InvalidAlias:
            continue          # depmod skips such an alias too: it can never match
    return patterns


def _alias_matches(patterns: Sequence[str], modalias: str) -> bool:
    """Does one pattern match the modalias, normalised as ``modprobe -R`` does first?"""
    if not patterns:
        return False
    try:
        key = normalize_alias(modalias)
    except InvalidAlias:
        return False          # kmod fails such a lookup (EINVAL): nothing matches
    return any(fnmatch(pattern, key) for pattern in patterns)


def devices_for_module(devices: Iterable[Device], module: str,
                       aliases: Iterable[str] = ()) -> list[Device]:
    """The devices a module drives or could drive (for the module's detail pane).

    A device belongs when the module provides its bound driver, when the
    module is one of its candidates (filled by :func:`add_candidates`), or
    when one of ``aliases`` (the module's own, from its file) matches its
    modalias, the way ``modprobe -R`` matches the index. The last lets a
    caller that read devices without a lookup (the module list's Aliases
    tab) use the same rule.
    """
    name = normalize_module_name(module)
    patterns = _patterns(aliases)
    return [d for d in devices
            if d.driver_module == name or name in d.candidate_names()
            or _alias_matches(patterns, d.modalias)]
