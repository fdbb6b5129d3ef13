#!/usr/bin/env python3
"""Browser test of the page at / (run by scripts/browser-tests).

Drives headless Chromium through chromedriver's W3C WebDriver HTTP API with
the standard library only: uploads a receipt, waits for the text, checks that
a known word is shown and that its box is drawn where the JSON puts it (at
desktop and at phone width), that hovering/focus and text selection mark the
right boxes, that arrow keys move between boxes, that the searchable PDF link
serves a PDF, that an unsupported file shows the API's own ErrorMessage, that
the page made no request to another origin, and that /docs renders. Saves
screenshots and prints one line per check and a `browser-tests: N passed, M
failed` total.
"""

import argparse
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
KNOWN_WORD = "STATIONERY"  # first line of receipt 503: "SANYU STATIONERY SHOP"
# /ocr reads with engine 2's detector by default, which takes that first line as one word.
DOCTR_WORD = "JALAN"  # second line: "NO. 31G&33G, JALAN SETIA INDAH X ,U13/X"


class WebDriver:
    """The few W3C WebDriver commands the test needs."""

    def __init__(self, driver_url, chromium):
        self.url = driver_url
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--window-size=1280,1000", "--no-first-run", "--disable-extensions"],
                    },
                }
            }
        }
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.read().decode(errors='replace')[:500]}") from None

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script, *args):
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)})

    def find(self, css):
        found = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        if ELEMENT not in found:
            raise RuntimeError(f"no element {css}: {found}")
        return found[ELEMENT]

    def send_keys(self, css, text):
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def cdp(self, command, params):
        return self.cmd("POST", "/goog/cdp/execute", {"cmd": command, "params": params})

    def viewport(self, width, height=900, mobile=False):
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def screenshot(self, path, width, mobile=False):
        """A full-page screenshot at `width` CSS pixels."""
        self.viewport(width, 900, mobile)
        height = min(int(self.js("return document.documentElement.scrollHeight")), 5000)
        self.viewport(width, max(height, 600), mobile)
        data = self.cdp("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        self.viewport(width, 900, mobile)

    def wait(self, script, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(script)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}")

    def quit(self):
        try:
            self._call("DELETE", f"/session/{self.session}")
        except Exception:  # noqa: BLE001 - best effort at the end
            pass


def jpeg_size(path):
    """(width, height) from a JPEG's start-of-frame marker."""
    with open(path, "rb") as f:
        data = f.read()
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise ValueError(f"{path}: no JPEG frame header")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"ok   {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {what}", flush=True)
        return ok


# Where the box of word (line, word) is drawn, in image pixels, and whether it is visible.
BOX_IN_IMAGE = """
const [id, w, h] = arguments;
const box = document.querySelector(`#viewer .box[data-id="${id}"]`);
const canvas = document.querySelector('#viewer canvas');
if (!box || !canvas) return null;
const b = box.getBoundingClientRect(), c = canvas.getBoundingClientRect();
const sx = w / c.width, sy = h / c.height, style = getComputedStyle(box);
return {left: (b.left - c.left) * sx, top: (b.top - c.top) * sy, width: b.width * sx, height: b.height * sy,
        border: style.borderTopWidth + ' ' + style.borderTopStyle, shown: b.width > 0 && b.height > 0,
        scale: c.width / w};
"""


def check_box(wd, t, word, size, label):
    drawn = wd.js(BOX_IN_IMAGE, word["id"], *size)
    if not t.check(drawn is not None and drawn["shown"], f"{label}: the box of '{word['WordText']}' is drawn"):
        return
    worst = max(abs(drawn[k] - word[k.capitalize()]) for k in ("left", "top", "width", "height"))
    # One CSS pixel of the displayed page, in image pixels, is the rounding allowed.
    tolerance = 1.0 / drawn["scale"] + 0.5
    t.check(worst <= tolerance,
            f"{label}: box at left {drawn['left']:.1f}, top {drawn['top']:.1f}, {drawn['width']:.1f} x "
            f"{drawn['height']:.1f} px vs JSON {word['Left']}, {word['Top']}, {word['Width']} x {word['Height']} "
            f"(largest difference {worst:.2f} px, allowed {tolerance:.2f}; border {drawn['border']})")


