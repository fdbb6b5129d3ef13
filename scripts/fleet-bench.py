#!/usr/bin/env python3
"""Throughput of a fleet: the 25 development receipts sent to 1 instance with
1 OCR worker, then to 2 instances with 1 worker each (separate `ocr-server`
processes on one fresh PostgreSQL database, as behind a load balancer);
prints each run's time and receipts per second and the ratio. Both runs in
one invocation, so they share the machine's conditions.

    scripts/fleet-bench.py [--binary PATH] [--engine 1|2] [--rounds N]

The binary defaults to $CARGO_TARGET_DIR/release/ocr-server, else the debug
one (dependencies are optimised in both). Needs PostgreSQL on 127.0.0.1:5432
(trust auth) and the models in ./models. Two clients per instance keep each
worker busy while the next request uploads. Warm-up: every receipt once on
every instance (untimed), so no timed request pays a model plan build. The
servers' CPU seconds are printed too: on a machine shared with other work,
cores busy on average below the instance count mean the run was starved.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def default_binary():
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("release", "debug"):
        if (target / profile / "ocr-server").exists():
            return target / profile / "ocr-server"
    sys.exit("fleet-bench: no ocr-server binary; build it (cargo build -p ocr-api --bin ocr-server) or pass --binary")


def psql(sql):
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql], check=True)


def start(binary, workdir, name, db_url, engine):
    sets = {
        "1": ("PP-OCRv4 mobile", "ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "pp-ocrv4"),
        "2": ("PP-OCRv6 small", "PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx", "pp-ocrv6"),
    }[engine]
    config = workdir / f"{name}.toml"
    config.write_text(f"""[server]
bind = "127.0.0.1:0"
workers = 1
prepare_plans = false
[storage]
data_dir = "{workdir / name}"
[models]
dir = "{ROOT / 'models'}"
[[models.set]]
engine = {engine}
name = "{sets[0]}"
detector = "{sets[1]}"
recognizer = "{sets[2]}"
classifier = ""
languages = []
profile = "{sets[3]}"
[database]
url = "{db_url}"
[auth]
burst_per_second = 1000
burst_size = 1000
""")
    env = {"PATH": os.environ.get("PATH", ""), "RUST_LOG": "info"}
    proc = subprocess.Popen([str(binary), "serve", "--config", str(config)], stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stderr:
        match = re.search(r"ocr-server listening.*port=(\d+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, f"http://127.0.0.1:{match.group(1)}"
    sys.exit(f"fleet-bench: {name} did not start")


def cpu_seconds(pid):
    """User + system CPU time of a process (Linux /proc; USER_HZ = 100)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def post(base, key, path, engine):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"OCREngine\"\r\n\r\n{engine}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{base}/parse/image", data=body, method="POST", headers={
        "apikey": key, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    answer = json.load(opener.open(request, timeout=600))
    if answer.get("OCRExitCode") != 1:
        raise RuntimeError(f"{path.name}: {answer}")


def run(binary, instances, receipts, engine):
    name = f"ocr_fleet_bench_{uuid.uuid4().hex[:8]}"
    psql(f"CREATE DATABASE {name}")
    procs = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_url = f"postgres://postgres@127.0.0.1:5432/{name}"
            for i in range(instances):
                procs.append(start(binary, Path(tmp), f"i{i}", db_url, engine))
            bases = [base for _, base in procs]
            # An enterprise key: the demo key's free tier stops at 1 MB, and some receipts are larger.
            created = subprocess.run([str(binary), "keys", "create", "--tier", "enterprise", "--config",
                                      str(Path(tmp) / "i0.toml")], capture_output=True, text=True, check=True)
            key = re.search(r"apikey: (\S+)", created.stdout).group(1)
            # Warm-up, untimed: every receipt once on every instance (in
            # parallel), so each has built the model plans of every page
            # shape before the timed pass (plans are per process).
            warm = [threading.Thread(target=lambda b=b: [post(b, key, p, engine) for p in receipts]) for b in bases]
            for t in warm:
                t.start()
            for t in warm:
                t.join()
            cpu_before = sum(cpu_seconds(proc.pid) for proc, _ in procs)
            queue, lock, errors = list(receipts), threading.Lock(), []

            def client(base):
                while True:
                    with lock:
                        if not queue:
                            return
                        path = queue.pop(0)
                    try:
                        post(base, key, path, engine)
                    except Exception as e:  # noqa: BLE001 (reported below)
                        errors.append(str(e))

            started = time.monotonic()
            threads = [threading.Thread(target=client, args=(base,)) for base in bases for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
            cpu = sum(cpu_seconds(proc.pid) for proc, _ in procs) - cpu_before
            if errors:
                sys.exit(f"fleet-bench: {len(errors)} requests failed: {errors[:3]}")
            return elapsed, cpu
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait()
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=None)
    parser.add_argument("--engine", choices=["1", "2"], default="1")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--receipts", type=Path,
                        default=Path(os.environ.get("OCR_DATA_DIR", ROOT.parent / "shared/data")) / "receipts")
    args = parser.parse_args()
    binary = args.binary or default_binary()
    receipts = sorted(p for p in args.receipts.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    print(f"fleet-bench: {len(receipts)} receipts, engine {args.engine}, {binary}, {os.cpu_count()} cores")
    results = {1: [], 2: []}
    for _ in range(args.rounds):
        for instances in (1, 2):
            elapsed, cpu = run(binary, instances, receipts, args.engine)
            results[instances].append(elapsed)
            print(f"  {instances} instance(s) x 1 worker: {elapsed:.1f} s, {len(receipts) / elapsed:.2f} receipts/s, "
                  f"servers' CPU {cpu:.1f} s ({cpu / elapsed:.2f} cores busy on average)", flush=True)
    best = {n: min(times) for n, times in results.items()}
    print(f"fleet-bench: throughput ratio 2 instances / 1 instance = {best[1] / best[2]:.2f} "
          f"(best of {args.rounds}: {best[1]:.1f} s vs {best[2]:.1f} s)")


if __name__ == "__main__":
    main()
