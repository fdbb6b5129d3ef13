#!/usr/bin/env python3
"""Sends issue 12's hostile inputs to a real ocr-server (embedded default,
demo key), one at a time, and prints for each: the answer, the time to it,
the server's peak RSS growth while it ran (VmRSS sampled every 10 ms), its
CPU time in the 2 s after, and whether a normal request is answered right
after. Loopback only; the server is started and stopped here.

Usage: scripts/hostile-inputs.py SERVER_BINARY LINE_PNG
  e.g. OCR_MODELS_DIR=models scripts/hostile-inputs.py target/debug/ocr-server ../shared/data/lines/book_1113_010043.png"""
import http.client, json, os, socket, struct, subprocess, sys, tempfile, threading, time, zlib

BIN, LINE = sys.argv[1], sys.argv[2]
PORT = 18000 + os.getpid() % 1000
data_dir = tempfile.mkdtemp(prefix="hostile-")
server = subprocess.Popen([BIN, "serve", "--bind", f"127.0.0.1:{PORT}", "--data-dir", data_dir, "--lazy-plans",
                           "--timeout-secs", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def status(key):
    for line in open(f"/proc/{server.pid}/status"):
        if line.startswith(key):
            return int(line.split()[1]) // 1024  # MB

def cpu():
    f = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def multipart(fields, file=None, name="f.bin"):
    b = b"hostileBoundary42"
    out = b""
    for k, v in fields:
        out += b"--" + b + b'\r\nContent-Disposition: form-data; name="' + k.encode() + b'"\r\n\r\n' + v.encode() + b"\r\n"
    if file is not None:
        out += b"--" + b + b'\r\nContent-Disposition: form-data; name="file"; filename="' + name.encode() + b'"\r\n\r\n' + file + b"\r\n"
    return out + b"--" + b + b"--\r\n", "multipart/form-data; boundary=" + b.decode()

def post(body, ctype, chunks=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    try:
        if chunks is None:
            c.request("POST", "/parse/image", body=body, headers={"Content-Type": ctype})
        else:
            c.putrequest("POST", "/parse/image")
            c.putheader("Content-Type", ctype)
            c.putheader("Transfer-Encoding", "chunked")
            c.endheaders()
            try:
                for chunk in chunks:
                    c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                c.send(b"0\r\n\r\n")
            except OSError:
                pass
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    except Exception as e:
        return 0, f"{type(e).__name__}: {e}"

def measure(label, send):
    base = status("VmRSS")
    peak = [base]
    done = threading.Event()
    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], status("VmRSS"))
            time.sleep(0.01)
    threading.Thread(target=watch, daemon=True).start()
    t = time.time()
    code, text = send()
    took = time.time() - t
    done.set()
    c0 = cpu(); time.sleep(2); idle = cpu() - c0
    normal = post(*multipart([("apikey", "helloworld")], open(LINE, "rb").read(), "line.png"))
    ok = '"OCRExitCode":1' in normal[1]
    print(f"{label}\n  answer {code} in {took:.2f} s: {text[:230]}\n  RSS {base} MB -> peak {peak[0]} MB "
          f"(+{peak[0]-base} MB); CPU in the 2 s after: {idle:.2f} s; normal request after: {'answered' if ok else normal}")

def pdf(objects):
    out, offs = b"%PDF-1.5\n", []
    for i, body in enumerate(objects):
        offs.append(len(out)); out += b"%d 0 obj\n" % (i + 1) + body + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offs)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, x)

def stream(d, data):
    return b"<< " + d + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

head = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]

# Wait for the server.
for _ in range(600):
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=1).close(); break
    except OSError:
        time.sleep(0.1)
time.sleep(1)
print("warm-up:", post(*multipart([("apikey", "helloworld")], open(LINE, "rb").read(), "line.png"))[1][:80])

# 1. No key, chunked multipart with 30 text fields of 50 MB each.
def fields():
    b = b"hostileBoundary42"
    for i in range(30):
        yield b"--" + b + b'\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n' % i
        for _ in range(50):
            yield b"x" * (1 << 20)
        yield b"\r\n"
measure("1. no API key, chunked multipart, 30 fields x 50 MB",
        lambda: post(None, "multipart/form-data; boundary=hostileBoundary42", fields()))

# 2. 2 GiB of spaces compressed twice.
comp = zlib.compressobj(9)
inner = b"".join(comp.compress(b" " * (64 << 20)) for _ in range(32)) + comp.flush()
outer = zlib.compress(inner, 9)
bomb = pdf(head + [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
                   stream(b"/Filter [/FlateDecode /FlateDecode]", outer)])
measure(f"2. {len(bomb)} B PDF, 2 GiB of spaces in [/FlateDecode /FlateDecode]",
        lambda: post(*multipart([("apikey", "helloworld")], bomb, "bomb.pdf")))

# 3. 22 nested forms, each drawing the next 8 times.
objs = head + [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << /XObject << /X0 5 0 R >> >> /Contents 4 0 R >>",
               stream(b"", b"/X0 Do")]
for i in range(22):
    form = b"/Type /XObject /Subtype /Form /BBox [0 0 10 10]"
    if i == 21:
        objs.append(stream(form, b"0 0 1 1 re f"))
    else:
        objs.append(stream(form + b" /Resources << /XObject << /X%d %d 0 R >> >>" % (i + 1, i + 6), b"/X%d Do " % (i + 1) * 8))
nested = pdf(objs)
measure(f"3. {len(nested)} B PDF, 22 nested forms x 8",
        lambda: post(*multipart([("apikey", "helloworld")], nested, "nested.pdf")))

# 4. GIF, 6000x6000 canvas, three 1x1 frames.
gif = b"GIF89a" + struct.pack("<HH", 6000, 6000) + bytes([0x80, 0, 0]) + bytes([0, 0, 0, 255, 255, 255])
for x, y in [(10, 10), (5000, 20), (30, 5999)]:
    gif += bytes([0x21, 0xF9, 4, 4, 10, 0, 0, 0, 0x2C]) + struct.pack("<HHHH", x, y, 1, 1) + bytes([0, 2, 2, 0x44, 0x01, 0])
gif += b";"
measure(f"4. {len(gif)} B GIF, 6000x6000 canvas, three 1x1 frames",
        lambda: post(*multipart([("apikey", "helloworld")], gif, "canvas.gif")))

# 5. A 1 KB page of 20,000 page-sized fills (minutes of rasterising at 300 dpi).
fills = pdf(head + [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                    stream(b"/Filter /FlateDecode", zlib.compress(b"0 0 612 792 re f " * 20000, 9))])
measure(f"5. {len(fills)} B PDF, 20,000 page-sized fills",
        lambda: post(*multipart([("apikey", "helloworld")], fills, "fills.pdf")))

server.terminate(); server.wait()
