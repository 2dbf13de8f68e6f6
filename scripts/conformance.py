#!/usr/bin/env python3
"""conformance.py - Python's email package as a third opinion on the
differences between mimeo and GMime (docs/conformance.md).

    MIMEO_DIFF_DUMP=/tmp/now.tsv meson test -C build differential
    scripts/conformance.py /tmp/now.tsv [--corpus ../shared/corpus] [-v]

The dump (written by tests/test_differential.c, the format of
tests/data/gmime-differences.tsv) holds every corpus message on which
mimeo's leaf structure differs from GMime's.  For each, this computes the
leaf structure Python's email package (compat32, as email.message_from_bytes
gives it) sees, numbered the same way, and sorts the message into:

  ALONE   GMime and Python agree with each other and not with mimeo
  PYTHON  mimeo agrees with Python, not with GMime
  SPLIT   all three differ

The target of issue 15 is ALONE == 0 except the intended differences
(reasons other than NEW in the table).  Exit status 1 when a message is
ALONE and its reason is NEW.
"""
import argparse
import email
import os
import sys


def leaf(sec, msg):
    t = msg.get_content_type().lower()
    t = "".join("?" if (c <= " " or c == ";" or ord(c) >= 127) else c for c in t)
    return "%s %s" % (sec or "-", t)


def walk(msg, sec, out, depth=0):
    if depth > 400:
        return
    # Python parses every message/* body except delivery-status as a
    # message; RFC 2046 makes only message/rfc822 (and RFC 6532 global)
    # carry one, and mimeo and GMime agree on that, so only those (and the
    # obsolete message/news, RFC 5537 4) count as containers here.
    if msg.get_content_type() in ("message/rfc822", "message/global", "message/news") \
            and msg.is_multipart():
        inner = msg.get_payload()
        if not inner:
            return
        body = inner[0]
        if body.is_multipart() and body.get_content_maintype() == "multipart":
            walk(body, sec, out, depth + 1)
        else:
            walk(body, (sec + "." if sec else "") + "1", out, depth + 1)
    elif msg.is_multipart() and msg.get_content_maintype() != "message":
        for i, part in enumerate(msg.get_payload(), 1):
            walk(part, (sec + "." if sec else "") + str(i), out, depth + 1)
    else:
        out.append(leaf(sec, msg))


def python_sig(path):
    with open(path, "rb") as f:
        msg = email.message_from_bytes(f.read())
    out = []
    top = msg.is_multipart() and msg.get_content_maintype() == "multipart"
    walk(msg, "" if top else "1", out)
    return "; ".join(out) if out else "(none)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--corpus", default=os.path.join(here, "..", "..", "shared", "corpus"))
    ap.add_argument("-v", action="store_true", help="print all three leaf lists")
    a = ap.parse_args()
    sys.setrecursionlimit(10000)
    counts = {"ALONE": 0, "PYTHON": 0, "SPLIT": 0}
    new_alone = 0
    for line in open(a.dump, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        path, reason, g, m = line.rstrip("\n").split("\t")
        try:
            p = python_sig(os.path.join(a.corpus, path))
        except Exception as e:  # Python fails to parse: no opinion
            p = "(python error: %s)" % e
        if p == g:
            cls = "ALONE"
        elif p == m:
            cls = "PYTHON"
        else:
            cls = "SPLIT"
        counts[cls] += 1
        if cls == "ALONE" and reason == "NEW":
            new_alone += 1
        print("%-6s %-16s %s" % (cls, reason, path))
        if a.v:
            print("    gmime : %s\n    python: %s\n    mimeo : %s" % (g, p, m))
    print("total: %s; ALONE without a reason: %d" %
          (", ".join("%s %d" % kv for kv in counts.items()), new_alone))
    return 1 if new_alone else 0


if __name__ == "__main__":
    sys.exit(main())
