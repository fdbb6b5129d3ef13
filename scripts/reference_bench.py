#!/usr/bin/env python3
"""Benchmark a Python reference OCR pipeline on ONE onnxruntime thread:
  --pipeline v4 (default): rapidocr_onnxruntime 1.4.4 with the PP-OCRv4
      models shipped inside its wheel (our Engine 1's models);
  --pipeline v6: rapidocr 3.10.0 with PP-OCRv6 small det/rec and the v2.0
      mobile classifier, loaded from --models DIR (our Engine 2's files,
      byte-identical to the ones in the rapidocr 3.10.0 wheel).

Usage: reference_bench.py [--pipeline v4|v6] [--models DIR] [--runs N] [--warmup W] IMAGE...

Normally run through scripts/reference-bench, which sets up the pinned
virtualenv. For every image: W warm-up runs, then N timed runs of the whole
pipeline call `engine(path)`. Prints one JSON object per image on stdout:

  image         the path as given
  decode_s      CPU s in engine.load_img (file -> BGR ndarray)
  det_s         CPU s in engine.text_det (DB detection incl. its pre/post-processing)
  cls_s         CPU s in engine.text_cls (angle classifier over all crops)
  rec_s         CPU s in engine.text_rec (CRNN recognition over all crops)
  other_s       CPU s of the rest of engine(path): the pipeline's own glue
                (downscale to max_side_len 2000, letterbox, box sorting,
                perspective crops, result filtering); total_cpu_s minus the
                four stages
  total_cpu_s   CPU s of the whole engine(path) call (includes decode)
  total_wall_s  wall-clock s of the whole engine(path) call
  boxes         number of text boxes the pipeline kept
  text          recognised texts of those boxes, joined with "\\n", in the
                pipeline's own output order

Every time is the MEDIAN over the timed runs (each figure its own median).
CPU time is time.process_time(), which on Linux is CLOCK_PROCESS_CPUTIME_ID
and counts every thread of the process. Progress and versions go to stderr.
"""

import os

# Single-threading, part 1: every native thread pool that may be linked in
# must be told before the libraries are imported (they read it at load time).
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "OPENCV_FOR_THREADS_NUM",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from importlib import metadata  # noqa: E402


def die(msg: str, code: int = 2) -> "NoReturn":  # noqa: F821
    print(f"reference_bench: error: {msg}", file=sys.stderr)
    sys.exit(code)


