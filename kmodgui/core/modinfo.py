"""``modinfo``'s output, byte for byte as the installed kmod 30 prints it.

Why in the core: the detail pane shows the same fields in the same order, and
``kmodgui info`` must equal ``modinfo`` (tests compare the two on every module
of a real kernel). The rules, from kmod 30's ``tools/modinfo.c`` and
``libkmod-module.c``:

* entries in ``.modinfo`` order, then the signature lines, parameters last;
* ``parm``/``parmtype`` merged by name, printed in reverse order of first
  appearance, in three formats (description and type, one of them);
* keys padded to 16 columns; a key longer than 15 gets ``len - 15`` spaces
  (kmod 30 passes a negative width to ``printf``);
* ``-0`` prints ``key=value`` for entries but keeps the padded form for
  ``filename``, ``name`` and ``parm`` lines;
* ``-F FIELD`` prints bare values; ``-F parm`` (``-p``) the parameter summary;
* signature bytes as ``AB:CD:…``, 20 a line, continuation lines after two tabs.

Output is bytes: values are whatever the module holds, not necessarily UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kmodgui.core.errors import KmodguiError
from kmodgui.core.modfile import ModuleInfo, read_module_info
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord
from kmodgui.core.signature import ModuleSignature, hex_colons

ENC = "surrogateescape"


def _b(text: str) -> bytes:
    return text.encode("utf-8", ENC)


def _c(text: str) -> bytes:
    """As C's ``%s`` prints it: up to the first NUL."""
    return _b(text).split(b"\0", 1)[0]


def signature_entries(sig: ModuleSignature) -> list[tuple[str, str]]:
    """The five lines ``kmod_module_get_info`` adds for a signature."""
    def text(raw: bytes) -> str:
        return raw.decode("utf-8", ENC)

    return [
        ("sig_id", sig.id_type),
        ("signer", text(sig.signer)),
        ("sig_key", hex_colons(sig.key_id)),
        ("sig_hashalgo", sig.hash_algo),
        ("signature", hex_colons(sig.signature)),
    ]


def info_entries(info: ModuleInfo) -> list[tuple[str, str]]:
    """``.modinfo`` entries then the signature's, as ``kmod_module_get_info`` lists them."""
    entries = list(info.modinfo)
    if info.signature is not None:
        entries += signature_entries(info.signature)
    return entries


@dataclass
class Param:
    """One merged parameter: the last description and last type seen for the name."""

    name: bytes
    description: bytes | None = None
    type: bytes | None = None


@dataclass
class Output:
    """What one module contributes: bytes for stdout, messages for stderr (no prefix)."""

    stdout: bytes = b""
    errors: list[str] = field(default_factory=list)


def merge_params(entries: list[tuple[str, str]], errors: list[str]) -> list[Param]:
    """``parm``/``parmtype`` merged by name, newest name first (kmod prepends to a list)."""
    params: list[Param] = []
    by_name: dict[bytes, Param] = {}
    for key, value in entries:
        if key not in ("parm", "parmtype"):
            continue
        raw = _c(value)
        name, colon, rest = raw.partition(b":")
        if not colon:
            errors.append(f'Found invalid "{key}={raw.decode("utf-8", ENC)}": missing \':\'')
            continue
        param = by_name.get(name)
        if param is None:
            param = by_name[name] = Param(name)
            params.insert(0, param)
        if key == "parm":
            param.description = rest
        else:
            param.type = rest
    return params


def _param_line(p: Param, summary: bool) -> bytes:
    if summary:
        if p.description is None:
            return p.name + b": (" + (p.type or b"") + b")"
        if p.type is not None:
            return p.name + b":" + p.description + b" (" + p.type + b")"
        return p.name + b":" + p.description
    prefix = b"parm:" + b" " * 11
    if p.description is None:
        return prefix + p.name + b":" + (p.type or b"")
    if p.type is not None:
        return prefix + p.name + b":" + p.description + b" (" + p.type + b")"
    return prefix + p.name + b":" + p.description


def key_padding(key: str) -> bytes:
    """kmod 30's ``"%s:%-*s"`` with width ``15 - len(key)``; a negative width pads too."""
    return b" " * abs(15 - len(_c(key)))


