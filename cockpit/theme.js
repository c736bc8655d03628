/* Light or dark, as Cockpit's shell says: its "shell:style" setting (auto, light, dark),
 * the "cockpit-style" event the shell sends on a change, and the system preference. */

const DARK_CLASSES = ["pf-theme-dark", "pf-v5-theme-dark"];

function apply(style) {
    const chosen = style || localStorage.getItem("shell:style") || "auto";
    const prefersDark = window.matchMedia?.("(prefers-color-scheme: dark)").matches;
    const dark = chosen === "dark" || (chosen === "auto" && prefersDark);
    for (const name of DARK_CLASSES)
        document.documentElement.classList.toggle(name, dark);
}

export function followTheme() {
    apply();
    window.addEventListener("storage", e => { if (e.key === "shell:style") apply() });
    window.addEventListener("cockpit-style", e => apply(e.detail?.style));
    window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener("change", () => apply());
}
