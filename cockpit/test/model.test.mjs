// Unit tests of the page's logic (model.js); run by `node --test` from tests/web/test_js_units.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as model from "../model.js";

const modules = [
    { name: "usb_storage", state: "loaded", description: "USB Mass Storage driver for Linux" },
    { name: "uas", state: "available", description: "USB Attached SCSI" },
    { name: "ext4", state: "builtin", description: "Fourth Extended Filesystem" },
    { name: "snd_hda_intel", state: "loaded-not-installed", description: "Intel HDA driver" },
];

test("search matches names in either spelling and descriptions, ignoring case", () => {
    const names = (q, s) => model.filterModules(modules, q, s).map(m => m.name);
    assert.deepEqual(names("usb"), ["usb_storage", "uas"]);
    assert.deepEqual(names("usb-stor"), ["usb_storage"]);
    assert.deepEqual(names("EXTENDED"), ["ext4"]);
    assert.deepEqual(names("  "), modules.map(m => m.name));
    assert.deepEqual(names("nothing-like-it"), []);
});

test("the state filter: loaded includes loaded without a file", () => {
    const names = s => model.filterModules(modules, "", s).map(m => m.name);
    assert.deepEqual(names("loaded"), ["usb_storage", "snd_hda_intel"]);
    assert.deepEqual(names("builtin"), ["ext4"]);
    assert.deepEqual(names("available"), ["uas"]);
    assert.deepEqual(names("all").length, 4);
});

test("modinfo text becomes field/value pairs, the signature's lines joined", () => {
    const text = "filename:       /lib/x.ko\nalias:          usb:v*p*\nparm:           quirks:list (string)\n" +
        "signature:      A7:3E:\n\t\t33:C0\nname:           x\n";
    assert.deepEqual(model.parseModinfo(text), [
        ["filename", "/lib/x.ko"], ["alias", "usb:v*p*"], ["parm", "quirks:list (string)"],
        ["signature", "A7:3E:\n33:C0"], ["name", "x"]]);
});

test("configured parameters: the last options line wins, with its file:line", () => {
    const m = {
        state: "loaded",
        parameters: [{ name: "rate", type: "int", value: "100", writable: true },
                     { name: "proto", type: "charp", value: null, hidden: true }],
        config: [{ kind: "options", value: "rate=60 proto=imps", file: "/etc/modprobe.d/a.conf", line: 1 },
                 { kind: "options", value: "rate=80", file: "/etc/modprobe.d/b.conf", line: 3 },
                 { kind: "blacklist", value: "", file: "/etc/modprobe.d/b.conf", line: 4 }],
    };
    const rows = model.parameterRows(m);
    assert.deepEqual(rows.map(r => [r.name, r.live, r.configured, r.configuredAt, r.writable]), [
        ["rate", "100", "80", "/etc/modprobe.d/b.conf:3", true],
        ["proto", "(hidden)", "imps", "/etc/modprobe.d/a.conf:1", false]]);
    assert.equal(model.blacklistMode(m), "autoload");
    assert.deepEqual(model.configRows(m)[2], { kind: "blacklist", value: "", where: "/etc/modprobe.d/b.conf:4" });
});

test("blacklist always and load at boot are read back from the settings", () => {
    const m = { config: [{ kind: "blacklist", value: "" }, { kind: "install", value: "/bin/false" },
                         { kind: "load", value: "dummy" }] };
    assert.equal(model.blacklistMode(m), "always");
    assert.equal(model.loadsAtBoot(m), true);
    assert.equal(model.blacklistMode({ config: [] }), "none");
    assert.equal(model.loadsAtBoot({}), false);
});

test("a parameter of a module that is not loaded is not editable live", () => {
    const rows = model.parameterRows({ state: "available", parameters: [{ name: "a", writable: true }] });
    assert.equal(rows[0].writable, false);
});

test("the load preview follows kmodgui deps' order", () => {
    const deps = { load_order: [
        { action: "insmod", module: "usbcore", relative_path: "kernel/usbcore.ko", options: "" },
        { action: "builtin", module: "crc16", relative_path: null, options: "" },
        { action: "install", module: "floppy", command: "/bin/false", options: "" },
        { action: "insmod", module: "uas", relative_path: "kernel/uas.ko", options: "delay=2 " }] };
    assert.deepEqual(model.previewRows(deps).map(r => [r.number, r.module, r.what, r.options]), [
        [1, "usbcore", "kernel/usbcore.ko", ""], [2, "crc16", "built into the kernel", ""],
        [3, "floppy", "runs: /bin/false", ""], [4, "uas", "kernel/uas.ko", "delay=2"]]);
});