def log(msg: str) -> None:
    print(f"reference_bench: {msg}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(
        description="Benchmark rapidocr_onnxruntime on one onnxruntime thread; "
        "one JSON line per image on stdout."
    )
    p.add_argument("--runs", type=int, default=3, help="timed runs per image (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="warm-up runs per image (default 1)")
    p.add_argument("--pipeline", choices=("v4", "v6"), default="v4", help="reference pipeline (default v4)")
    p.add_argument("--models", default="models", help="model directory for --pipeline v6 (default ./models)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    a = p.parse_args()
    if a.runs < 1:
        p.error("--runs must be at least 1")
    if a.warmup < 0:
        p.error("--warmup must be at least 0")
    return a


def check_readable(path: str) -> None:
    if not os.path.exists(path):
        die(f"image not found: {path}")
    if not os.path.isfile(path):
        die(f"image is not a regular file: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(1)
    except OSError as e:
        die(f"image is not readable: {path}: {e}")
    if not head:
        die(f"image is empty: {path}")


def os_thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return -1


def other_threads_cpu_s() -> float:
    """CPU seconds (user+system) used so far by the threads of this process
    other than the main one, from /proc/self/task/*/stat; -1 if unknown."""
    total, main = 0, os.getpid()
    try:
        for tid in os.listdir("/proc/self/task"):
            if int(tid) == main:
                continue
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:  # thread gone meanwhile
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    except OSError:
        return -1.0
    return total / os.sysconf("SC_CLK_TCK")


class StageTimer:
    """Wraps one of the pipeline's own callables and adds the CPU seconds
    spent in it to `acc[name]`. The pipeline calls `self.text_det(...)` etc.
    through instance attributes, so replacing the attribute on the engine
    instance is enough; the wrapped objects themselves are untouched."""

    def __init__(self, name, fn, acc, probe):
        self.name, self.fn, self.acc, self.probe = name, fn, acc, probe

    def __call__(self, *args, **kwargs):
        t0 = time.process_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.acc[self.name] += time.process_time() - t0
            self.probe()

    def __getattr__(self, attr):  # keep e.g. engine.text_det.postprocess_op reachable
        return getattr(self.fn, attr)


def build_v4():
    """rapidocr_onnxruntime 1.4.4 with its bundled PP-OCRv4 models.

    It reads intra_op_num_threads / inter_op_num_threads from config.yaml
    (Global, copied to Det/Cls/Rec); both ship as -1, which leaves
    onnxruntime's default (one intra-op thread per core). Keyword arguments
    to RapidOCR() go through utils/parse_parameters.UpdateParameters: names
    without a det/cls/rec prefix update Global, and update_global_to_module()
    then copies these two keys into Det, Cls and Rec. Every other setting
    stays the shipped default (use_det, use_cls and use_rec true,
    text_score 0.5, max_side_len 2000, ...)."""
    from rapidocr_onnxruntime import LoadImageError, RapidOCR

    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    if not (engine.use_det and engine.use_cls and engine.use_rec):
        die("pipeline defaults changed: use_det/use_cls/use_rec are not all true")
    return engine, LoadImageError


def build_v6(models: str):
    """rapidocr 3.10.0 with the PP-OCRv6 small det/rec and the v2.0 mobile
    classifier from `models`. Its config.yaml keeps onnxruntime options under
    EngineConfig.onnxruntime (both thread counts ship as -1); the `params`
    dict overrides dotted keys. Models load lazily on first use, so they are
    loaded here, before the stages are wrapped for timing. Every other
    setting is the shipped default (det limit_type min / 736, thresh 0.3,
    box_thresh 0.5, unclip_ratio 1.6, rec 48x320 batches of 6, ...)."""
    from rapidocr import RapidOCR
    from rapidocr.utils.load_image import LoadImageError

    files = {
        "Det.model_path": "PP-OCRv6_det_small.onnx",
        "Rec.model_path": "PP-OCRv6_rec_small.onnx",
        "Cls.model_path": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    }
    params = {k: os.path.join(models, f) for k, f in files.items()}
    for path in params.values():
        check_readable(path)
    params.update(
        {
            "Global.log_level": "warning",
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )
    engine = RapidOCR(params=params)
    if not (engine.use_det and engine.use_cls and engine.use_rec):
        die("pipeline defaults changed: use_det/use_cls/use_rec are not all true")
    engine._load_det_model()
    engine._load_cls_model()
    engine._load_rec_model()
    return engine, LoadImageError


def run_pipeline(engine, path):
    """Texts of the boxes the pipeline kept, in its output order."""
    out = engine(path)
    if isinstance(out, tuple):  # rapidocr_onnxruntime: (result, elapse)
        result = out[0]
        return [] if result is None else [str(r[1]) for r in result]
    return [str(t) for t in (out.txts or ())]


def main() -> int:
    args = parse_args()
    for img in args.images:
        check_readable(img)

    import cv2
    import onnxruntime as ort

    # OpenCV's own pool (resize, warpPerspective in the pipeline's glue).
    cv2.setNumThreads(1)
    # Importing onnxruntime itself starts one idle helper thread (no CPU
    # used); intra-op pools only appear when sessions are built, so count
    # from here.
    threads_before_sessions = os_thread_count()

    if args.pipeline == "v4":
        engine, load_error = build_v4()
    else:
        engine, load_error = build_v6(args.models)
    log(
        f"onnxruntime {ort.__version__}, pipeline {args.pipeline} "
        f"({'rapidocr_onnxruntime ' + metadata.version('rapidocr_onnxruntime') if args.pipeline == 'v4' else 'rapidocr ' + metadata.version('rapidocr')}), "
        f"numpy {metadata.version('numpy')}, opencv {cv2.__version__}, "
        f"python {sys.version.split()[0]}"
    )

    # Verification at run time: collect every onnxruntime session the three
    # stages hold (each stage keeps a wrapper whose `.session` is the live
    # onnxruntime.InferenceSession) and read back its options.
    # InferenceSession.get_session_options() returns the options the C++
    # session was actually created with, not the Python object passed in.
    # Both thread counts must be exactly 1; onnxruntime's default of 0 would
    # mean "one per core". As a second, independent check on what the OS
    # sees, the number of threads of this process (/proc/self/task) is
    # compared before and after building the sessions and at its peak while
    # running, and the CPU time used by threads other than the main one is
    # reported at the end.
    sessions = {}
    for stage in ("text_det", "text_cls", "text_rec"):
        for attr, val in vars(getattr(engine, stage)).items():
            if isinstance(getattr(val, "session", None), ort.InferenceSession):
                sessions[f"{stage}.{attr}"] = val.session
    if len(sessions) != 3:
        die(f"expected 3 onnxruntime sessions (det, cls, rec), found {sorted(sessions)}")
    for name, sess in sessions.items():
        so = sess.get_session_options()
        intra, inter = so.intra_op_num_threads, so.inter_op_num_threads
        mode = so.execution_mode
        log(
            f"session {name}: intra_op_num_threads={intra} inter_op_num_threads={inter} "
            f"execution_mode={mode.name} providers={sess.get_providers()}"
        )
        if intra != 1 or inter != 1:
            die(f"session {name} is not single-threaded (intra={intra}, inter={inter})", 3)

    threads_after_init = os_thread_count()
    peak = [threads_after_init]

    def probe():
        n = os_thread_count()
        if n > peak[0]:
            peak[0] = n

    stages = ("decode", "det", "cls", "rec")
    acc = dict.fromkeys(stages, 0.0)
    engine.load_img = StageTimer("decode", engine.load_img, acc, probe)
    engine.text_det = StageTimer("det", engine.text_det, acc, probe)
    engine.text_cls = StageTimer("cls", engine.text_cls, acc, probe)
    engine.text_rec = StageTimer("rec", engine.text_rec, acc, probe)

    def run_once(path):
        for k in acc:
            acc[k] = 0.0
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            texts = run_pipeline(engine, path)
        except load_error as e:
            die(f"cannot decode image {path}: {e}")
        except (OSError, ValueError) as e:
            die(f"cannot process image {path}: {type(e).__name__}: {e}")
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        probe()
        sample = dict(acc)
        sample["total_cpu"] = cpu
        sample["total_wall"] = wall
        sample["other"] = cpu - sum(acc[s] for s in stages)
        return sample, texts

    for img in args.images:
        for i in range(args.warmup):
            log(f"{img}: warm-up {i + 1}/{args.warmup}")
            run_once(img)
        samples, texts = [], None
        for i in range(args.runs):
            sample, t = run_once(img)
            log(
                f"{img}: run {i + 1}/{args.runs}: cpu {sample['total_cpu']:.3f}s "
                f"wall {sample['total_wall']:.3f}s"
            )
            if texts is not None and t != texts:
                log(f"{img}: warning: output differs between runs")
            texts = t
            samples.append(sample)

        def med(key):
            return round(statistics.median(s[key] for s in samples), 6)

        out = {
            "image": img,
            "decode_s": med("decode"),
            "det_s": med("det"),
            "cls_s": med("cls"),
            "rec_s": med("rec"),
            "other_s": med("other"),
            "total_cpu_s": med("total_cpu"),
            "total_wall_s": med("total_wall"),
            "boxes": len(texts),
            "text": "\n".join(texts),
        }
        print(json.dumps(out, ensure_ascii=False), flush=True)

    other_cpu = other_threads_cpu_s()
    log(
        f"OS threads of this process: {threads_before_sessions} before building the "
        f"sessions, {threads_after_init} after, {peak[0]} at peak while running; "
        f"CPU used by threads other than the main one: {other_cpu:.2f}s"
    )
    if peak[0] > threads_before_sessions or other_cpu > 0.05 + 0.01 * time.process_time():
        log("warning: work ran on more than one thread; the figures are not single-threaded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
