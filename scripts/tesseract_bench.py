#!/usr/bin/env python3
"""Runs `tesseract IMAGE stdout -l eng` on one thread (OMP_THREAD_LIMIT=1)
for each image and prints one JSON line per image: image, total_cpu_s and
total_wall_s (medians over --runs, CPU = user + system of the child process)
and text. Run through scripts/tesseract-bench, which installs tesseract."""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def run_once(path):
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    out = subprocess.run(
        ["tesseract", path, "stdout", "-l", "eng"], env=env, capture_output=True, check=False
    )
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"tesseract-bench: tesseract failed on {path}: {out.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, out.stdout.decode("utf-8", errors="replace")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("images", nargs="+")
    a = p.parse_args()
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"tesseract-bench: {version}, OMP_THREAD_LIMIT=1", file=sys.stderr)
    for img in a.images:
        samples = [run_once(img) for _ in range(max(1, a.runs))]
        print(
            json.dumps(
                {
                    "image": img,
                    "total_cpu_s": round(statistics.median(s[0] for s in samples), 6),
                    "total_wall_s": round(statistics.median(s[1] for s in samples), 6),
                    "text": samples[-1][2],
                },
                ensure_ascii=False,
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
