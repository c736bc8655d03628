/* The request vocabulary of the page: every method of org.kmodgui.Helper1 with its
 * arguments (name, D-Bus type), the polkit actions it needs and the option keys it takes.
 *
 * It mirrors the helper's own table (helper/kmodgui_helper/api.py, METHODS). The text
 * between the BEGIN and END markers is strict JSON, so tests/web/test_vocabulary.py reads
 * it and holds it against the helper's table: a method added or changed there fails that
 * test until this table follows.
 */

export const BUS_NAME = "org.kmodgui.Helper1";
export const OBJECT_PATH = "/org/kmodgui/Helper1";
export const INTERFACE = "org.kmodgui.Helper1";

export const METHODS = /* BEGIN METHODS */ {
    "GetCapabilities": {
        "args": [],
        "actions": [],
        "options": {}
    },
    "Load": {
        "args": [["module", "s"], ["params", "as"], ["options", "a{sv}"]],
        "actions": ["org.kmodgui.load"],
        "options": {}
    },
    "Unload": {
        "args": [["module", "s"], ["options", "a{sv}"]],
        "actions": ["org.kmodgui.unload", "org.kmodgui.force-unload"],
        "options": {"dependencies": "b", "force": "b"}
    },
    "InsertFile": {
        "args": [["file", "h"], ["params", "as"], ["options", "a{sv}"]],
        "actions": ["org.kmodgui.load-file"],
        "options": {}
    },
    "SetParameter": {
        "args": [["module", "s"], ["parameter", "s"], ["value", "s"], ["options", "a{sv}"]],
        "actions": ["org.kmodgui.set-parameter"],
        "options": {}
    },
    "SetPersistentOptions": {
        "args": [["module", "s"], ["params", "a{ss}"], ["options", "a{sv}"]],
        "actions": ["org.kmodgui.configure"],
        "options": {}
    },
    "SetBlacklist": {
        "args": [["module", "s"], ["mode", "s"], ["options", "a{sv}"]],
        "actions": ["org.kmodgui.configure"],
        "options": {}
    },
    "SetLoadAtBoot": {
        "args": [["module", "s"], ["enabled", "b"], ["options", "a{sv}"]],
        "actions": ["org.kmodgui.configure"],
        "options": {}
    },
    "RebuildIndex": {
        "args": [["kernel_release", "s"], ["options", "a{sv}"]],
        "actions": ["org.kmodgui.depmod"],
        "options": {}
    }
} /* END METHODS */;

/* Cockpit's D-Bus channel cannot send file descriptors: a file is uploaded and handed
 * to `kmodgui insert`, which passes the descriptor itself. */
export const NOT_OVER_COCKPIT = ["InsertFile"];

/* How long the page waits for an answer (ms). The helper asks polkit first and runs
 * one operation at a time, so a load may wait behind another one. */
export const TIMEOUTS = {
    "GetCapabilities": 10000,
    "Load": 120000,
    "Unload": 120000,
    "SetParameter": 60000,
    "SetPersistentOptions": 60000,
    "SetBlacklist": 60000,
    "SetLoadAtBoot": 60000,
    "RebuildIndex": 300000
};

export const BLACKLIST_MODES = ["none", "autoload", "always"];

export class RequestError extends Error {}

/** The D-Bus signature of a method's arguments, e.g. "sasa{sv}". */
export function signature(method) {
    const spec = METHODS[method];
    if (!spec)
        throw new RequestError(`unknown helper method ${method}`);
    return spec.args.map(([, type]) => type).join("");
}

function variantFor(method, key, value) {
    const type = METHODS[method].options[key];
    if (!type)
        throw new RequestError(`${method} takes no option '${key}'`);
    if (type === "b" && typeof value !== "boolean")
        throw new RequestError(`option '${key}' of ${method} is true or false`);
    return { t: type, v: value };
}

/**
 * A call ready for cockpit.dbus: method, signature, argument values (the options
 * dictionary as typed variants), timeout and the polkit actions it may ask.
 * `values` are the arguments in order; the trailing options dictionary may be omitted.
 */
export function request(method, values = []) {
    const spec = METHODS[method];
    if (!spec)
        throw new RequestError(`unknown helper method ${method}`);
    if (NOT_OVER_COCKPIT.includes(method))
        throw new RequestError(`${method} needs a file descriptor, which Cockpit cannot send`);
    const args = [...values];
    const last = spec.args.length - 1;
    if (last >= 0 && spec.args[last][1] === "a{sv}" && args.length === last)
        args.push({});
    if (args.length !== spec.args.length)
        throw new RequestError(`${method} takes ${spec.args.length} arguments`);
    spec.args.forEach(([name, type], i) => {
        const value = args[i];
        if (type === "s" && typeof value !== "string")
            throw new RequestError(`${name} must be text`);
        if (type === "b" && typeof value !== "boolean")
            throw new RequestError(`${name} must be true or false`);
        if (type === "as" && !(Array.isArray(value) && value.every(v => typeof v === "string")))
            throw new RequestError(`${name} must be a list of texts`);
        if (type === "a{ss}" && !(value && typeof value === "object" && !Array.isArray(value) &&
                                  Object.values(value).every(v => typeof v === "string")))
            throw new RequestError(`${name} must map names to texts`);
        if (type === "a{sv}") {
            const typed = {};
            for (const [key, v] of Object.entries(value || {}))
                typed[key] = variantFor(method, key, v);
            args[i] = typed;
        }
    });
    return {
        method,
        signature: signature(method),
        args,
        timeout: TIMEOUTS[method],
        actions: method === "Unload" && !(values[1] && values[1].force)
            ? ["org.kmodgui.unload"] : [...spec.actions],
    };
}

/** A reply's a{sv} as plain values: {"kernel-log": {t: "as", v: [...]}} -> {"kernel-log": [...]}. */
export function unwrapResult(dict) {
    const out = { "kernel-log": [], "output": "", "files": [], "warnings": [] };
    for (const [key, value] of Object.entries(dict || {}))
        out[key] = value && typeof value === "object" && "v" in value && "t" in value ? value.v : value;
    return out;
}
