#!/usr/bin/env python3
"""5-fold cross-validation of the engine's `word_gap_joined` over receipt
dumps: for each fold, pick the value with the best caseless bag-of-words F1
on the other 20 receipts, then score the 5 held-out receipts with it.

Make the dumps first (one corpus run per engine and value):

    for e in 1 2; do for v in 1.0 1.2 1.5 1.8; do
      OCR_WORD_GAP_JOINED=$v OCR_FOLDERS=receipts cargo run -p ocr-engine --example corpus -- \
        --engine $e --dump /tmp/cv_e${e}_$v; done; done
    python3 scripts/cv_word_gap.py 1 1.0 1.2 1.5 1.8
    python3 scripts/cv_word_gap.py 2 1.0 1.2 1.5 1.8

(OCR_DATA_DIR: corpus folder, default ../shared/data.)"""
import collections, os, sys, unicodedata
D = os.path.join(os.environ.get('OCR_DATA_DIR', '../shared/data'), 'receipts')
def norm(t): return ' '.join(unicodedata.normalize('NFKC', t).split())
def counts(h, r):
    hl, rl = norm(h).lower().split(), norm(r).lower().split()
    inter = sum((collections.Counter(hl) & collections.Counter(rl)).values())
    dh = [w for w in hl if any(c.isdigit() for c in w)]; dr = [w for w in rl if any(c.isdigit() for c in w)]
    dint = sum((collections.Counter(dh) & collections.Counter(dr)).values())
    return inter, len(hl), len(rl), dint, len(dr)
def f1(c):
    m, h, r = c[0], c[1], c[2]
    p, q = m / max(h, 1), m / max(r, 1)
    return 0 if p + q == 0 else 2 * p * q / (p + q)
engine = sys.argv[1]; values = sys.argv[2:]
stems = sorted(f[:-7] for f in os.listdir(D) if f.endswith('.gt.txt'))
per = {v: {s: counts(open(f'/tmp/cv_e{engine}_{v}/{s}.txt').read(), open(f'{D}/{s}.gt.txt').read()) for s in stems} for v in values}
def total(v, subset): return [sum(per[v][s][i] for s in subset) for i in range(5)]
held = [0] * 5; chosen = []
for k in range(5):
    test = stems[k::5]; train = [s for s in stems if s not in test]
    best = max(values, key=lambda v: f1(total(v, train)))
    chosen.append(best)
    t = total(best, test); held = [a + b for a, b in zip(held, t)]
print(f"engine {engine}: per-value F1 on all 25:", {v: round(f1(total(v, stems)), 4) for v in values},
      "digits:", {v: round(total(v, stems)[3] / total(v, stems)[4], 4) for v in values})
print(f"engine {engine}: chosen per fold {chosen}; held-out caseless F1 {f1(held):.4f}, digit words whole {held[3]/held[4]:.4f}")
