/* What the page makes of the CLI's JSON: filtering, the details' rows, the hardware order,
 * the load preview and the words for the helper's answers. No DOM and no cockpit object,
 * so `node --test` runs it (cockpit/test/model.test.mjs).
 */

export const STATE_LABELS = {
    "loaded": "Loaded",
    "builtin": "Built in",
    "available": "Available",
    "loaded-not-installed": "Loaded, no file",
};

/** The name as the kernel spells it: '-' and '_' are the same in module names. */
export function normalizeName(name) {
    return String(name).replaceAll("-", "_");
}

/**
 * The modules the table shows: `state` "all", "loaded" (also loaded without a file) or one
 * state; `query` matches the name (either spelling of '-'/'_') or the description, ignoring case.
 */
export function filterModules(modules, query = "", state = "all") {
    const q = query.trim().toLowerCase();
    const qName = normalizeName(q);
    return modules.filter(m => {
        if (state !== "all") {
            if (state === "loaded" ? !m.state.startsWith("loaded") : m.state !== state)
                return false;
        }
        if (!q)
            return true;
        return normalizeName(m.name.toLowerCase()).includes(qName) ||
            (m.description || "").toLowerCase().includes(q);
    });
}

/** modinfo's text as [field, value] pairs; continuation lines (the signature) join with "\n". */
export function parseModinfo(text) {
    const rows = [];
    for (const line of text.split("\n")) {
        if (line === "")
            continue;
        if (/^\s/.test(line) && rows.length) {
            rows[rows.length - 1][1] += "\n" + line.trim();
            continue;
        }
        const colon = line.indexOf(":");
        if (colon < 0)
            continue;
        rows.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
    }
    return rows;
}

/** Indexes of the rows to fold: a field's lines after its first `keep` (aliases run to hundreds). */
export function foldedRows(rows, keep) {
    const seen = {};
    const folded = new Set();
    rows.forEach(([field], i) => {
        seen[field] = (seen[field] || 0) + 1;
        if (seen[field] > keep)
            folded.add(i);
    });
    return folded;
}

/** "a=1 b=x" -> [["a", "1"], ["b", "x"]]; a word without '=' is a flag (value ""). */
export function splitOptions(text) {
    return text.trim().split(/\s+/).filter(Boolean).map(word => {
        const eq = word.indexOf("=");
        return eq < 0 ? [word, ""] : [word.slice(0, eq), word.slice(eq + 1)];
    });
}

/** The configured value of each parameter (the last `options` line wins, as in modprobe). */
export function configuredParameters(module) {
    const out = {};
    for (const setting of module.config || []) {
        if (setting.kind !== "options")
            continue;
        for (const [name, value] of splitOptions(setting.value))
            out[normalizeName(name)] = { value, where: `${setting.file}:${setting.line}` };
    }
    return out;
}

/** One row per parameter: declared and live values side by side with the configured one. */
export function parameterRows(module) {
    const configured = configuredParameters(module);
    return (module.parameters || []).map(p => ({
        name: p.name,
        type: p.type || "",
        description: p.description || "",
        live: p.hidden ? "(hidden)" : (p.value ?? ""),
        writable: Boolean(p.writable) && module.state.startsWith("loaded"),
        configured: configured[normalizeName(p.name)]?.value ?? "",
        configuredAt: configured[normalizeName(p.name)]?.where ?? "",
    }));
}

/** The configuration that applies, each with file:line. */
export function configRows(module) {
    return (module.config || []).map(s => ({
        kind: s.kind, value: s.value, where: `${s.file}:${s.line}`,
    }));
}

/** kmodgui's own blacklist mode for the module, read back from the settings in effect. */
export function blacklistMode(module) {
    const config = module.config || [];
    const always = config.some(s => s.kind === "install" && /^\/bin\/(false|true)\b/.test(s.value));
    if (always)
        return "always";
    return config.some(s => s.kind === "blacklist") ? "autoload" : "none";
}

export function loadsAtBoot(module) {
    return (module.config || []).some(s => s.kind === "load");
}

/** Both directions of dependency, and who holds it now. */
export function dependencyLists(module) {
    return {
        dependsOn: [...(module.depends || [])],
        requiredBy: [...(module.required_by || [])],
        holders: [...(module.holders || [])],
        softPre: [...(module.softdep?.pre || [])],
        softPost: [...(module.softdep?.post || [])],
    };
}

