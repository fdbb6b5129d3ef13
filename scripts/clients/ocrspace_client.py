"""Reads a receipt through the unchanged PyPI client `ocrspace` (file, URL, base64)."""
import base64
import sys

import ocrspace

endpoint, image, url, expected = sys.argv[1:5]
api = ocrspace.API(endpoint=endpoint, api_key="helloworld")
with open(image, "rb") as f:
    b64 = "data:image/jpeg;base64," + base64.b64encode(f.read()).decode()
passed = failed = 0
for mode, call in (("file", lambda: api.ocr_file(image)), ("url", lambda: api.ocr_url(url)), ("base64", lambda: api.ocr_base64(b64))):
    try:
        text = call()
        ok = expected in text
    except Exception as e:  # the client raises on any API error
        text, ok = f"error: {e}", False
    print(f"ocrspace {mode}: {'ok' if ok else 'FAILED'}: {text[:120]!r}")
    passed, failed = passed + ok, failed + (not ok)
print(f"client-tests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
