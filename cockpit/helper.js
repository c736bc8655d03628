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

/** Call `method` with `values`; resolves to the plain result, rejects with helperError(). */
export async function callHelper(method, values) {
    const call = request(method, values);
    try {
        const reply = await connection().call(OBJECT_PATH, INTERFACE, call.method, call.args,
                                              { type: call.signature, timeout: call.timeout });
        return unwrapResult(reply[0]);
    } catch (error) {
        throw helperError(error);
    }
}
