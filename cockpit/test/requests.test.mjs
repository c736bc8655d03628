// Unit tests of the request vocabulary (requests.js): signatures, typed options, refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { METHODS, RequestError, TIMEOUTS, request, signature, unwrapResult } from "../requests.js";

test("signatures come from the argument table", () => {
    assert.equal(signature("Load"), "sasa{sv}");
    assert.equal(signature("SetPersistentOptions"), "sa{ss}a{sv}");
    assert.equal(signature("SetLoadAtBoot"), "sba{sv}");
    assert.equal(signature("GetCapabilities"), "");
    assert.throws(() => signature("Format"), RequestError);
});

test("every method but InsertFile has a timeout", () => {
    for (const name of Object.keys(METHODS).filter(n => n !== "InsertFile"))
        assert.ok(TIMEOUTS[name] > 0, name);
});

test("a request: the options dictionary typed, omitted options added", () => {
    const r = request("Unload", ["dummy", { force: true }]);
    assert.deepEqual(r.args, ["dummy", { force: { t: "b", v: true } }]);
    assert.equal(r.signature, "sa{sv}");
    assert.deepEqual(r.actions, ["org.kmodgui.unload", "org.kmodgui.force-unload"]);
    assert.deepEqual(request("Unload", ["dummy"]).actions, ["org.kmodgui.unload"]);
    assert.deepEqual(request("Load", ["dummy", ["numdummies=2"]]).args, ["dummy", ["numdummies=2"], {}]);
    assert.equal(request("Load", ["dummy", []]).timeout, TIMEOUTS.Load);
});

test("wrong requests are refused before anything is sent", () => {
    assert.throws(() => request("Unload", ["dummy", { bogus: true }]), /no option 'bogus'/);
    assert.throws(() => request("Unload", ["dummy", { force: "yes" }]), RequestError);
    assert.throws(() => request("SetLoadAtBoot", ["dummy", "on"]), RequestError);
    assert.throws(() => request("Load", ["dummy", "a=1"]), RequestError);
    assert.throws(() => request("SetPersistentOptions", ["dummy", { a: 1 }]), RequestError);
    assert.throws(() => request("Load", ["dummy"]), /takes 3 arguments/);
    assert.throws(() => request("InsertFile", [0, [], {}]), /file descriptor/);
});

test("a reply's variants are unwrapped, missing keys default", () => {
    const r = unwrapResult({ files: { t: "as", v: ["/etc/x"] }, warnings: { t: "as", v: ["w"] } });
    assert.deepEqual(r, { "kernel-log": [], output: "", files: ["/etc/x"], warnings: ["w"] });
});
