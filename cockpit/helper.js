/* Changing the system: calls to org.kmodgui.Helper1 through cockpit.dbus.
 *
 * `superuser: "try"`: with administrative access on, Cockpit's privileged bridge makes the
 * call (uid 0); with limited access the user's own bridge does, and polkit decides. The
 * page never guesses which: it shows the helper's answer.
 *
 * cockpit.dbus keeps only the first string of an error's body; the helper sends
 * (message, kernel lines), so a transport filter keeps the kernel lines of the helper's
 * errors as they pass, keyed by error name and message.
 */

import { errorKernelLines, errorKey } from "./model.js";
import { BUS_NAME, INTERFACE, OBJECT_PATH, request, unwrapResult } from "./requests.js";

const kernelLines = new Map();
let filterInstalled = false;
let client = null;

function catchErrorBodies() {
    if (filterInstalled)
        return;
    filterInstalled = true;
    cockpit.transport.filter((data, channel) => {
        const found = channel ? errorKernelLines(data) : null;
        if (found)
            kernelLines.set(found.key, found.lines);
        return true;
    }, false);
}

function connection() {
    if (!client) {
        catchErrorBodies();
        client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
        client.addEventListener("close", () => { client = null });
    }
    return client;
}

/** A helper error as the page shows it: name, message, the kernel's lines. */
export function helperError(error) {
    const name = error?.name || "";
    const message = error?.message || String(error);
    const key = errorKey(name, message);
    const kernelLog = kernelLines.get(key) || [];
    kernelLines.delete(key);
    return { name, message, kernelLog, problem: error?.problem || null };
}

// Past the call's own D-Bus timeout: a bridge that never settles a call (its channel
// closed under it) must not leave the page waiting for ever.
const GUARD_MS = 15000;

function settledWithin(promise, ms) {
    let timer;
    const late = new Promise((resolve, reject) => {
        timer = window.setTimeout(() => reject({ name: "", problem: "timeout",
                                                 message: `no answer within ${Math.round(ms / 1000)} s` }), ms);
    });
    return Promise.race([promise, late]).finally(() => window.clearTimeout(timer));
}

/** Call `method` with `values`; resolves to the plain result, rejects with helperError(). */
export async function callHelper(method, values) {
    const call = request(method, values);
    try {
        const reply = await settledWithin(
            connection().call(OBJECT_PATH, INTERFACE, call.method, call.args,
                              { type: call.signature, timeout: call.timeout }),
            call.timeout + GUARD_MS);
        return unwrapResult(reply[0]);
    } catch (error) {
        if (error?.problem === "timeout")
            client?.close();      // the next call opens a fresh channel
        throw helperError(error);
    }
}
