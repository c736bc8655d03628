"""Vendor, product and class names from the hwdata ID databases (``pci.ids``, ``usb.ids``).

A modalias carries only numbers (``pci:v00008086d0000100E...``); people know
devices by name ("Intel 82540EM Gigabit Ethernet Controller"). The databases
are the ones ``lspci`` and ``lsusb`` read (Debian's ``hwdata`` package); when
they are missing, callers show raw IDs, so every lookup here may return None.

File format (both files): a vendor line ``vvvv  Name``, its devices indented
by one tab ``\\tdddd  Name``, PCI subsystems by two tabs
``\\t\\tssss ssss  Name``; then sections whose lines start with a keyword, of
which ``C cc  Name`` (device classes, with tab-indented subclasses and
programming interfaces) is the one read here.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

from kmodgui.core.paths import Root

# Where distributions install the databases, in the order lspci looks.
ID_DIRS = ("/usr/share/hwdata", "/usr/share/misc")


@dataclass
class _Product:
    name: str
    subsystems: dict[tuple[int, int], str] = field(default_factory=dict)


@dataclass
class _Vendor:
    name: str
    products: dict[int, _Product] = field(default_factory=dict)


@dataclass
class _Class:
    name: str
    subclasses: dict[int, tuple[str, dict[int, str]]] = field(default_factory=dict)


def _hex(word: str) -> int | None:
    try:
        return int(word, 16)
    except ValueError:
        return None


class IdDatabase:
    """One parsed ID file; lookups by number return a name or None."""

    def __init__(self, text: str, source: str = "") -> None:
        self.source = source
        self._vendors: dict[int, _Vendor] = {}
        self._classes: dict[int, _Class] = {}
        self._parse(text)

    def _parse(self, text: str) -> None:
        vendor: _Vendor | None = None
        product: _Product | None = None
        klass: _Class | None = None
        subclass: dict[int, str] | None = None
        section = "vendors"
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            depth = len(line) - len(line.lstrip("\t"))
            key, _, name = line.lstrip("\t").partition(" ")
            name = name.strip()
            if depth == 0:
                vendor = product = klass = subclass = None
                if key == "C":           # "C 02  Network controller"
                    section = "classes"
                    number_text, _, class_name = name.partition(" ")
                    number = _hex(number_text)
                    if number is not None:
                        klass = self._classes[number] = _Class(class_name.strip())
                elif (number := _hex(key)) is not None and len(key) == 4:
                    section = "vendors"
                    vendor = self._vendors.setdefault(number, _Vendor(name))
                else:
                    section = "other"     # AT, HID, R, BIAS, PHY, HUT, L, HCC, VT ...
            elif section == "vendors" and vendor is not None:
                if depth == 1 and (number := _hex(key)) is not None:
                    product = vendor.products.setdefault(number, _Product(name))
                elif depth == 2 and product is not None:
                    sub_device_text, _, sub_name = name.partition(" ")
                    sub_vendor, sub_device = _hex(key), _hex(sub_device_text)
                    if sub_vendor is not None and sub_device is not None:
                        product.subsystems[(sub_vendor, sub_device)] = sub_name.strip()
            elif section == "classes" and klass is not None:
                number = _hex(key)
                if number is None:
                    continue
                if depth == 1:
                    subclass = {}
                    klass.subclasses[number] = (name, subclass)
                elif depth == 2 and subclass is not None:
                    subclass[number] = name

    def vendor(self, vendor: int) -> str | None:
        entry = self._vendors.get(vendor)
        return entry.name if entry else None

    def product(self, vendor: int, product: int) -> str | None:
        entry = self._vendors.get(vendor)
        item = entry.products.get(product) if entry else None
        return item.name if item else None

    def subsystem(self, vendor: int, product: int, sub_vendor: int, sub_device: int) -> str | None:
        """The name of one board built around a chip (PCI subsystem IDs)."""
        entry = self._vendors.get(vendor)
        item = entry.products.get(product) if entry else None
        return item.subsystems.get((sub_vendor, sub_device)) if item else None

    def device_class(self, base: int, sub: int | None = None,
                     interface: int | None = None, *, exact: bool = False) -> str | None:
        """The most specific class name known: interface, else subclass, else base class.

        With ``exact``, None unless the most specific level asked for is known.
        """
        klass = self._classes.get(base)
        if klass is None:
            return None
        if sub is None or sub not in klass.subclasses:
            return None if exact and sub is not None else klass.name
        sub_name, interfaces = klass.subclasses[sub]
        if interface is not None and interface in interfaces:
            return interfaces[interface]
        return None if exact and interface is not None else sub_name


def find_id_file(root: Root, name: str) -> Path | None:
    """The first ``name`` (or ``name.gz``) in the hwdata directories of ``root``."""
    for directory in ID_DIRS:
        for candidate in (name, name + ".gz"):
            path = root.path(directory) / candidate
            if path.is_file():
                return path
    return None


def load_id_database(root: Root, name: str) -> IdDatabase | None:
    """Parse ``pci.ids`` or ``usb.ids`` of ``root``; None when absent or unreadable."""
    path = find_id_file(root, name)
    if path is None:
        return None
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return IdDatabase(data.decode("utf-8", errors="replace"), str(path))


class HardwareNames:
    """Both databases of one root, each parsed on first use."""

    def __init__(self, root: Root) -> None:
        self._root = root
        self._loaded: dict[str, IdDatabase | None] = {}

    def database(self, bus: str) -> IdDatabase | None:
        """The database for ``bus`` (``pci`` or ``usb``); None for other buses."""
        name = {"pci": "pci.ids", "usb": "usb.ids"}.get(bus)
        if name is None:
            return None
        if name not in self._loaded:
            self._loaded[name] = load_id_database(self._root, name)
        return self._loaded[name]