def run(args, wd, t):
    base = args.base
    size = jpeg_size(args.receipt)

    # The empty page.
    wd.get(base + "/")
    wd.wait("return document.body.dataset.ready === 'true'", 30, "the page to load its configuration")
    key = wd.js("return document.getElementById('apikey').value")
    t.check(key == "helloworld", f"the API key field holds the server's demo key ({key!r})")
    labelled = wd.js("""return [...document.querySelectorAll('input, select')].filter(e =>
        !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.name)""")
    t.check(not labelled, f"every control has a label (unlabelled: {labelled})")
    wd.screenshot(os.path.join(args.shots, "1-empty.png"), 1280)

    # The receipt, engine 1, with a searchable PDF (checked by default).
    wd.send_keys("#file", os.path.abspath(args.receipt))
    started = time.monotonic()
    wd.click("#submit")
    wd.wait("""return !document.getElementById('error').hidden ||
               document.querySelectorAll('#viewer .box').length > 0""", 240, "the OCR result")
    print(f"     result shown after {time.monotonic() - started:.1f} s", flush=True)
    error = wd.js("const e = document.getElementById('error'); return e.hidden ? '' : e.textContent")
    t.check(not error, f"no error for the receipt ({error!r})")
    result = json.loads(wd.js("return document.getElementById('json').textContent"))
    t.check(result.get("OCRExitCode") == 1, f"OCRExitCode 1 (got {result.get('OCRExitCode')})")
    words = [dict(w, id=f"{li}.{wi}") for page in result.get("ParsedResults", [])[:1]
             for li, line in enumerate(page["TextOverlay"]["Lines"]) for wi, w in enumerate(line["Words"])]
    text = wd.js("return document.getElementById('text').textContent")
    t.check(KNOWN_WORD in text, f"the text shows '{KNOWN_WORD}'")
    drawn = wd.js("return document.querySelectorAll('#viewer .box').length")
    t.check(drawn == len(words) and drawn > 20, f"one box per word of the JSON ({drawn} drawn, {len(words)} in the JSON)")
    word = next((w for w in words if w["WordText"] == KNOWN_WORD), None)
    if not t.check(word is not None, f"the JSON has the word '{KNOWN_WORD}'"):
        return
    check_box(wd, t, word, size, "desktop 1280 px")
    time_text = wd.js("return document.getElementById('time').textContent")
    t.check(str(result["ProcessingTimeInMilliseconds"]) in time_text, f"processing time shown ({time_text})")

    # Hover/focus tip, arrow keys, selection highlighting.
    tip = wd.js(f"""const b = document.querySelector('#viewer .box[data-id="{word['id']}"]'); b.focus();
                   return document.querySelector('#viewer .tip').textContent""")
    t.check(tip.startswith(KNOWN_WORD), f"focusing the box shows its text ({tip!r})")
    wd.js("document.querySelector('#viewer .box').focus()")
    wd.cmd("POST", f"/element/{wd.find('#viewer .box')}/value", {"text": "\ue014"})  # ArrowRight
    moved = wd.js("return document.activeElement.dataset.id")
    t.check(moved == words[1]["id"], f"ArrowRight moves focus to the next word's box ({moved})")
    line_id = word["id"].split(".")[0]
    marked = wd.js_async(f"""const done = arguments[arguments.length - 1];
        const span = [...document.querySelectorAll('#text .line')].find(s => s.dataset.lines.split(',').includes('{line_id}'));
        if (!span) return done(null);
        const range = document.createRange(); range.selectNodeContents(span);
        const sel = getSelection(); sel.removeAllRanges(); sel.addRange(range);
        setTimeout(() => done([...document.querySelectorAll('#viewer .box.hl')].map(b => b.dataset.group)), 300);""")
    t.check(bool(marked) and set(marked) == {line_id},
            f"selecting the text line highlights exactly its line's boxes ({len(marked or [])} boxes)")
    wd.js("getSelection().removeAllRanges()")
    wd.js("document.querySelector('#result details').open = true")
    wd.screenshot(os.path.join(args.shots, "2-receipt-boxes.png"), 1280)
    wd.js("document.querySelector('#result details').open = false")

    # Phone width: one column, nothing wider than the screen, boxes still on their words.
    wd.viewport(390, 844, mobile=True)
    overflow = wd.js("return document.documentElement.scrollWidth")
    t.check(overflow <= 390, f"phone width 390 px: page is {overflow} px wide")
    check_box(wd, t, word, size, "phone 390 px")
    wd.screenshot(os.path.join(args.shots, "4-phone-390.png"), 390, mobile=True)
    wd.viewport(1280, 900)

    # The searchable PDF link, fetched from the page.
    href = wd.js("const a = document.getElementById('pdf-link'); return a ? a.href : null")
    if t.check(bool(href), f"the searchable PDF link is shown ({href})"):
        got = wd.js_async("""const done = arguments[arguments.length - 1];
            fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done({status: r.status, type: r.headers.get('content-type'),
              head: String.fromCharCode(...new Uint8Array(b.slice(0, 5))), size: b.byteLength})))
              .catch(e => done({error: String(e)}));""", href)
        t.check(got.get("status") == 200 and got.get("head") == "%PDF-",
                f"the link serves a PDF (HTTP {got.get('status')}, {got.get('type')}, starts {got.get('head')!r}, "
                f"{got.get('size')} bytes)")

    # An unsupported file: the API's own ErrorMessage.
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("This is a plain text file, not an image.\n")
        txt = f.name
    try:
        wd.send_keys("#file", txt)
        wd.click("#submit")
        wd.wait("return !document.getElementById('error').hidden", 60, "the error")
    finally:
        os.unlink(txt)
    shown = wd.js("return document.getElementById('error').textContent")
    answer = json.loads(wd.js("return document.getElementById('json').textContent"))
    messages = answer.get("ErrorMessage") or []
    t.check(bool(messages) and all(m in shown for m in messages) and "Unable to recognize the file type" in shown,
            f"a .txt upload shows the API's ErrorMessage ({shown!r})")
    wd.screenshot(os.path.join(args.shots, "3-error.png"), 1280)

    # No request left this server.
    foreign = wd.js("return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin))")
    t.check(not foreign, f"no request to another origin ({foreign})")

    check_doctr(wd, t, args)

    # /docs renders /openapi.json when the server has one.
    has_spec = urllib_status(base + "/openapi.json") == 200
    wd.get(base + "/docs")
    wd.wait("return document.getElementById('doc').getAttribute('aria-busy') === 'false'", 30, "/docs to render")
    if has_spec:
        ops = wd.js("return document.querySelectorAll('.doc-op h3 .method').length")
        t.check(ops > 0, f"/docs renders /openapi.json ({ops} operations)")
    else:
        note = wd.js("return document.getElementById('doc').textContent")
        t.check("openapi.json" in note, f"/docs says the server has no /openapi.json ({note.strip()[:80]!r})")
    wd.screenshot(os.path.join(args.shots, "5-docs.png"), 1280)