test("devices waiting for a driver come first", () => {
    const devices = [
        { name: "b", bus: "pci", driver: "ahci", bindable: true, candidates: [{ module: "ahci" }] },
        { name: "z", bus: "pci", driver: null, bindable: true, candidates: [{ module: "e1000" }] },
        { name: "c", bus: "acpi", driver: null, bindable: true, candidates: [] },
        { name: "a", bus: "usb", driver: null, bindable: true, candidates: [{ module: "x" }] },
    ];
    assert.deepEqual(model.sortDevices(devices).map(d => d.name), ["z", "a", "c", "b"]);
    assert.equal(devices[0].name, "b", "the input is not reordered");
    assert.equal(model.deviceLabel({ name: "n", vendor: "Intel", product: "82540EM" }), "Intel 82540EM");
    assert.equal(model.deviceLabel({ name: "serio0", vendor: null, product: null }), "serio0");
});

test("parameter text for Load and for persistent options", () => {
    assert.deepEqual(model.parameterList("  a=1   b=x "), ["a=1", "b=x"]);
    assert.deepEqual(model.parameterList(""), []);
    assert.deepEqual(model.parameterDict("a=1 flag b=x=y"), { a: "1", flag: "", b: "x=y" });
});

test("refusals say administrative access is needed and how to get it", () => {
    for (const name of ["org.kmodgui.Error.NotAuthorized",
                        "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"]) {
        const e = model.explainError({ name, message: "not authorised" });
        assert.equal(e.access, true);
        assert.equal(e.title, "Administrative access is needed");
        assert.match(e.hint, /Limited access/);
    }
    const busy = model.explainError({ name: "org.kmodgui.Error.InUse", message: "held by x",
                                      kernelLog: ["k: line"] });
    assert.equal(busy.access, false);
    assert.equal(busy.title, "The module is in use");
    assert.equal(busy.message, "held by x");
    assert.deepEqual(busy.kernelLog, ["k: line"]);
    assert.equal(model.explainError({ name: "org.freedesktop.DBus.Error.ServiceUnknown", message: "" }).title,
                 "The kmodgui helper is not installed");
    assert.equal(model.explainError({ name: "org.kmodgui.Error.Whatever", message: "m" }).title,
                 "The operation failed");
});

test("a result keeps files, output, kernel lines and warnings", () => {
    const r = model.describeResult("Saved", { files: ["/etc/x"], output: " out \n", "kernel-log": ["k"],
                                              warnings: ["/etc/modprobe.d/z.conf:1 overrides"] });
    assert.deepEqual(r, { title: "Saved", files: ["/etc/x"], output: "out", kernelLog: ["k"],
                          warnings: ["/etc/modprobe.d/z.conf:1 overrides"] });
    assert.deepEqual(model.describeResult("x", {}).warnings, []);
});

test("a field repeated many times is folded after its first lines", () => {
    const rows = [["filename", "f"], ["alias", "a"], ["alias", "b"], ["alias", "c"], ["parm", "p"], ["alias", "d"]];
    assert.deepEqual([...model.foldedRows(rows, 2)], [3, 5]);
    assert.equal(model.foldedRows(rows, 5).size, 0);
});

test("the kernel lines of a helper error are picked from the transport", () => {
    const reply = '4:2!1\n' + JSON.stringify({ error: ["org.kmodgui.Error.UnknownSymbol",
        ["uas needs symbols", ["uas: Unknown symbol usb_stor_probe1 (err -2)"]]], id: "3" });
    assert.deepEqual(model.errorKernelLines(reply), {
        key: model.errorKey("org.kmodgui.Error.UnknownSymbol", "uas needs symbols"),
        lines: ["uas: Unknown symbol usb_stor_probe1 (err -2)"] });
    assert.equal(model.errorKernelLines('4:2!1\n{"reply": [[{}]], "id": "3"}'), null);
    assert.equal(model.errorKernelLines('4:2!1\n{"error": ["x.Error", ["only a message"]]}'), null);
    assert.equal(model.errorKernelLines('4:2!1\n{"error": not json'), null);
    assert.equal(model.errorKernelLines(new Uint8Array(3)), null);
});
