/* The page: wires the reader (kmodgui's JSON), the helper calls and the DOM together.
 * The logic worth testing lives in model.js and requests.js; this file is glue. */

import * as model from "./model.js";
import * as reader from "./reader.js";
import { callHelper } from "./helper.js";
import { followTheme } from "./theme.js";

const REFRESH_MS = 30000;
const FOLD_AFTER = 3;   // a field repeated more often (aliases) shows its first lines only
const $ = id => document.getElementById(id);

const state = {
    modules: [],
    release: "",
    selected: null,
    busy: false,
    reading: 0,   // re-reads under way (body[data-reading] says so, for tests)
};

function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
        if (key === "class")
            node.className = value;
        else if (key.startsWith("on"))
            node.addEventListener(key.slice(2), value);
        else
            node.setAttribute(key, value);
    }
    for (const child of children.flat())
        node.append(child instanceof Node ? child : String(child ?? ""));
    return node;
}

function formatSize(bytes) {
    if (bytes == null)
        return "";
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

// --- outcome: the helper's answer --------------------------------------------------

function showResult(summary) {
    $("outcome").hidden = false;
    $("error").hidden = true;
    $("result").hidden = false;
    $("result-title").textContent = summary.title;
    $("result-files").replaceChildren(...summary.files.map(f => el("li", {}, `Wrote ${f}`)));
    $("result-output").hidden = !summary.output;
    $("result-output").textContent = summary.output;
    $("result-warnings").replaceChildren(...summary.warnings.map(w => el("li", { class: "kg-warning" }, w)));
    $("result-kernel").hidden = !summary.kernelLog.length;
    $("result-kernel").textContent = summary.kernelLog.join("\n");
}

function showError(error) {
    const e = model.explainError(error);
    $("outcome").hidden = false;
    $("result").hidden = true;
    $("error").hidden = false;
    $("error").dataset.access = e.access ? "yes" : "no";
    $("error").dataset.name = e.name;
    $("error-title").textContent = e.title;
    $("error-message").textContent = e.message;
    $("error-hint").hidden = !e.hint;
    $("error-hint").textContent = e.hint;
    $("error-kernel").hidden = !e.kernelLog.length;
    $("error-kernel").textContent = e.kernelLog.join("\n");
}

async function change(what, method, values) {
    if (state.busy)
        return;
    state.busy = true;
    document.body.classList.add("kg-busy");
    try {
        const result = await callHelper(method, values);
        showResult(model.describeResult(what, result));
    } catch (error) {
        showError(error);
    } finally {
        state.busy = false;
        document.body.classList.remove("kg-busy");
        await refresh();
    }
}

// --- the modules table --------------------------------------------------------------

function renderTable() {
    const rows = model.filterModules(state.modules, $("search").value, $("state-filter").value);
    const body = $("modules-table").tBodies[0];
    const fragment = document.createDocumentFragment();
    for (const m of rows) {
        const tr = el("tr", { "data-name": m.name, tabindex: "0" },
                      el("td", { class: "kg-name" }, m.name),
                      el("td", {}, el("span", { class: `kg-label kg-state-${m.state}` },
                                      model.STATE_LABELS[m.state] || m.state)),
                      el("td", { class: "kg-num" }, formatSize(m.size ?? m.file_size)),
                      el("td", {}, m.holders.join(", ")),
                      el("td", { class: "kg-desc", title: m.description }, m.description));
        if (m.name === state.selected)
            tr.classList.add("kg-selected");
        fragment.append(tr);
    }
    body.replaceChildren(fragment);
    $("module-count").textContent = `${rows.length} of ${state.modules.length} modules`;
    $("list-status").hidden = rows.length > 0;
    $("list-status").textContent = state.modules.length ? "No module matches." : $("list-status").textContent;
}

async function refresh() {
    state.reading += 1;
    document.body.dataset.reading = "yes";
    try {
        const list = await reader.listModules();
        state.modules = list.modules;
        state.release = list.release;
        $("list-warnings").textContent = list.warnings.length ? `${list.warnings.length} files could not be read` : "";
        $("list-warnings").title = list.warnings.join("\n");
        renderTable();
        // not while the user is typing in the details (a live value, options)
        const typing = $("details").contains(document.activeElement) &&
            document.activeElement.tagName === "INPUT" && document.activeElement.type === "text";
        if (state.selected && !typing)
            await showDetails(state.selected, false);
    } catch (error) {
        $("list-status").hidden = false;
        $("list-status").textContent = `kmodgui list failed: ${error.message || error}`;
    }
    if (!$("page-hardware").hidden)
        await refreshDevices();
    state.reading -= 1;
    if (!state.reading)
        document.body.dataset.reading = "no";
}

// --- details ----------------------------------------------------------------------------

function names(list) {
    return list.length ? list.join(", ") : "none";
}

async function showDetails(name, scroll = true) {
    const m = state.modules.find(x => x.name === name);
    if (!m)
        return;
    state.selected = name;
    for (const tr of $("modules-table").tBodies[0].rows)
        tr.classList.toggle("kg-selected", tr.dataset.name === name);
    $("details").hidden = false;
    document.querySelector(".kg-split").classList.add("kg-with-details");
    $("details").dataset.module = name;
    $("details-name").textContent = m.name;
    $("details-state").textContent = model.STATE_LABELS[m.state] || m.state;
    $("details-state").className = `kg-label kg-state-${m.state}`;
    $("details-description").textContent = m.description;
    $("action-load").hidden = m.state !== "available";
    $("action-unload").hidden = m.state !== "loaded";

    const params = model.parameterRows(m);
    $("parameters").tBodies[0].replaceChildren(...params.map(p => el("tr", { "data-param": p.name },
        el("td", { class: "kg-name" }, p.name),
        el("td", {}, p.type),
        el("td", {}, p.writable ? liveEditor(m.name, p) : p.live),
        el("td", { title: p.configuredAt }, p.configured),
        el("td", {}, p.description))));
    $("parameters").hidden = !params.length;
    $("parameters-empty").hidden = params.length > 0;
    const configured = model.configuredParameters(m);
    // a re-read does not overwrite what the user is typing for this module
    if ($("options-input").dataset.editing !== name)
        $("options-input").value = Object.entries(configured).map(([k, v]) => v.value ? `${k}=${v.value}` : k).join(" ");

    const deps = model.dependencyLists(m);
    $("deps-on").textContent = names(deps.dependsOn);
    $("deps-by").textContent = names(deps.requiredBy);
    $("deps-holders").textContent = names(deps.holders);
    $("deps-soft").textContent = deps.softPre.length || deps.softPost.length
        ? `pre: ${names(deps.softPre)}; post: ${names(deps.softPost)}` : "none";

    const config = model.configRows(m);
    $("config").tBodies[0].replaceChildren(...config.map(c => el("tr", {},
        el("td", {}, c.kind), el("td", { class: "kg-mono" }, c.value), el("td", { class: "kg-mono" }, c.where))));
    $("config").hidden = !config.length;
    $("config-empty").hidden = config.length > 0;
    $("blacklist-mode").value = model.blacklistMode(m);
    $("boot-toggle").checked = model.loadsAtBoot(m);

    try {
        const text = await reader.info(name);
        if (state.selected !== name)
            return;
        const rows = model.parseModinfo(text);
        const folded = model.foldedRows(rows, FOLD_AFTER);
        $("modinfo").tBodies[0].replaceChildren(...rows.map(([field, value], i) =>
            el("tr", { class: folded.has(i) ? "kg-folded" : "" },
               el("th", {}, field), el("td", { class: "kg-mono" }, value))));
        $("modinfo").dataset.module = name;
        $("modinfo").classList.remove("kg-unfolded");
        $("modinfo-more").hidden = !folded.size;
        $("modinfo-more").textContent = `Show ${folded.size} more lines (aliases, firmware, parameters)`;
    } catch (error) {
        $("modinfo").tBodies[0].replaceChildren(el("tr", {}, el("td", {}, `kmodgui info failed: ${error.message || error}`)));
    }
    if (scroll)
        $("details").scrollTop = 0;
}

function liveEditor(module, p) {
    const input = el("input", { type: "text", value: p.live, "aria-label": `Value of ${p.name}`, spellcheck: "false" });
    const button = el("button", { class: "kg-btn kg-btn-secondary kg-small", type: "button" }, "Set");
    button.addEventListener("click", () =>
        change(`Set ${module}.${p.name}`, "SetParameter", [module, p.name, input.value.trim()]));
    return el("span", { class: "kg-live" }, input, button);
}

// --- dialogs ------------------------------------------------------------------------

async function openLoad(name) {
    $("load-name").textContent = name;
    $("load-preview").replaceChildren(el("li", { class: "kg-muted" }, "Reading dependencies…"));
    $("load-required-by").textContent = "";
    $("load-params").value = "";
    $("load-dialog").dataset.module = name;
    $("load-dialog").showModal();
    try {
        const deps = await reader.dependencies(name);
        $("load-preview").replaceChildren(...model.previewRows(deps).map(r =>
            el("li", { "data-module": r.module },
               el("span", { class: "kg-name" }, r.module), " ", el("span", { class: "kg-muted kg-mono" }, r.what),
               r.options ? el("span", { class: "kg-mono" }, ` [${r.options}]`) : "")));
        const needed = Object.values(deps.required_by || {}).flat();
        $("load-required-by").textContent = needed.length ? `Modules that depend on it: ${needed.join(", ")}` : "";
    } catch (error) {
        $("load-preview").replaceChildren(el("li", {}, `kmodgui deps failed: ${error.message || error}`));
    }
}

function openUnload(name) {
    const m = state.modules.find(x => x.name === name);
    $("unload-name").textContent = name;
    $("unload-dialog").dataset.module = name;
    $("unload-holders").textContent = m && m.holders.length
        ? `In use by: ${m.holders.join(", ")}. Unload those first.`
        : m && m.refcount ? `Its use count is ${m.refcount}.` : "Nothing holds it now.";
    $("unload-deps").checked = false;
    $("unload-force").checked = false;
    $("unload-dialog").showModal();
}

// --- hardware ---------------------------------------------------------------------------

async function refreshDevices() {
    try {
        const devices = model.sortDevices(await reader.devices());
        $("devices-table").tBodies[0].replaceChildren(...devices.map(d => {
            const waiting = d.bindable && !d.driver && d.candidates.length > 0;
            return el("tr", { "data-device": d.syspath, class: waiting ? "kg-waiting" : "" },
                el("td", { title: d.modalias || "" }, el("div", { class: "kg-name" }, model.deviceLabel(d)),
                   el("div", { class: "kg-muted kg-small-text kg-ellipsis" },
                      model.deviceLabel(d) === d.name ? (d.modalias || "") : d.name)),
                el("td", {}, d.bus),
                el("td", {}, d.driver ? `${d.driver}${d.driver_module ? ` (${d.driver_module})` : ""}`
                    : el("span", { class: "kg-label kg-state-none" }, "No driver")),
                el("td", {}, ...d.candidates.map(c => el("span", { class: "kg-candidate" }, c.module,
                    !d.driver && c.state === "available"
                        ? el("button", { class: "kg-btn kg-btn-secondary kg-small", type: "button", "data-enable": c.module,
                                         onclick: () => change(`Load ${c.module}`, "Load", [c.module, []]) }, "Enable")
                        : ""))));
        }));
        $("devices-status").hidden = devices.length > 0;
        $("devices-status").textContent = "No devices found.";
    } catch (error) {
        $("devices-status").hidden = false;
        $("devices-status").textContent = `kmodgui devices failed: ${error.message || error}`;
    }
}

function showPage(page) {
    for (const tab of document.querySelectorAll(".kg-tab"))
        tab.setAttribute("aria-selected", String(tab.dataset.page === page));
    $("page-modules").hidden = page !== "modules";
    $("page-hardware").hidden = page !== "hardware";
    if (page === "hardware")
        refreshDevices();
}

// --- wiring -----------------------------------------------------------------------------

function wire() {
    $("search").addEventListener("input", renderTable);
    $("state-filter").addEventListener("change", renderTable);
    $("modules-table").tBodies[0].addEventListener("click", e => {
        const tr = e.target.closest("tr");
        if (tr)
            showDetails(tr.dataset.name);
    });
    $("modules-table").tBodies[0].addEventListener("keydown", e => {
        if (e.key === "Enter" && e.target.dataset.name)
            showDetails(e.target.dataset.name);
    });
    for (const tab of document.querySelectorAll(".kg-tab"))
        tab.addEventListener("click", () => showPage(tab.dataset.page));
    $("outcome-close").addEventListener("click", () => { $("outcome").hidden = true });
    $("modinfo-more").addEventListener("click", () => {
        $("modinfo").classList.add("kg-unfolded");
        $("modinfo-more").hidden = true;
    });

    $("action-load").addEventListener("click", () => openLoad(state.selected));
    $("action-unload").addEventListener("click", () => openUnload(state.selected));
    $("load-dialog").addEventListener("close", () => {
        if ($("load-dialog").returnValue === "load") {
            const name = $("load-dialog").dataset.module;
            change(`Loaded ${name}`, "Load", [name, model.parameterList($("load-params").value)]);
        }
    });
    $("unload-dialog").addEventListener("close", () => {
        if ($("unload-dialog").returnValue === "unload") {
            const name = $("unload-dialog").dataset.module;
            const options = {};
            if ($("unload-deps").checked)
                options.dependencies = true;
            if ($("unload-force").checked)
                options.force = true;
            change(`Unloaded ${name}`, "Unload", [name, options]);
        }
    });
    $("options-input").addEventListener("input", () => { $("options-input").dataset.editing = state.selected });
    $("options-form").addEventListener("submit", e => {
        e.preventDefault();
        const name = state.selected;
        delete $("options-input").dataset.editing;
        change(`Saved options for ${name}`, "SetPersistentOptions", [name, model.parameterDict($("options-input").value)]);
        $("options-input").blur();
    });
    $("blacklist-form").addEventListener("submit", e => {
        e.preventDefault();
        const name = state.selected;
        change(`Blacklist of ${name}: ${$("blacklist-mode").selectedOptions[0].textContent}`,
               "SetBlacklist", [name, $("blacklist-mode").value]);
    });
    $("boot-toggle").addEventListener("change", () => {
        const name = state.selected;
        const on = $("boot-toggle").checked;
        change(on ? `${name} loads at boot` : `${name} no longer loads at boot`, "SetLoadAtBoot", [name, on]);
    });
    $("rebuild-index").addEventListener("click", () =>
        change(`Rebuilt the index of ${state.release}`, "RebuildIndex", [state.release]));
    $("insert-file").addEventListener("click", () => {
        $("insert-input").value = "";
        $("insert-dialog").showModal();
    });
    $("insert-dialog").addEventListener("close", async () => {
        const file = $("insert-input").files[0];
        if ($("insert-dialog").returnValue !== "insert" || !file)
            return;
        try {
            const out = await reader.insertFile(file, model.parameterList($("insert-params").value));
            showResult({ title: `Loaded ${file.name}`, files: [], output: out.trim(), kernelLog: [], warnings: [] });
        } catch (error) {
            showError({ name: "", message: error.message || String(error) });
        }
        await refresh();
    });
}

function start() {
    followTheme();
    wire();
    refresh();
    // re-read while visible; never pile re-reads up behind a slow one
    window.setInterval(() => { if (!cockpit.hidden && !state.busy && !state.reading) refresh() },
                       REFRESH_MS);
    cockpit.addEventListener("visibilitychange", () => { if (!cockpit.hidden) refresh() });
}

start();