/** `kmodgui deps --json` as the rows of the Load dialog's preview. */
export function previewRows(deps) {
    return (deps.load_order || []).map((step, i) => ({
        number: i + 1,
        module: step.module,
        action: step.action,
        what: step.action === "install" ? `runs: ${step.command}`
            : step.action === "builtin" ? "built into the kernel"
                : (step.relative_path || step.path || ""),
        options: (step.options || "").trim(),
    }));
}

/** Devices that could have a driver but have none come first, then by bus and name. */
export function sortDevices(devices) {
    const waiting = d => (d.bindable && !d.driver && (d.candidates || []).length) ? 0 : 1;
    return [...devices].sort((a, b) =>
        waiting(a) - waiting(b) ||
        String(a.bus).localeCompare(String(b.bus)) ||
        String(a.name).localeCompare(String(b.name)));
}

export function deviceLabel(device) {
    const parts = [device.vendor, device.product].filter(Boolean);
    return parts.length ? parts.join(" ") : device.name;
}

/** "name=value" words for Load and `kmodgui insert`; empty text gives none. */
export function parameterList(text) {
    return text.trim().split(/\s+/).filter(Boolean);
}

/** A parameter form's "a=1 b=2" as the a{ss} SetPersistentOptions takes. */
export function parameterDict(text) {
    const out = {};
    for (const [name, value] of splitOptions(text))
        out[name] = value;
    return out;
}

export function errorKey(name, message) {
    return `${name}\n${message}`;
}

/**
 * The kernel lines of a D-Bus error reply as it passes Cockpit's transport
 * ("CHANNEL\n{"error": [name, [message, [lines]]], "id": …}"), keyed by name and message;
 * null for anything else. cockpit.dbus itself keeps only the message.
 */
export function errorKernelLines(data) {
    if (typeof data !== "string" || data.indexOf('"error"') < 0)
        return null;
    let message;
    try {
        message = JSON.parse(data.substring(data.indexOf("\n") + 1));
    } catch (e) {
        return null;
    }
    const [name, body] = Array.isArray(message?.error) ? message.error : [];
    if (typeof name !== "string" || !Array.isArray(body) || !Array.isArray(body[1]))
        return null;
    return { key: errorKey(name, body[0]), lines: body[1].map(String) };
}

const ACCESS_HINT = "Turn on administrative access with the “Limited access” button at the " +
    "top of Cockpit, or ask an administrator for a polkit rule that allows this.";

/** Plain words for a helper error (name, message, kernel lines); `access` marks refusals. */
export function explainError(error) {
    const name = error.name || "";
    const short = name.replace(/^org\.kmodgui\.Error\./, "").replace(/^org\.freedesktop\.DBus\.Error\./, "");
    const out = {
        title: "The operation failed",
        message: error.message || String(error),
        kernelLog: [...(error.kernelLog || [])],
        hint: "",
        access: false,
        name,
    };
    if (name === "org.kmodgui.Error.NotAuthorized" ||
        name === "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" ||
        name === "org.freedesktop.DBus.Error.AccessDenied") {
        out.title = "Administrative access is needed";
        out.hint = ACCESS_HINT;
        out.access = true;
    } else if (name === "org.freedesktop.DBus.Error.ServiceUnknown" ||
               name === "org.freedesktop.DBus.Error.NameHasNoOwner") {
        out.title = "The kmodgui helper is not installed";
        out.hint = "Install the kmodgui-helper package; reading works without it.";
    } else if (name === "org.freedesktop.DBus.Error.NoReply" || error.problem === "timeout") {
        out.title = "The helper did not answer in time";
    } else if (name === "org.freedesktop.DBus.Error.InvalidArgs") {
        out.title = "The helper refused the input";
    } else if (short) {
        out.title = {
            Busy: "The helper is busy with another operation",
            NotFound: "Not found",
            AlreadyLoaded: "Already loaded",
            NotLoaded: "Not loaded",
            InUse: "The module is in use",
            UnknownSymbol: "Missing symbols",
            InvalidModule: "Not a valid module for this kernel",
            InvalidParameter: "The kernel refused a parameter",
            SignatureRejected: "The kernel refused the module's signature",
            LockedDown: "The kernel is locked down",
            ModulesDisabled: "Module loading is disabled",
        }[short] || out.title;
    }
    return out;
}

/** The lines that sum up a successful answer: files written, output, kernel lines, warnings. */
export function describeResult(what, result) {
    return {
        title: what,
        files: [...(result.files || [])],
        output: (result.output || "").trim(),
        kernelLog: [...(result["kernel-log"] || [])],
        warnings: [...(result.warnings || [])],
    };
}