def format_header(*, filename: str, builtin_name: str | None = None,
                  field_name: str | None = None, separator: bytes = b"\n") -> tuple[bytes, bool]:
    """The ``name:``/``filename:`` lines printed before the module is read.

    Returns the bytes and whether output for this module is complete (``-F
    filename`` reads nothing more, even from a broken file).
    """
    lines: list[bytes] = []
    if builtin_name is not None:
        if field_name is None:
            lines.append(b"name:" + b" " * 11 + _c(builtin_name))
        elif field_name == "name":
            lines.append(_c(builtin_name))
    done = field_name == "filename"
    if done:
        lines.append(_c(filename))
    elif field_name is None:
        lines.append(b"filename:" + b" " * 7 + _c(filename))
    return b"".join(line + separator for line in lines), done


def format_body(entries: list[tuple[str, str]], *, field_name: str | None = None,
                separator: bytes = b"\n") -> Output:
    """Everything after the header: entries, signature and parameters (or ``-F``'s values)."""
    out = Output()
    lines = _format_info(entries, field_name, separator, out.errors)
    out.stdout = b"".join(line + separator for line in lines)
    return out


def format_entries(entries: list[tuple[str, str]], *, filename: str,
                   builtin_name: str | None = None, field_name: str | None = None,
                   separator: bytes = b"\n") -> Output:
    """One module's ``modinfo`` output from its entries (see the module docstring).

    ``builtin_name`` is set for a built-in module (``filename`` is then
    ``(builtin)``). ``field_name`` is ``-F``'s value (``parm`` for ``-p``).
    """
    head, done = format_header(filename=filename, builtin_name=builtin_name,
                               field_name=field_name, separator=separator)
    if done:
        return Output(head)
    body = format_body(entries, field_name=field_name, separator=separator)
    return Output(head + body.stdout, body.errors)


def _format_info(entries: list[tuple[str, str]], field_name: str | None, separator: bytes,
                 errors: list[str]) -> list[bytes]:
    """The part after ``filename:`` (``modinfo_do`` after ``kmod_module_get_info``)."""
    if field_name == "parm":
        return [_param_line(p, True) for p in merge_params(entries, errors)]
    if field_name is not None:
        return [_c(value) for key, value in entries if _c(key) == _c(field_name)]
    lines = []
    for key, value in entries:
        if key in ("parm", "parmtype"):
            continue
        if separator == b"\0":
            lines.append(_c(key) + b"=" + _c(value))
        else:
            lines.append(_c(key) + b":" + key_padding(key) + _c(value))
    lines += [_param_line(p, False) for p in merge_params(entries, errors)]
    return lines


def format_module(info: ModuleInfo, *, filename: str, field_name: str | None = None,
                  separator: bytes = b"\n") -> Output:
    """``modinfo`` of one module file already read."""
    return format_entries(info_entries(info), filename=filename, field_name=field_name,
                          separator=separator)


def modinfo_text(root: Root, record: ModuleRecord) -> str:
    """What kmod's ``modinfo`` prints for ``record``: from its file, or for a built-in
    module from ``modules.builtin.modinfo``; when neither can be read, the fields the
    record holds, in modinfo's layout."""
    from kmodgui.core.builtin_modinfo import read_builtin_modinfo

    try:
        if record.path:
            out = format_module(read_module_info(record.path), filename=record.path)
            return out.stdout.decode("utf-8", "replace")
        entries = read_builtin_modinfo(root, record.name)
        if entries is not None:
            out = format_entries(entries, filename="(builtin)", builtin_name=record.name)
            return out.stdout.decode("utf-8", "replace")
    except (KmodguiError, OSError):
        pass  # the record's own fields below
    return record_text(record)


def record_text(record: ModuleRecord) -> str:
    """A record's fields in modinfo's layout (a file that can no longer be read)."""
    lines = [f"filename:       {record.path or '(builtin)'}"]
    for key, values in (("alias", record.aliases), ("firmware", record.firmware),
                        ("author", record.authors)):
        lines += [f"{key + ':':<16}{v}" for v in values]
    for key, value in (("description", record.description), ("license", record.license),
                       ("version", record.version), ("srcversion", record.srcversion),
                       ("depends", ",".join(record.depends)), ("name", record.name),
                       ("vermagic", record.vermagic), ("signer", record.signer),
                       ("sig_key", record.sig_key), ("sig_hashalgo", record.sig_hashalgo)):
        if value or key == "depends":
            lines.append(f"{key + ':':<16}{value}")
    for param in record.parameters:
        text = param.description or ""
        lines.append(f"{'parm:':<16}{param.name}:{text} ({param.type})" if param.type
                     else f"{'parm:':<16}{param.name}:{text}")
    return "\n".join(lines) + "\n"