# Where a docTR box is drawn, as fractions of the drawn page.
BOX_FRACTIONS = """
const box = document.querySelectorAll('#doctr-viewer .box')[arguments[0]];
const c = document.querySelector('#doctr-viewer canvas').getBoundingClientRect();
if (!box) return null;
const b = box.getBoundingClientRect();
return [(b.left - c.left) / c.width, (b.top - c.top) / c.height, (b.right - c.left) / c.width, (b.bottom - c.top) / c.height,
        c.width];
"""


def check_doctr(wd, t, args):
    """The docTR tab: /ocr words and /kie fields with their boxes (when the server has /ocr)."""
    if not wd.js("return !document.getElementById('tab-doctr').hidden"):
        print("skip the docTR tab is hidden: the server answers 404/405 to POST /ocr", flush=True)
        return
    wd.click("#tab-doctr")
    wd.send_keys("#doctr-files", os.path.abspath(args.receipt))
    wd.click("#doctr-submit")
    wd.wait("""return !document.getElementById('doctr-error').hidden ||
               document.querySelectorAll('#doctr-viewer .box').length > 0""", 240, "the /ocr result")
    error = wd.js("const e = document.getElementById('doctr-error'); return e.hidden ? '' : e.textContent")
    if not t.check(not error, f"/ocr: no error ({error!r})"):
        return
    docs = json.loads(wd.js("return document.getElementById('doctr-json').textContent"))
    words = [w for b in docs[0]["pages"][0]["blocks"] for line in b["lines"] for w in line["words"]]
    index = next((i for i, w in enumerate(words) if w["value"] == DOCTR_WORD), None)
    rows = wd.js("return document.querySelector('#doctr-list tbody').textContent")
    t.check(index is not None and DOCTR_WORD in rows, f"/ocr: '{DOCTR_WORD}' is in the JSON and in the word list")
    if index is not None:
        drawn = wd.js(BOX_FRACTIONS, index)
        want = words[index]["geometry"]
        if len(want) == 4 and isinstance(want[0], list):  # polygon: the box around it
            want = [min(p[0] for p in want), min(p[1] for p in want), max(p[0] for p in want), max(p[1] for p in want)]
        worst = max(abs(a - b) for a, b in zip(drawn[:4], want)) * drawn[4] if drawn else None
        t.check(worst is not None and worst <= 1.0,
                f"/ocr: the box of '{DOCTR_WORD}' is drawn at its geometry {want} (largest difference {worst} CSS px)")
    wd.click('input[name=endpoint][value="/kie"]')
    wd.js("document.getElementById('doctr-json').textContent = ''")
    wd.click("#doctr-submit")
    wd.wait("""return !document.getElementById('doctr-error').hidden ||
               document.getElementById('doctr-json').textContent !== ''""", 240, "the /kie result")
    error = wd.js("const e = document.getElementById('doctr-error'); return e.hidden ? '' : e.textContent")
    if not t.check(not error, f"/kie: no error ({error!r})"):
        return
    docs = json.loads(wd.js("return document.getElementById('doctr-json').textContent"))
    found = [(f["field_type"], v["value"]) for p in docs[0]["pages"] for f in p["extracted_fields"] for v in f["values"]]
    rows = wd.js("return [...document.querySelectorAll('#doctr-list tbody tr')].map(r => r.cells[0].textContent + '=' + r.cells[1].textContent)")
    boxes = wd.js("return document.querySelectorAll('#doctr-viewer .box.field-box').length")
    t.check(bool(found) and sorted(rows) == sorted(f"{k}={v}" for k, v in found) and boxes == len(found),
            f"/kie: every extracted field listed with its box ({len(found)} values: {found[:4]}…, {boxes} boxes)")
    wd.screenshot(os.path.join(args.shots, "6-kie.png"), 1280)
    wd.click("#tab-ocrspace")


def urllib_status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--driver", required=True)
    parser.add_argument("--receipt", required=True)
    parser.add_argument("--shots", required=True)
    args = parser.parse_args()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    driver = subprocess.Popen([args.driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = Checks()
    wd = None
    try:
        driver_url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(driver_url + "/status", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        wd = WebDriver(driver_url, args.chromium)
        run(args, wd, t)
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        t.check(False, f"{type(e).__name__}: {e}")
    finally:
        if wd:
            wd.quit()
        driver.terminate()
        driver.wait(timeout=10)
    print(f"browser-tests: screenshots {', '.join(sorted(os.listdir(args.shots)))}")
    print(f"browser-tests: {t.passed} passed, {t.failed} failed")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
