/* Reading the system: the kmodgui command's JSON output, run as the logged-in user
 * (reading needs no privilege; the CLI is the one reader shared with the window). */

function run(argv, options = {}) {
    return cockpit.spawn(["kmodgui", ...argv], { err: "message", ...options });
}

async function runJson(argv) {
    return JSON.parse(await run(argv));
}

export const listModules = () => runJson(["list", "--state", "all", "--json"]);
export const devices = () => runJson(["devices", "--json"]);
export const dependencies = module => runJson(["deps", "--json", "--", module]);
export const info = module => run(["info", "-m", "--", module]);

/** Upload `file` (a browser File) and run `kmodgui insert PATH PARAMS...`, which hands the
 * helper a descriptor (Cockpit's D-Bus channel cannot). The copy is removed afterwards. */
export async function insertFile(file, params) {
    const options = { superuser: "try", err: "message" };
    const dir = (await cockpit.spawn(["mktemp", "-d", "/tmp/kmodgui-upload.XXXXXX"], options)).trim();
    const name = file.name.replace(/[^A-Za-z0-9_.-]/g, "_") || "module.ko";
    const path = `${dir}/${name}`;
    try {
        const bytes = new Uint8Array(await file.arrayBuffer());
        await cockpit.file(path, { binary: true, superuser: "try" }).replace(bytes);
        return await cockpit.spawn(["kmodgui", "insert", path, ...params], options);
    } finally {
        await cockpit.spawn(["rm", "-rf", "--", dir], options).catch(() => {});
    }
}
