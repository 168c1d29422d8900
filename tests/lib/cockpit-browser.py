#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drives Vivarium's Cockpit page in headless Chromium (Selenium and
chromedriver from Debian), inside a test host where cockpit-ws listens on
the loopback and vivctl talks to the same vivariumd.

    cockpit-browser.py URL SCREENSHOT_DIR

Prints "PASS: what" / "FAIL: what" per check, exits 1 when one failed.
Waits on conditions (generous bounds), never on guesses of time.
"""
import os
import re
import subprocess
import sys
import tempfile
import traceback

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, shots = sys.argv[1], sys.argv[2]
WAIT = int(os.environ.get("COCKPIT_TEST_WAIT", "90"))
failed = False


def report(ok, what):
    global failed
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    failed |= not ok
    return ok


def vivctl(*args):
    p = subprocess.run(["vivctl", *args], capture_output=True, text=True)
    return (p.stdout + p.stderr).strip()


def holds(cond):
    """cond() as a bool; an element not there (yet) is False."""
    try:
        return bool(cond())
    except (AttributeError, IndexError, WebDriverException):
        return False


def wait(cond, what, seconds=WAIT, why=None):
    """why(): what to print when cond() did not come true."""
    try:
        WebDriverWait(drv, seconds, poll_frequency=0.2).until(lambda d: holds(cond))
        return report(True, what)
    except TimeoutException:
        if why:
            try:
                print("  " + why(), flush=True)
            except (AttributeError, WebDriverException) as e:
                print("  (%r)" % e, flush=True)
        return report(False, what + " (not within %d s)" % seconds)


def q(css):
    found = drv.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found else None


def state_of(name):
    cell = q('tr[data-name="%s"] td[data-state]' % name)
    return cell.get_attribute("data-state") if cell else None


def click(css):
    """A real click; the list is drawn again when stats or signals come, so
    an element found a moment ago may be gone: find it again then."""
    for _ in range(50):
        e = q(css)
        if e is None:
            raise RuntimeError("no element " + css)
        try:
            e.click()
            return
        except StaleElementReferenceException:
            continue
    raise RuntimeError("%s kept being replaced" % css)


def vivctl_state(name):
    return vivctl("domstate", name)


# hold(METHOD, ARMED_BY, SAYS, NEXT) holds back, in the page's own cockpit
# transport, the answer to the first call of METHOD (sent after a
# PropertiesChanged that says ARMED_BY, when given) that says SAYS (any when
# null), and every message that comes after it, until release() hands them
# all to the page in one go: a slow answer and signals that overtake the
# page's work on it, made certain instead of left to timing. caught: such an
# answer is held; next: a PropertiesChanged that says NEXT is held after it.
HOLD_JS = """
window.vtHold = (method, armedBy, says, next) => {
    const h = { armed: !armedBy, ids: new Set(), caught: false, next: false, held: [], on: true };
    const parse = data => { try { return JSON.parse(data.substring(data.indexOf("\\n") + 1)) } catch (e) { return null } };
    const has = (m, state) => JSON.stringify(m).includes('"' + state + '"');
    const changed = (m, state) => m.signal && m.signal[2] === "PropertiesChanged" && has(m.signal, state);
    cockpit.transport.filter((data, channel) => {
        const m = h.on && typeof data === "string" && channel ? parse(data) : null;
        if (m && h.armed && m.call && m.call[2] === method)
            h.ids.add(m.id);
        return true;
    }, true);
    cockpit.transport.filter((data, channel) => {
        const m = h.on && typeof data === "string" && channel ? parse(data) : null;
        if (!m)
            return true;
        if (!h.caught) {
            if (armedBy && changed(m, armedBy))
                h.armed = true;
            if (!(m.reply && h.ids.has(m.id) && (!says || has(m.reply, says))))
                return true;
            h.caught = true;
        } else if (next && changed(m, next))
            h.next = true;
        h.held.push(data);
        return false;
    }, false);
    h.release = () => {
        h.on = false;
        for (const data of h.held)
            cockpit.transport.inject(data, false);
    };
    return h;
};
"""


def hold(method, armed_by=None, says=None, nxt=None):
    drv.execute_script(HOLD_JS + "window.vtHeld = window.vtHold(arguments[0], arguments[1], arguments[2], arguments[3])",
                       method, armed_by, says, nxt)


def held(what):
    return drv.execute_script("return window.vtHeld." + what)


opts = webdriver.ChromeOptions()
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--window-size=1280,1100",
          "--user-data-dir=" + tempfile.mkdtemp(prefix="vt-chromium-")):
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
try:
    drv.get(url)
    wait(lambda: drv.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes",
         "the page loads (cockpit.js, vivarium.js) and connects")
    report(drv.title == "Vivarium containers", "its title (%r)" % drv.title)
    wait(lambda: state_of("helloworld") == "shut off", "the defined helloworld is listed as shut off")
    wait(lambda: q('tr[data-network="default"]') is not None, "the networks list shows 'default'")

    # started from vivctl: the page follows the signals
    out = vivctl("start", "helloworld")
    report(out == "Domain helloworld started", "vivctl start helloworld (%s)" % out)
    wait(lambda: state_of("helloworld") == "running", "the page shows helloworld running after vivctl started it")
    wait(lambda: (q('tr[data-name="helloworld"] .viv-id').text or "-") != "-", "... with its Id")
    wait(lambda: q('tr[data-name="helloworld"] .viv-memory').text.strip() != "",
         "... and its memory use from GetStats")

    # details: XML, limits, interfaces, the graph
    click('tr[data-name="helloworld"] td.viv-name')
    wait(lambda: q("#details") is not None and q("#details").is_displayed(), "a click shows the details")
    wait(lambda: "102400 KiB" in q("#details-facts").text, "the details show the memory limit from the XML")
    click('button[data-tab="xml"]')
    wait(lambda: "<name>helloworld</name>" in q("#details-xml").text, "the XML tab shows the live definition")
    click('button[data-tab="overview"]')
    wait(lambda: q("#graph-cpu").text.endswith("%") and q("#graph-mem").text != "",
         "the graph has CPU and memory samples from GetStats")
    drv.save_screenshot(os.path.join(shots, "cockpit-list.png"))

    # autostart
    click("#details-autostart")
    wait(lambda: "enable" in vivctl("dominfo", "helloworld").split("Autostart:")[1].split("\n")[0],
         "the autostart switch marks it (vivctl dominfo)")
    click("#details-autostart")
    wait(lambda: "disable" in vivctl("dominfo", "helloworld").split("Autostart:")[1].split("\n")[0],
         "... and unmarks it")

    # the console: a command typed, its output read
    click('button[data-tab="console"]')
    # a line typed while the page waits for OpenConsoleStream's answer would
    # be lost (it has no session yet): the input must wait too
    hold("OpenConsoleStream")
    click("#console-connect")
    wait(lambda: held("caught"), "the answer to OpenConsoleStream is held back")
    report(not q("#console-input").is_enabled(), "... and the console's input is disabled until it comes")
    held("release()")
    wait(lambda: q("#console-input").is_enabled(), "the console connects (OpenConsoleStream)")
    box = q("#console-input")
    box.send_keys("echo cockpit-$((6 * 7))-console\n")
    wait(lambda: "cockpit-42-console" in q("#console-screen").text, "a command typed into the console answers")
    box.send_keys("uname -n\n")
    wait(lambda: re.search(r"\nhelloworld\s*\n", q("#console-screen").text) is not None,
         "the console runs in the container (its hostname)")
    drv.save_screenshot(os.path.join(shots, "cockpit-console.png"))
    click("#console-disconnect")
    wait(lambda: "/org/vivarium1/console/" not in subprocess.run(
        ["busctl", "--system", "--no-pager", "tree", "org.vivarium1"], capture_output=True, text=True).stdout,
        "Disconnect closes the console stream")

    # actions from the page, checked with vivctl
    click('tr[data-name="helloworld"] button[data-action="suspend"]')
    wait(lambda: state_of("helloworld") == "paused" and vivctl_state("helloworld") == "paused",
         "Pause from the page suspends it")
    click('tr[data-name="helloworld"] button[data-action="resume"]')
    wait(lambda: state_of("helloworld") == "running" and vivctl_state("helloworld") == "running",
         "Resume from the page resumes it")
    click('tr[data-name="helloworld"] button[data-action="destroy"]')
    wait(lambda: state_of("helloworld") == "shut off" and vivctl_state("helloworld") == "shut off",
         "Force off from the page destroys it")
    click('tr[data-name="helloworld"] button[data-action="start"]')
    wait(lambda: state_of("helloworld") == "running" and vivctl_state("helloworld") == "running",
         "Start from the page starts it")
    id_before = vivctl("domid", "helloworld")
    click('tr[data-name="helloworld"] button[data-action="reboot"]')
    # a reboot starts a new helper: a new Id, running again
    wait(lambda: vivctl("domid", "helloworld") not in (id_before, "-", "") and vivctl_state("helloworld") == "running"
         and state_of("helloworld") == "running", "Reboot from the page: running again with a new Id",
         why=lambda: "page %s with Id %s, vivctl %s with Id %s (was %s)" % (
             state_of("helloworld"), q('tr[data-name="helloworld"] .viv-id').text, vivctl_state("helloworld"),
             vivctl("domid", "helloworld"), id_before))
    click('tr[data-name="helloworld"] button[data-action="destroy"]')
    wait(lambda: state_of("helloworld") == "shut off" and vivctl_state("helloworld") == "shut off",
         "Force off again: shut off")

    # define: a bad document shows the parser's line and column, writes nothing
    bad = "<domain type='lxc'>\n  <name>badweb</name>\n  <memory>oops</memory>\n</domain>\n"
    area = q("#define-xml")
    area.clear()
    area.send_keys(bad)
    click("#define-button")
    wait(lambda: q("#define-error").is_displayed(), "a bad definition shows an error")
    err = q("#define-error").text
    report(re.match(r"Line \d+, column \d+: ", err) is not None and q("#define-error").get_attribute("data-line") == "3",
           "... with the parser's line and column (%r)" % err)
    report("badweb" not in vivctl("list", "--all", "--name"), "... and nothing was defined")

    good = ("<domain type='lxc'>\n  <name>webdefined</name>\n  <memory unit='MiB'>64</memory>\n"
            "  <os><type>exe</type><init>/bin/sh</init></os>\n  <devices><console type='pty'/></devices>\n</domain>\n")
    area.clear()
    area.send_keys(good)
    click("#define-button")
    wait(lambda: state_of("webdefined") == "shut off", "a good definition from the page appears in the list")
    report("webdefined" in vivctl("list", "--all", "--name"), "... and vivctl lists it")
    click('tr[data-name="webdefined"] td.viv-name')
    wait(lambda: q("#details-title").text == "webdefined", "its details")
    click("#details-undefine")
    wait(lambda: state_of("webdefined") is None and "webdefined" not in vivctl("list", "--all", "--name"),
         "Undefine from the page removes it")

    # the page reports a refused call
    vivctl("start", "helloworld")
    wait(lambda: state_of("helloworld") == "running", "started from vivctl again")

    # A change signalled while the page's ListContainers call is pending is
    # not lost: the call's answer can be older than the signal (a reboot's
    # "started" came right after the answer that said "shut off", and the
    # page showed helloworld shut off for good). Made certain, not left to
    # timing: in the page's transport, the answer to the first call after
    # Pause's signal, and all that follows it, is held back until Resume's
    # signal is held too; then all of it is delivered at once.
    hold("ListContainers", "paused", "paused", "running")
    out = vivctl("suspend", "helloworld")
    wait(lambda: held("caught"), "a list answer that says paused is held back (%s)" % out)
    out = vivctl("resume", "helloworld")
    wait(lambda: held("next"), "... and Resume's signal after it (%s)" % out)
    held("release()")
    wait(lambda: state_of("helloworld") == "running" and vivctl_state("helloworld") == "running",
         "delivered together, the page shows the state of the last signal: running",
         why=lambda: "page %s, vivctl %s" % (state_of("helloworld"), vivctl_state("helloworld")))
    drv.execute_script("""cockpit.dbus("org.vivarium1", {bus: "system"}).call("/org/vivarium1",
        "org.vivarium1.Manager", "Start", ["helloworld", 0]).catch(e => { document.body.dataset.err = e.name })""")
    wait(lambda: drv.find_element(By.TAG_NAME, "body").get_attribute("data-err") == "org.vivarium1.Error.AlreadyRunning",
         "a call through cockpit.dbus gets Vivarium's named errors")
    vivctl("destroy", "helloworld")
    wait(lambda: state_of("helloworld") == "shut off", "destroyed from vivctl: the page follows")
    logs = [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"]
    report(not logs, "no errors in the browser's console (%s)" % [e.get("message") for e in logs][:3])
except Exception:
    traceback.print_exc()
    report(False, "the browser session ended early")
    try:
        drv.save_screenshot(os.path.join(shots, "cockpit-failure.png"))
    except Exception:
        pass
finally:
    drv.quit()
sys.exit(1 if failed else 0)
