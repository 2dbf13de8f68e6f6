#!/usr/bin/env python3
"""bench_scan.py - `mimeo scan --mbox` against GMime's gmime_scan on the shared workload.

Run by `meson test --benchmark` (suite scan).  It
  1. makes the two reference mailboxes with ../shared/bench/gen_corpus.py into
     BUILD/bench/ when they are absent (cached: 200 MB each takes a while):
       heavy  --size-mb 200 --seed 1                      (attachments up to 8 MB)
       light  --size-mb 200 --seed 1 --max-attach-kb 256  (closer to a real mailbox)
  2. builds ../shared/bench/gmime_scan.c into BUILD/bench/ when GMime is installed;
  3. runs GMime and mimeo interleaved (the machine is shared and noisy: one
     warm-up round, then --runs rounds), and prints, per corpus, the median
     wall-clock throughput, the throughput per CPU second (user + system: it
     moves less than wall-clock time on a loaded machine), the peak RSS (from
     /usr/bin/time) and the counts side by side, with the ratios against the
     targets (>= 10x GMime on one thread, RSS <= GMime's; issue 16).
     mimeo runs with -j 1: GMime's scanner is single-threaded.  BENCH_RUNS
     sets the rounds.

Counts must agree: messages and parts equal, and mimeo's bytes lower than
GMime's by exactly the number of ">From " body lines mimeo un-quotes (mboxrd,
GMime keeps the '>').  A disagreement makes the benchmark fail; missing a
speed target does not (it is reported).

    bench_scan.py --mimeo PATH --build-dir DIR [--shared DIR] [--runs N] [--size-mb N]
"""
import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time


def log(*a):
    print(*a, flush=True)


def ensure_corpus(bench_dir, shared, name, size_mb):
    path = os.path.join(bench_dir, "%s-%d.mbox" % (name, size_mb))
    if os.path.exists(path):
        return path
    gen = os.path.join(shared, "gen_corpus.py")
    args = [sys.executable, gen, "--size-mb", str(size_mb), "--seed", "1", "-o", path + ".tmp"]
    if name == "light":
        args[-2:-2] = ["--max-attach-kb", "256"]
    log("generating %s (%d MB) with %s ..." % (path, size_mb, gen))
    t = time.time()
    subprocess.run(args, check=True)
    os.rename(path + ".tmp", path)
    log("  done in %.0f s" % (time.time() - t))
    return path


def ensure_gmime_scan(bench_dir, shared):
    src = os.path.join(shared, "gmime_scan.c")
    exe = os.path.join(bench_dir, "gmime_scan")
    if not os.path.exists(src):
        return None
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(src):
        return exe
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "gmime-3.0"], check=True,
                               capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-g", "-o", exe, src] + flags, check=True)
    return exe


def run(cmd, tmp):
    """Run cmd; return (seconds, peak RSS in KiB, CPU seconds, stdout).

    Peak RSS comes from /usr/bin/time, not from our own wait4(): Linux keeps
    the high-water mark of the forked copy of this Python process across
    exec, which would report Python's size instead of the program's."""
    rss_file = os.path.join(tmp, "rss")
    timer = shutil.which("time") or "/usr/bin/time"
    use_timer = os.path.exists(timer) and timer.startswith("/")
    full = [timer, "-f", "%M", "-o", rss_file] + cmd if use_timer else cmd
    # CPU time from the kernel's accounting of the children this process
    # reaped (microseconds; /usr/bin/time's %U %S come in hundredths, a
    # fifth of mimeo's 50 ms on the heavy mailbox).  It includes the
    # timer's own ~1 ms.
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                 p.stderr.decode(errors="replace")))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    rss = float("nan")
    if use_timer:
        rss = int(open(rss_file).read().split()[-1])
    return dt, rss, cpu, p.stdout.decode().strip()


def counts(line):
    m = re.fullmatch(r"messages (\d+) parts (\d+) bytes (\d+)", line)
    if not m:
        raise SystemExit("unexpected scan output: %r" % line)
    return tuple(int(x) for x in m.groups())


