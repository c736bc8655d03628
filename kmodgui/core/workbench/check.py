"""Will the kernel take this module file? What can be known before asking it.

Two refusals are certain and cheap to see without privilege: a module built
for another release (its vermagic names the release, and the kernel compares
it) and, where the kernel enforces signatures, a module without one. Saying
so before the helper is asked spares a password prompt for a sure failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kmodgui.core import kernel_state
from kmodgui.core.modfile import ModuleInfo, read_module_info
from kmodgui.core.paths import Root


@dataclass(frozen=True)
class VermagicCheck:
    """The release a module was built for against the one it is meant for."""

    vermagic: str
    built_for: str
    target: str

    @property
    def matches(self) -> bool:
        return self.built_for == self.target

    def explain(self) -> str:
        if self.matches:
            return f"vermagic matches {self.target}"
        return (f"built for {self.built_for or '(no vermagic)'}, not {self.target}: "
                f"the kernel {self.target} will refuse it (rebuild with -k {self.target})")


def check_vermagic(info: ModuleInfo, target: str) -> VermagicCheck:
    """Compare the first word of ``vermagic`` (the release) with ``target``."""
    vermagic = info.get("vermagic", "") or ""
    words = vermagic.split()
    return VermagicCheck(vermagic, words[0] if words else "", target)


@dataclass(frozen=True)
class Enforcement:
    """Whether the running kernel loads only signed modules, and why."""

    sig_enforce: bool          # module.sig_enforce (the kernel parameter or its config)
    sig_force_config: bool     # CONFIG_MODULE_SIG_FORCE in the release's config
    lockdown: str              # "none", "integrity" or "confidentiality"

    @property
    def enforced(self) -> bool:
        return self.sig_enforce or self.sig_force_config or self.lockdown != "none"

    def reasons(self) -> list[str]:
        reasons = []
        if self.sig_enforce:
            reasons.append("module.sig_enforce is on")
        if self.sig_force_config:
            reasons.append("the kernel is built with CONFIG_MODULE_SIG_FORCE")
        if self.lockdown != "none":
            reasons.append(f"the kernel is locked down ({self.lockdown}), "
                           "usually because of Secure Boot")
        return reasons


def read_enforcement(root: Root) -> Enforcement:
    """Signature enforcement as the files show it (what the helper's GetCapabilities reports)."""
    forced = kernel_state.config_value(kernel_state.kernel_config(root),
                                       "CONFIG_MODULE_SIG_FORCE") == "y"
    return Enforcement(kernel_state.signature_enforced(root), forced, kernel_state.lockdown(root))


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    description: str


@dataclass
class BuiltModule:
    """What a freshly built ``.ko`` says about itself, and whether its kernel will take it."""

    path: Path
    name: str
    vermagic: VermagicCheck
    license: str
    description: str
    authors: list[str]
    parameters: list[Parameter]
    signer: str = ""
    sig_hashalgo: str = ""
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path), "name": self.name, "vermagic": self.vermagic.vermagic,
            "built_for": self.vermagic.built_for, "target": self.vermagic.target,
            "vermagic_matches": self.vermagic.matches, "license": self.license,
            "description": self.description, "authors": self.authors,
            "parameters": [vars(p) for p in self.parameters], "signer": self.signer,
            "sig_hashalgo": self.sig_hashalgo, "problems": self.problems,
        }


def parameters_of(info: ModuleInfo) -> list[Parameter]:
    """``parm``/``parmtype`` merged by name, in file order."""
    found: dict[str, Parameter] = {}
    for key, value in info.modinfo:
        if key not in ("parm", "parmtype") or ":" not in value:
            continue
        name, _, rest = value.partition(":")
        old = found.get(name, Parameter(name, "", ""))
        found[name] = (Parameter(name, old.type, rest) if key == "parm"
                       else Parameter(name, rest, old.description))
    return list(found.values())


def describe_module(path: Path, target: Root, *,
                    enforcement: Enforcement | None = None) -> BuiltModule:
    """Read ``path`` and say what stands between it and ``target``'s kernel.

    ``enforcement`` is the running kernel's (checked only when ``target`` is it).
    Raises :class:`~kmodgui.core.errors.ModuleFileError` for a file that is no module.
    """
    from kmodgui.core.names import module_name_from_path
    from kmodgui.core.paths import running_release

    info = read_module_info(path)
    vermagic = check_vermagic(info, target.release)
    module = BuiltModule(
        path=path, name=info.name or module_name_from_path(str(path)), vermagic=vermagic,
        license=info.get("license", "") or "", description=info.get("description", "") or "",
        authors=info.get_all("author"), parameters=parameters_of(info),
        signer=info.signature.signer_text if info.signature else "",
        sig_hashalgo=info.signature.hash_algo if info.signature else "")
    if not vermagic.matches:
        module.problems.append(vermagic.explain())
    if target.release == running_release():
        enforcement = enforcement or read_enforcement(target)
        if enforcement.enforced and info.signature is None:
            module.problems.append(
                "this kernel loads only signed modules (" + "; ".join(enforcement.reasons())
                + "): an unsigned module will be refused. Sign it: kmodgui keygen, then "
                f"kmodgui sign {path}, and enroll the key (mokutil --import).")
    return module
