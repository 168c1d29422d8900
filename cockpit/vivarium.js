/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Vivarium's Cockpit page. Everything goes through cockpit.dbus() to
 * org.vivarium1 on the system bus, with Cockpit's superuser bridge when the
 * session has one ("try"), so polkit decides as for any other caller:
 *  - the container list and the networks are read again when a signal says
 *    something changed (ContainerNew/Removed/Event, NetworkEvent,
 *    PropertiesChanged on a container): no polling for state;
 *  - memory and CPU come from GetStats, which has no signal: asked every
 *    2 s for running containers while the page is visible;
 *  - the console is an OpenConsoleStream session (Cockpit's D-Bus channel
 *    carries no fds): Output signals in, Write calls out.
 */
"use strict";

(function () {
    const _ = cockpit.gettext;
    const BUS = "org.vivarium1";
    const MANAGER = "/org/vivarium1";
    const MANAGER_IFACE = "org.vivarium1.Manager";
    const CONTAINER_IFACE = "org.vivarium1.Container";
    const NETWORK_IFACE = "org.vivarium1.Network";
    const STREAM_IFACE = "org.vivarium1.ConsoleStream";
    const STATS_INTERVAL_MS = 2000;
    const GRAPH_SAMPLES = 90;
    const CONSOLE_MAX_CHARS = 200000;

    let client = null;
    let containers = [];          /* ListContainers' rows, by order */
    const usage = {};             /* name -> { cpu: [%], mem: [bytes], last: {t, cpu} , memMax } */
    let selected = null;          /* name shown in the details */
    let consoleSession = null;    /* { name, path, decoder } */

    const $ = id => document.getElementById(id);

    function showError(err) {
        const box = $("viv-alert");
        box.textContent = (err && (err.message || err.problem)) ? (err.message || err.problem) : String(err);
        box.hidden = false;
    }

    function clearError() {
        $("viv-alert").hidden = true;
    }

    function call(path, iface, method, args) {
        return client.call(path, iface, method, args);
    }

    function manager(method, args) {
        return call(MANAGER, MANAGER_IFACE, method, args);
    }

    /* --- formatting ------------------------------------------------------ */

    function formatBytes(n) {
        if (n === undefined || n === null)
            return "";
        const units = ["B", "KiB", "MiB", "GiB", "TiB"];
        let i = 0;
        while (n >= 1024 && i < units.length - 1) {
            n /= 1024;
            i++;
        }
        return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
    }

    function stateClass(state) {
        return "viv-state viv-state-" + state.replace(/ /g, "-");
    }

    function el(tag, attrs, ...children) {
        const e = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs || {})) {
            if (k === "class")
                e.className = v;
            else if (k.startsWith("on"))
                e.addEventListener(k.slice(2), v);
            else
                e.setAttribute(k, v);
        }
        for (const c of children)
            e.append(c instanceof Node ? c : document.createTextNode(String(c)));
        return e;
    }

    /* --- the container list ---------------------------------------------- */

    const ACTIONS = {
        "shut off": [["start", _("Start")]],
        running: [["shutdown", _("Shut down")], ["reboot", _("Reboot")], ["suspend", _("Pause")],
            ["destroy", _("Force off")]],
        paused: [["resume", _("Resume")], ["destroy", _("Force off")]],
    };

    function runAction(name, action) {
        clearError();
        const methods = {
            start: ["Start", [name, 0]],
            shutdown: ["Shutdown", [name]],
            reboot: ["Reboot", [name]],
            suspend: ["Suspend", [name]],
            resume: ["Resume", [name]],
            destroy: ["Destroy", [name]],
        };
        const [method, args] = methods[action];
        return manager(method, args).catch(showError);
    }

    function renderContainers() {
        const tbody = $("containers").tBodies[0];
        tbody.replaceChildren();
        for (const c of containers) {
            const u = usage[c.name];
            const running = c.state !== "shut off";
            const cpu = running && u && u.cpu.length ? u.cpu[u.cpu.length - 1].toFixed(1) + " %" : "";
            const mem = running && u && u.mem.length ? formatBytes(u.mem[u.mem.length - 1]) : "";
            const buttons = (ACTIONS[c.state] || []).map(([action, label]) =>
                el("button", {
                    class: "viv-btn" + (action === "destroy" ? " viv-btn-danger" : ""),
                    "data-action": action,
                    onclick: ev => { ev.stopPropagation(); runAction(c.name, action) },
                }, label));
            const row = el("tr", { "data-name": c.name, onclick: () => select(c.name) },
                el("td", { class: "viv-name" }, c.name),
                el("td", { class: stateClass(c.state), "data-state": c.state }, c.state),
                el("td", { class: "viv-id" }, c.id ? String(c.id) : "-"),
                el("td", { class: "viv-memory" }, mem),
                el("td", { class: "viv-cpu-use" }, cpu),
                el("td", {}, ...buttons));
            if (c.name === selected)
                row.classList.add("viv-selected");
            tbody.append(row);
        }
        $("containers-empty").hidden = containers.length > 0;
    }

    let listPending = null;
    let listAgain = false;
    function refreshContainers() {
        /* Signals come in bursts (event + properties): one call at a time.
         * A signal that comes while a call is pending asks for one more
         * call after it: the pending answer may predate that change (a
         * reboot's "started" can come after the answer that said "shut
         * off" but before cockpit's promise settled, which takes a few
         * timer turns), and no further signal would correct the list. */
        if (listPending) {
            listAgain = true;
            return listPending;
        }
        listAgain = false;
        listPending = manager("ListContainers", []).then(([rows]) => {
            containers = rows.map(([name, uuid, id, state, title, path]) => ({ name, uuid, id, state, title, path }));
            renderContainers();
            if (selected && !containers.find(c => c.name === selected))
                select(null);
            else if (selected)
                renderDetails();
        }).catch(showError).finally(() => {
            listPending = null;
            if (listAgain)
                refreshContainers();
        });
        return listPending;
    }

    /* --- networks -------------------------------------------------------- */

    function refreshNetworks() {
        return manager("ListNetworks", []).then(([rows]) =>
            Promise.all(rows.map(([name, uuid, active, autostart, path]) =>
                call(path, "org.freedesktop.DBus.Properties", "Get", [NETWORK_IFACE, "Bridge"])
                        .then(([v]) => ({ name, active, autostart, bridge: v.v }))
                        .catch(() => ({ name, active, autostart, bridge: "" }))))
        ).then(nets => {
            const tbody = $("networks").tBodies[0];
            tbody.replaceChildren(...nets.map(n => el("tr", { "data-network": n.name },
                el("td", {}, n.name),
                el("td", { class: stateClass(n.active ? "running" : "shut off") }, n.active ? _("active") : _("inactive")),
                el("td", {}, n.autostart ? _("yes") : _("no")),
                el("td", {}, n.bridge))));
        }).catch(showError);
    }

    /* --- details ------------------------------------------------------------ */

    function select(name) {
        if (consoleSession && consoleSession.name !== name)
            consoleDisconnect();
        selected = name;
        $("details").hidden = !name;
        $("console-screen").textContent = "";
        renderContainers();
        if (name)
            renderDetails();
    }

    function text(doc, path) {
        const n = doc.querySelector(path);
        return n ? n.textContent.trim() : "";
    }

    function withUnit(doc, path) {
        const n = doc.querySelector(path);
        if (!n)
            return "";
        return n.textContent.trim() + " " + (n.getAttribute("unit") || "KiB");
    }

    function renderDetails() {
        const c = containers.find(x => x.name === selected);
        if (!c)
            return;
        $("details-title").textContent = c.name;
        Promise.all([
            manager("GetXML", [c.name, 0]),
            call(c.path, "org.freedesktop.DBus.Properties", "GetAll", [CONTAINER_IFACE]),
        ]).then(([[xml], [props]]) => {
            if (selected !== c.name)
                return;
            $("details-xml").textContent = xml;
            $("details-autostart").checked = !!(props.Autostart && props.Autostart.v);
            $("details-undefine").disabled = !(props.Persistent && props.Persistent.v);

            const doc = new DOMParser().parseFromString(xml, "application/xml");
            const facts = [
                [_("State"), c.state],
                [_("Id"), c.id ? String(c.id) : "-"],
                [_("UUID"), c.uuid],
                [_("Unit"), props.Unit ? props.Unit.v : ""],
                [_("Init"), text(doc, "os > init")],
                [_("Memory"), withUnit(doc, "domain > memory")],
                [_("Memory hard limit"), withUnit(doc, "memtune > hard_limit")],
                [_("vCPUs"), text(doc, "domain > vcpu")],
                [_("CPU shares"), text(doc, "cputune > shares")],
                [_("CPU quota / period"), doc.querySelector("cputune > quota")
                    ? text(doc, "cputune > quota") + " / " + text(doc, "cputune > period") : ""],
                [_("Persistent"), props.Persistent && props.Persistent.v ? _("yes") : _("no")],
            ].filter(([, v]) => v);
            $("details-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));

            const ifaces = Array.from(doc.querySelectorAll("devices > interface"));
            $("details-no-interfaces").hidden = ifaces.length > 0;
            $("details-interfaces").tBodies[0].replaceChildren(...ifaces.map(i => {
                const src = i.querySelector("source");
                const source = src ? (src.getAttribute("network") || src.getAttribute("bridge") || src.getAttribute("dev") || "") : "";
                const mac = i.querySelector("mac");
                const target = i.querySelector("target");
                const addrs = Array.from(i.querySelectorAll("ip")).map(ip =>
                    ip.getAttribute("address") + (ip.getAttribute("prefix") ? "/" + ip.getAttribute("prefix") : ""));
                return el("tr", {},
                    el("td", {}, i.getAttribute("type") || ""), el("td", {}, source),
                    el("td", {}, mac ? mac.getAttribute("address") : ""),
                    el("td", {}, target ? target.getAttribute("dev") : ""),
                    el("td", {}, addrs.join(", ")));
            }));
            drawGraph();
        }).catch(showError);
    }

    function setAutostart(on) {
        clearError();
        manager("SetAutostart", [selected, on]).catch(err => {
            showError(err);
            renderDetails();
        });
    }

    function undefine() {
        clearError();
        manager("Undefine", [selected]).catch(showError);
    }

    function showTab(tab) {
        for (const b of document.querySelectorAll(".viv-tab"))
            b.classList.toggle("viv-tab-active", b.dataset.tab === tab);
        for (const t of ["overview", "console", "xml"])
            $("tab-" + t).hidden = t !== tab;
    }

    /* --- usage: GetStats and the graph ------------------------------------- */

    function sampleStats() {
        const running = containers.filter(c => c.state === "running");
        return Promise.all(running.map(c => manager("GetStats", [c.name]).then(([stats]) => {
            const u = usage[c.name] || (usage[c.name] = { cpu: [], mem: [], last: null, memMax: 0 });
            const now = performance.now();
            const cpuNs = stats["cpu.time"] ? Number(stats["cpu.time"].v) : 0;
            if (u.last && now > u.last.t)
                u.cpu.push(Math.max(0, (cpuNs - u.last.cpu) / ((now - u.last.t) * 1e6) * 100));
            u.last = { t: now, cpu: cpuNs };
            if (stats["memory.current"])
                u.mem.push(Number(stats["memory.current"].v));
            const max = stats["memory.max"] ? Number(stats["memory.max"].v) : 0;
            u.memMax = max > 0 && max < 2 ** 60 ? max : 0;
            for (const l of [u.cpu, u.mem])
                while (l.length > GRAPH_SAMPLES)
                    l.shift();
        }).catch(() => {}))).then(() => {
            renderContainers();
            drawGraph();
        });
    }

    function drawGraph() {
        const canvas = $("details-graph");
        const ctx = canvas.getContext("2d");
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        const u = selected && usage[selected];
        const c = containers.find(x => x.name === selected);
        if (!u || !c || c.state === "shut off") {
            $("graph-cpu").textContent = "";
            $("graph-mem").textContent = "";
            return;
        }
        const h = canvas.height - 4;
        const step = canvas.width / (GRAPH_SAMPLES - 1);
        const memTop = u.memMax || Math.max(1, ...u.mem) * 1.25;
        const cpuTop = Math.max(100, ...u.cpu);
        const line = (values, top, colour) => {
            ctx.strokeStyle = colour;
            ctx.lineWidth = 2;
            ctx.beginPath();
            values.forEach((v, i) => {
                const x = canvas.width - (values.length - 1 - i) * step;
                const y = 2 + h - (v / top) * h;
                if (i === 0)
                    ctx.moveTo(x, y);
                else
                    ctx.lineTo(x, y);
            });
            ctx.stroke();
        };
        line(u.cpu, cpuTop, "#06c");
        line(u.mem, memTop, "#3e8635");
        $("graph-cpu").textContent = u.cpu.length ? u.cpu[u.cpu.length - 1].toFixed(1) + " %" : "";
        $("graph-mem").textContent = u.mem.length
            ? formatBytes(u.mem[u.mem.length - 1]) + (u.memMax ? " / " + formatBytes(u.memMax) : "") : "";
    }

    /* --- console ------------------------------------------------------------- */

    function b64ToBytes(s) {
        return Uint8Array.from(atob(s), ch => ch.charCodeAt(0));
    }

    function bytesToB64(bytes) {
        let s = "";
        for (const b of bytes)
            s += String.fromCharCode(b);
        return btoa(s);
    }

    /* A serial console speaks VT100: show its text, drop what only a
     * terminal would act on (colours, cursor moves, titles). */
    function consoleAppend(str) {
        const screen = $("console-screen");
        let t = screen.textContent;
        str = str.replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, "")
            .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "")
            .replace(/\x1b[()][A-Za-z0-9]/g, "")
            .replace(/\x1b./g, "")
            .replace(/\r\n/g, "\n");
        for (const ch of str) {
            if (ch === "\b")
                t = t.slice(0, -1);
            else if (ch === "\r" || ch === "\x07")
                continue;
            else
                t += ch;
        }
        if (t.length > CONSOLE_MAX_CHARS)
            t = t.slice(t.length - CONSOLE_MAX_CHARS);
        screen.textContent = t;
        screen.scrollTop = screen.scrollHeight;
    }

    /* on: a session is open. pending: OpenConsoleStream is under way; the
     * input stays disabled until its answer, as a line typed before would
     * have no session to go to and be lost. */
    function consoleSetConnected(on, status, pending) {
        $("console-connect").disabled = on || !!pending;
        $("console-disconnect").disabled = !on;
        for (const id of ["console-input", "console-send", "console-ctrl-c", "console-ctrl-d"])
            $(id).disabled = !on;
        $("console-status").textContent = status || "";
        $("console-screen").dataset.connected = on ? "yes" : "no";
    }

    function consoleConnect() {
        clearError();
        const name = selected;
        const flags = $("console-force").checked ? 1 : 0;
        consoleSetConnected(false, _("Connecting..."), true);
        manager("OpenConsoleStream", [name, flags]).then(([path]) => {
            consoleSession = { name, path, decoder: new TextDecoder("utf-8") };
            consoleSetConnected(true, cockpit.format(_("Connected to $0"), name));
            $("console-input").focus();
        }).catch(err => {
            consoleSetConnected(false, "");
            showError(err);
        });
    }

    function consoleDisconnect() {
        const s = consoleSession;
        consoleSession = null;
        consoleSetConnected(false, _("Disconnected"));
        if (s)
            call(s.path, STREAM_IFACE, "Close", []).catch(() => {});
    }

    function consoleWrite(bytes) {
        const s = consoleSession;
        if (!s)
            return;
        call(s.path, STREAM_IFACE, "Write", [bytesToB64(bytes)]).catch(err => {
            showError(err);
            consoleDisconnect();
        });
    }

    function onStreamSignal(path, iface, signal, args) {
        const s = consoleSession;
        if (!s || path !== s.path)
            return;
        if (signal === "Output") {
            consoleAppend(s.decoder.decode(b64ToBytes(args[0]), { stream: true }));
        } else if (signal === "Closed") {
            consoleSession = null;
            consoleSetConnected(false, cockpit.format(_("Console closed ($0)"), args[0]));
        }
    }

    /* --- define ------------------------------------------------------------ */

    function define() {
        clearError();
        const xml = $("define-xml").value;
        const errBox = $("define-error");
        errBox.hidden = true;
        $("define-result").textContent = "";
        manager("DefineXML", [xml]).then(([path]) => {
            $("define-result").textContent = _("Defined") + " " + path;
            refreshContainers();
        }).catch(err => {
            /* InvalidConfig's message is "(xml):LINE:COLUMN: what": say it
             * as a person reads it, and keep the parser's words. */
            const m = /^\(xml\):(\d+):(\d+): ?([\s\S]*)$/.exec(err.message || "");
            errBox.textContent = m
                ? cockpit.format(_("Line $0, column $1: $2"), m[1], m[2], m[3])
                : (err.message || String(err));
            errBox.dataset.line = m ? m[1] : "";
            errBox.dataset.column = m ? m[2] : "";
            errBox.hidden = false;
        });
    }

    /* --- start --------------------------------------------------------------- */

    function init() {
        cockpit.translate();
        client = cockpit.dbus(BUS, { bus: "system", superuser: "try" });
        client.addEventListener("close", (ev, options) => {
            showError(cockpit.format(_("Disconnected from Vivarium: $0"), options.problem || ""));
        });

        client.subscribe({ interface: MANAGER_IFACE, path: MANAGER }, (path, iface, signal) => {
            if (signal.startsWith("Container"))
                refreshContainers();
            else if (signal === "NetworkEvent")
                refreshNetworks();
        });
        client.subscribe({ interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged",
            path_namespace: "/org/vivarium1/container" }, () => refreshContainers());
        client.subscribe({ interface: STREAM_IFACE }, onStreamSignal);

        $("details-autostart").addEventListener("change", ev => setAutostart(ev.target.checked));
        $("details-undefine").addEventListener("click", undefine);
        for (const b of document.querySelectorAll(".viv-tab"))
            b.addEventListener("click", () => showTab(b.dataset.tab));
        $("console-connect").addEventListener("click", consoleConnect);
        $("console-disconnect").addEventListener("click", consoleDisconnect);
        $("console-form").addEventListener("submit", ev => {
            ev.preventDefault();
            const input = $("console-input");
            consoleWrite(new TextEncoder().encode(input.value + "\n"));
            input.value = "";
        });
        $("console-ctrl-c").addEventListener("click", () => consoleWrite(new Uint8Array([3])));
        $("console-ctrl-d").addEventListener("click", () => consoleWrite(new Uint8Array([4])));
        $("define-button").addEventListener("click", define);
        window.addEventListener("beforeunload", consoleDisconnect);

        $("viv-connection").textContent = cockpit.transport.host && cockpit.transport.host !== "localhost"
            ? cockpit.format(_("on $0"), cockpit.transport.host) : "";
        consoleSetConnected(false, "");
        refreshContainers();
        refreshNetworks();
        window.setInterval(() => {
            if (!document.hidden)
                sampleStats();
        }, STATS_INTERVAL_MS);
        document.body.dataset.ready = "yes";
    }

    document.addEventListener("DOMContentLoaded", init);
}());