def from_lines(path):
    """Body lines mimeo un-quotes: ^>+From  (mboxrd)."""
    n = 0
    pat = re.compile(rb"^>+From ", re.M)
    with open(path, "rb") as f:
        tail = b""
        while True:
            block = f.read(1 << 24)
            if not block:
                break
            data = tail + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                tail = data
                continue
            n += len(pat.findall(data, 0, cut))
            tail = data[cut:]
        n += len(pat.findall(tail))
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mimeo", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--shared", default=None)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    ap.add_argument("--size-mb", type=int, default=int(os.environ.get("BENCH_SIZE_MB", "200")))
    a = ap.parse_args()
    src_root = os.environ.get("MIMEO_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
    shared = a.shared or os.path.join(src_root, "..", "shared", "bench")
    if not os.path.isdir(shared):
        log("bench_scan: %s not found; nothing to compare against (skipped)" % shared)
        return 0
    bench_dir = os.path.join(a.build_dir, "bench")
    os.makedirs(bench_dir, exist_ok=True)
    gmime = ensure_gmime_scan(bench_dir, shared)
    if not gmime:
        log("bench_scan: GMime (libgmime-3.0-dev) not available: mimeo figures only")
    corpora = [(n, ensure_corpus(bench_dir, shared, n, a.size_mb)) for n in ("heavy", "light")]

    rows = []
    bad = 0
    for name, path in corpora:
        size = os.path.getsize(path)
        progs = [("mimeo scan --mbox -j 1", [a.mimeo, "scan", "--mbox", "-j", "1", path])]
        if gmime:
            progs.insert(0, ("gmime_scan --mbox", [gmime, "--mbox", path]))
        res = {p: [] for p, _ in progs}
        out = {}
        for r in range(a.runs + 1):          # round 0 warms the page cache
            for label, cmd in (progs if r % 2 else progs[::-1]):
                dt, rss, cpu, o = run(cmd, bench_dir)
                out[label] = o
                if r:
                    res[label].append((dt, rss, cpu))
        quoted = from_lines(path)
        for label, _ in progs:
            t = statistics.median(x[0] for x in res[label])
            rss = max(x[1] for x in res[label])
            cpu = statistics.median(x[2] for x in res[label])
            rows.append((name, label, size / t / 1e6, rss / 1024, out[label], size / max(cpu, 1e-3) / 1e6))
        if gmime:
            gm, mm = counts(out["gmime_scan --mbox"]), counts(out["mimeo scan --mbox -j 1"])
            ok = gm[0] == mm[0] and gm[1] == mm[1] and gm[2] - mm[2] == quoted
            log("%s: %d '>From ' lines un-quoted by mimeo; counts %s" %
                (name, quoted, "agree" if ok else "DISAGREE: gmime %s mimeo %s" % (gm, mm)))
            bad += not ok

    log("")
    log("| corpus | program | MB/s wall (median of %d) | MB/s per CPU second | peak RSS MiB | output |" % a.runs)
    log("|---|---|---|---|---|---|")
    for name, label, mbs, rss, o, cpumbs in rows:
        log("| %s | %s | %.0f | %.0f | %.1f | %s |" % (name, label, mbs, cpumbs, rss, o))
    if gmime:
        log("")
        for name, _ in corpora:
            g = [r for r in rows if r[0] == name and r[1].startswith("gmime")][0]
            m = [r for r in rows if r[0] == name and r[1].startswith("mimeo")][0]
            log("%s: mimeo/GMime throughput %.2fx wall, %.2fx per CPU second (target >= 10x: %s), "
                "RSS %.1f vs %.1f MiB (%s)" %
                (name, m[2] / g[2], m[5] / g[5],
                 "met" if min(m[2] / g[2], m[5] / g[5]) >= 10 else "MISSED", m[3], g[3],
                 "met" if m[3] <= g[3] else "MISSED"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
