#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench_python.py - the Python binding against Python's email package.

Run by `meson test -C build --benchmark --suite python -v` (with the
environment meson gives it: MIMEO_LIBRARY, PYTHONPATH).  One pass over a
20 MB mbox, reading every message's Subject and every leaf's decoded
content:

  mimeo   for msg in mimeo.mbox(path): msg["Subject"]; [p.content() for p in msg.leaves()]
  email   the same messages (split by the mailbox module), message_from_bytes
          (policy.default), msg["Subject"], walk(), get_payload(decode=True)
          of every part that is no multipart

Both sides are run interleaved (one warm-up round, then BENCH_RUNS rounds,
default 5) because the machine is shared; it prints the median wall-clock
and CPU-time throughput of each and their ratio, against the target of 20x.
The counts (messages, leaves, decoded bytes) must agree except where the
two differ on purpose (mboxrd ">From " un-quoting): a count mismatch fails
the benchmark, a missed speed target is reported, not failed.

The mailboxes come from ../shared/bench/gen_corpus.py (--seed 1), generated
into BUILD/bench/ once: "light" (--max-attach-kb 256, ~37 KB a message,
like a real mailbox) and "heavy" (attachments up to 8 MB).
    bench_python.py --build-dir DIR [--shared DIR] [--runs N] [--size-mb N]
"""
import argparse
import email
import email.policy
import mailbox
import os
import resource
import statistics
import subprocess
import sys
import time

import mimeo


def log(*a):
    print(*a, flush=True)


def ensure_corpus(bench_dir, shared, name, size_mb, extra):
    path = os.path.join(bench_dir, f"py-{name}-{size_mb}.mbox")
    if not os.path.exists(path):
        gen = os.path.join(shared, "bench", "gen_corpus.py")
        if not os.path.exists(gen):
            log(f"skipped: {gen} is missing (the shared benchmark workload)")
            sys.exit(77)
        os.makedirs(bench_dir, exist_ok=True)
        log(f"generating {path} ...")
        subprocess.run([sys.executable, gen, "--size-mb", str(size_mb), "--seed", "1", *extra,
                        "-o", path + ".tmp"], check=True, stdout=subprocess.DEVNULL)
        os.rename(path + ".tmp", path)
    return path


def run_mimeo(path):
    messages = leaves = nbytes = 0
    for msg in mimeo.mbox(path):
        with msg:
            msg["Subject"]
            messages += 1
            for p in msg.leaves():
                leaves += 1
                nbytes += len(p.content())
    return messages, leaves, nbytes


def run_email(path):
    messages = leaves = nbytes = 0
    policy = email.policy.default
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            msg = email.message_from_bytes(box.get_bytes(key), policy=policy)
            msg["Subject"]
            messages += 1
            for part in msg.walk():
                if part.is_multipart():  # multipart/* and message/rfc822
                    continue
                leaves += 1
                nbytes += len(part.get_payload(decode=True) or b"")
    finally:
        box.close()
    return messages, leaves, nbytes


def timed(fn, path):
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    counts = fn(path)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return counts, wall, cpu


def bench(path, runs):
    size = os.path.getsize(path) / 1e6
    res = {"mimeo": [], "email": []}
    counts = {}
    for r in range(runs + 1):  # round 0 warms the page cache and imports
        for name, fn in (("mimeo", run_mimeo), ("email", run_email)):
            c, wall, cpu = timed(fn, path)
            counts[name] = c
            if r:
                res[name].append((wall, cpu))
    log(f"  {os.path.basename(path)}: {size:.1f} MB")
    med = {}
    for name in ("mimeo", "email"):
        wall = statistics.median(w for w, _ in res[name])
        cpu = statistics.median(c for _, c in res[name])
        med[name] = (wall, cpu)
        log(f"    {name:6s} {size / wall:8.1f} MB/s wall  {size / max(cpu, 1e-9):8.1f} MB/s CPU"
            f"   messages {counts[name][0]} leaves {counts[name][1]} bytes {counts[name][2]}")
    ratio_wall = med["email"][0] / med["mimeo"][0]
    ratio_cpu = med["email"][1] / max(med["mimeo"][1], 1e-9)
    verdict = "meets" if ratio_wall >= 20 else "MISSES"
    log(f"    ratio  {ratio_wall:.1f}x wall, {ratio_cpu:.1f}x CPU ({verdict} the 20x target)")
    return counts


def check_counts(counts, path):
    """Messages must agree; leaves and bytes may differ only where the
    email package and mimeo read a corner differently (reported)."""
    m, e = counts["mimeo"], counts["email"]
    if m[0] != e[0]:
        log(f"FAIL: message counts differ on {path}: mimeo {m[0]}, email {e[0]}")
        return False
    if m != e:
        log(f"    note: leaves/bytes differ (mimeo {m[1]}/{m[2]}, email {e[1]}/{e[2]}): "
            "mboxrd >From un-quoting and lenient base64 differ between the two")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--shared", default=None)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    ap.add_argument("--size-mb", type=int, default=20)
    a = ap.parse_args()
    src = os.environ.get("MIMEO_SOURCE_DIR") or os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    shared = a.shared or os.path.join(os.path.dirname(src), "shared")
    bench_dir = os.path.join(a.build_dir, "bench")
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    log(f"bench_python: mimeo {mimeo.__version__} (Python binding, cffi ABI mode) vs Python "
        f"{sys.version.split()[0]} email; {a.runs} rounds, medians; load average {' '.join(load)}")
    ok = True
    for name, extra in (("light", ["--max-attach-kb", "256"]), ("heavy", [])):
        path = ensure_corpus(bench_dir, shared, name, a.size_mb, extra)
        ok &= check_counts(bench(path, a.runs), path)
    with open("/proc/loadavg") as f:
        log(f"load average after: {' '.join(f.read().split()[:3])}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
