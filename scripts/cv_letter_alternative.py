#!/usr/bin/env python3
"""2-fold cross-validation of the engine's `letter_alternative_min` (a run of
digits between two letters takes the recogniser's letters: S0CKET -> SOCKET)
over corpus dumps: receipts 503-515 and 516-527 are the halves. For each
half, the values with the best caseless bag-of-words F1 on it, and the other
half's figures at those values; then every folder's figures per value, so
a value that breaks lines, lines-wide or pages shows.

Make the dumps first (one corpus run per engine and value; 2 = rule off):

    for e in 1 2; do for v in 2 0.3 0.1 0.02 0.01 0.005; do
      OCR_LETTER_ALTERNATIVE_MIN=$v OCR_FOLDERS=receipts,lines,lines-wide,pages \\
        cargo run --release -p ocr-engine --example corpus -- --engine $e --dump /tmp/cv_letters_e${e}_$v; done; done
    python3 scripts/cv_letter_alternative.py 1 2 0.3 0.1 0.02 0.01 0.005
    python3 scripts/cv_letter_alternative.py 2 2 0.3 0.1 0.02 0.01 0.005

Scores as crates/engine/src/eval.rs does (NFKC, whitespace collapsed,
corpus-level rates; caseless CER, caseless F1, reference words with a digit
read whole). CER is left out for pages/ (its ground truth is not in reading
order). OCR_DATA_DIR: corpus folder, default ../shared/data."""
import collections
import os
import sys
import unicodedata

DATA = os.environ.get("OCR_DATA_DIR", "../shared/data")


def norm(t):
    return " ".join(unicodedata.normalize("NFKC", t).split())


def edit_distance(a, b):
    row = list(range(len(a) + 1))
    for j, cb in enumerate(b):
        diag, row[0] = row[0], j + 1
        for i, ca in enumerate(a):
            diag, row[i + 1] = row[i + 1], min(row[i + 1] + 1, row[i] + 1, diag + (ca != cb))
    return row[len(a)]


def counts(h, r, cer):
    h, r = norm(h).lower(), norm(r).lower()
    hw, rw = h.split(), r.split()
    digit = lambda ws: [w for w in ws if any("0" <= c <= "9" for c in w)]
    return [
        edit_distance(h, r) if cer else 0,
        len(r),
        sum((collections.Counter(hw) & collections.Counter(rw)).values()),
        len(hw),
        len(rw),
        sum((collections.Counter(digit(hw)) & collections.Counter(digit(rw))).values()),
        len(digit(rw)),
    ]


def fmt(c, cer):
    p, q = c[2] / max(c[3], 1), c[2] / max(c[4], 1)
    f1 = 0 if p + q == 0 else 2 * p * q / (p + q)
    text = f"caseless CER {c[0] / max(c[1], 1):.4f}  " if cer else ""
    return text + f"caseless F1 {f1:.4f}  digit words {c[5]}/{c[6]}"


def f1(c):
    p, q = c[2] / max(c[3], 1), c[2] / max(c[4], 1)
    return 0 if p + q == 0 else 2 * p * q / (p + q)


def main():
    engine, values = sys.argv[1], sys.argv[2:]
    folders = ["receipts", "lines", "lines-wide", "pages"]
    per = {}
    for folder in folders:
        stems = sorted(f[: -len(".gt.txt")] for f in os.listdir(os.path.join(DATA, folder)) if f.endswith(".gt.txt"))
        for v in values:
            dump = f"/tmp/cv_letters_e{engine}_{v}"
            for s in stems:
                path = os.path.join(dump, s + ".txt")
                if os.path.exists(path):
                    truth = open(os.path.join(DATA, folder, s + ".gt.txt")).read()
                    per[(folder, v, s)] = counts(open(path).read(), truth, folder != "pages")

    def total(folder, v, keep=lambda s: True):
        cs = [c for (f, vv, s), c in per.items() if f == folder and vv == v and keep(s)]
        return [sum(c[i] for c in cs) for i in range(7)]

    halves = {"503-515": lambda s: int(s) <= 515, "516-527": lambda s: int(s) > 515}
    for name, keep in halves.items():
        other = next(k for k in halves if k != name)
        scores = {v: f1(total("receipts", v, keep)) for v in values}
        best = [v for v in values if scores[v] >= max(scores.values()) - 1e-12]
        print(f"engine {engine}: tuned on receipts {name}: best {best} (caseless F1 {max(scores.values()):.4f})")
        for v in best:
            print(f"  held-out {other} at {v}: {fmt(total('receipts', v, halves[other]), True)}")
    for folder in folders:
        for v in values:
            if not any(f == folder and vv == v for f, vv, _ in per):
                continue
            line = f"engine {engine} {folder:10} {v:>6}: all {fmt(total(folder, v), folder != 'pages')}"
            if folder == "receipts":
                line += "".join(f" | {n} {fmt(total(folder, v, k), True)}" for n, k in halves.items())
            print(line)


if __name__ == "__main__":
    main()
