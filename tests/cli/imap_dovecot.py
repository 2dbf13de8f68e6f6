#!/usr/bin/env python3
"""imap_dovecot.py - `mimeo imap` against Dovecot's IMAP server (issue 18).

    imap_dovecot.py --mimeo CLI [--differences TSV] [--min-identical PCT]
                    [--compat-differences TSV] [--compat-min-identical PCT]
                    [--show N] FILE|DIR...

Every message is stored in a throw-away Maildir; Dovecot's `imap` binary
answers `FETCH 1:* (BODYSTRUCTURE ENVELOPE)` in PREAUTH mode on standard
input (../shared/notes/dovecot-imap.md), and `mimeo imap FILE` answers for
each file.  Both answers are parsed into values (a quoted string and a
literal with the same bytes are the same value) and compared value for
value.  A message that differs must be listed in the differences table
(TSV: path relative to the folder given, then the reason); the share of
identical messages of the shared corpus (a folder with an INDEX.tsv) must
reach --min-identical; the project's own messages (tests/data, many written
to show an odd shape) must only have no difference that is not listed.
With --compat-differences the same is done a second time for
`mimeo imap --compat=dovecot` (the server-compatibility profile) against
its own table and --compat-min-identical; both figures are printed.
Exit 0 = pass, 1 = fail,
77 = Dovecot (or running it) is not available.
"""
import argparse
import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

IMAP = "/usr/lib/dovecot/imap"


def parse_value(s, i):
    """One IMAP value at s[i:] -> (value, next index).  Lists are tuples,
    strings bytes, NIL None, numbers int."""
    c = s[i:i + 1]
    if c == b"(":
        i += 1
        out = []
        while True:
            while s[i:i + 1] == b" ":
                i += 1
            if s[i:i + 1] == b")":
                return tuple(out), i + 1
            v, i = parse_value(s, i)
            out.append(v)
    if c == b'"':
        i += 1
        out = bytearray()
        while s[i:i + 1] != b'"':
            if s[i:i + 1] == b"\\":
                i += 1
            if i >= len(s):
                raise ValueError("unterminated string")
            out += s[i:i + 1]
            i += 1
        return bytes(out), i + 1
    if c == b"{":
        j = s.index(b"}", i)
        n = int(s[i + 1:j])
        if s[j + 1:j + 3] != b"\r\n":
            raise ValueError("bad literal")
        return s[j + 3:j + 3 + n], j + 3 + n
    if s[i:i + 3].upper() == b"NIL":
        return None, i + 3
    j = i
    while j < len(s) and s[j:j + 1].isdigit():
        j += 1
    if j == i:
        raise ValueError("unexpected %r at %d" % (s[i:i + 20], i))
    return int(s[i:j]), j


def parse_fetch(resp):
    """{seq: {"BODYSTRUCTURE": v, "ENVELOPE": v}} from Dovecot's output."""
    out = {}
    i = 0
    while True:
        i = resp.find(b"* ", i)
        if i < 0:
            break
        j = resp.find(b" FETCH (", i)
        nl = resp.find(b"\n", i)
        if j < 0 or (0 <= nl < j):
            i = nl + 1 if nl >= 0 else len(resp)
            continue
        seq = int(resp[i + 2:j])
        k = j + len(b" FETCH (")
        items = {}
        while resp[k:k + 1] != b")":
            sp = resp.index(b" ", k)
            name = resp[k:sp].decode()
            v, k = parse_value(resp, sp + 1)
            items[name] = v
            if resp[k:k + 1] == b" ":
                k += 1
        out[seq] = items
        i = k
    return out


def run_dovecot(files):
    work = tempfile.mkdtemp(prefix="mimeo-imap-")
    try:
        os.chmod(work, 0o755)
        for d in ("Maildir/cur", "Maildir/new", "Maildir/tmp", "home"):
            os.makedirs(os.path.join(work, d))
        for n, f in enumerate(files, 1):
            shutil.copyfile(f, os.path.join(work, "Maildir/new", "%07d.mimeo" % n))
        root = os.geteuid() == 0
        if root:
            user, group = "nobody", "nogroup"
        else:
            pw = pwd.getpwuid(os.geteuid())
            user, group = pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name
        with open(os.path.join(work, "dovecot.conf"), "w") as fh:
            fh.write("""mail_location = maildir:%(w)s/Maildir
mail_uid = %(u)s
mail_gid = %(g)s
first_valid_uid = 0
first_valid_gid = 0
userdb {
  driver = static
  args = uid=%(u)s gid=%(g)s home=%(w)s/home
}
passdb {
  driver = static
  args = nopassword=y
}
ssl = no
log_path = %(w)s/dovecot.log
""" % {"w": work, "u": user, "g": group})
        open(os.path.join(work, "dovecot.log"), "w").close()
        cmd = [IMAP, "-c", os.path.join(work, "dovecot.conf")]
        if root:
            subprocess.run(["chown", "-R", "nobody:nogroup", work], check=True)
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
        env = {"USER": user, "HOME": os.path.join(work, "home"), "PATH": "/usr/bin:/bin"}
        # LOGOUT only once the FETCH is answered: at the end of its input
        # the server stops, even in the middle of a long FETCH.
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        p.stdin.write(b"a SELECT INBOX\r\nb FETCH 1:* (BODYSTRUCTURE ENVELOPE)\r\n")
        p.stdin.flush()
        chunks, tail = [], b""
        while True:
            data = p.stdout.read1(1 << 16)
            if not data:
                break
            chunks.append(data)
            tail = (tail + data)[-4096:]
            if b"\nb OK" in tail or b"\nb NO" in tail or b"\nb BAD" in tail:
                break
        p.stdin.write(b"c LOGOUT\r\n")
        p.stdin.close()
        rest = p.stdout.read()
        err = p.stderr.read()
        p.wait(timeout=600)
        out = b"".join(chunks) + rest
        if b"\nb OK" not in out:
            sys.stderr.write("dovecot failed: %s\n" % (out[-300:] + err[-300:]).decode(
                "utf-8", "replace"))
            return None
        # sequence number -> file: Dovecot's uidlist maps UIDs to names
        names = {}
        with open(os.path.join(work, "Maildir/dovecot-uidlist"), "rb") as fh:
            for line in fh.read().splitlines()[1:]:
                uid, _, rest = line.partition(b" ")
                name = rest.split(b":", 1)[-1].decode()
                names[int(uid)] = int(name.split(".")[0])
        fetched = parse_fetch(out)
        # a fresh mailbox: sequence number N is UID N
        return {names[seq] - 1: v for seq, v in fetched.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_mimeo(cli, path, extra=()):
    p = subprocess.run([cli, "imap"] + list(extra) + [path], capture_output=True, timeout=60)
    if p.returncode != 0:
        return None, p.stderr
    out = p.stdout
    if not out.startswith(b"BODYSTRUCTURE "):
        return None, b"no BODYSTRUCTURE line"
    bs, i = parse_value(out, len(b"BODYSTRUCTURE "))
    if out[i:i + 10] != b"\nENVELOPE ":
        return None, b"no ENVELOPE line"
    env, j = parse_value(out, i + 10)
    if out[j:] != b"\n":
        return None, b"trailing bytes"
    return {"BODYSTRUCTURE": bs, "ENVELOPE": env}, None


def first_diff(a, b, path=""):
    if isinstance(a, tuple) and isinstance(b, tuple):
        for n, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "%s.%d" % (path, n))
            if d:
                return d
        if len(a) != len(b):
            return "%s: %d vs %d elements" % (path or "top", len(a), len(b))
        return None
    if a != b:
        return "%s: %r vs %r" % (path or "top", a, b)
    return None


def read_table(path):
    known = {}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("#") or not line.strip():
                    continue
                rel, _, reason = line.rstrip("\n").partition("\t")
                known[rel] = reason
    return known


def compare(args, label, extra, known, min_identical, dv, files, rel, in_corpus):
    """Compare `mimeo imap EXTRA` with Dovecot's answers; True = pass."""
    same, unexpected, listed, corpus_same = 0, [], 0, 0
    for n, f in enumerate(files):
        want = dv.get(n)
        got, err = run_mimeo(args.mimeo, f, extra)
        if want is None:
            diff = "Dovecot gave no answer"
        elif got is None:
            diff = "mimeo failed: %s" % err.decode("utf-8", "replace")[:200]
        else:
            diff = (first_diff(got["BODYSTRUCTURE"], want["BODYSTRUCTURE"], "BODYSTRUCTURE") or
                    first_diff(got["ENVELOPE"], want["ENVELOPE"], "ENVELOPE"))
        if not diff:
            same += 1
            corpus_same += n in in_corpus
        elif rel[n] in known:
            listed += 1
            if args.list_differing:
                print("LISTED\t%s\t%s\t%s" % (label, rel[n], diff[:300]))
        else:
            unexpected.append((rel[n], diff))
    total = len(files)
    pct = 100.0 * same / total if total else 100.0
    print("%s: %d messages: %d identical (%.2f%%), %d listed differences, %d unexpected"
          % (label, total, same, pct, listed, len(unexpected)))
    for r, d in unexpected[:args.show]:
        print("  %s: %s" % (r, d[:300]))
    if args.list_differing:
        for r, d in unexpected:
            print("DIFF\t%s\t%s\t%s" % (label, r, d[:300]))
    ok = not unexpected
    if in_corpus:
        cpct = 100.0 * corpus_same / len(in_corpus)
        print("%s: shared corpus: %d of %d identical (%.2f%%, at least %.1f%% required)"
              % (label, corpus_same, len(in_corpus), cpct, min_identical))
        ok = ok and cpct >= min_identical
    else:
        print("%s: no shared corpus: the share of identical messages is not checked" % label)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mimeo", required=True)
    ap.add_argument("--differences")
    ap.add_argument("--min-identical", type=float, default=99.0)
    ap.add_argument("--compat-differences")
    ap.add_argument("--compat-min-identical", type=float, default=99.0)
    ap.add_argument("--show", type=int, default=20)
    ap.add_argument("--list-differing", action="store_true")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    if not os.access(IMAP, os.X_OK):
        print("SKIP: %s not installed (dovecot-imapd)" % IMAP)
        return 77
    files, rel, in_corpus = [], [], set()
    for p in args.paths:
        if not os.path.exists(p):
            print("(%s absent: not compared)" % p)
            continue
        index = os.path.join(p, "INDEX.tsv")
        if os.path.isdir(p) and os.path.exists(index):
            # ../shared/corpus: the messages are the ones its index lists
            with open(index, encoding="utf-8") as fh:
                for line in fh.read().splitlines()[1:]:
                    name = line.split("\t")[0]
                    if os.path.isfile(os.path.join(p, name)):
                        in_corpus.add(len(files))
                        files.append(os.path.join(p, name))
                        rel.append(name)
        elif os.path.isdir(p):
            for d, _, names in sorted(os.walk(p)):
                for n in sorted(names):
                    if n.endswith((".tsv", ".md", ".list")) or d.endswith("LICENSES"):
                        continue
                    files.append(os.path.join(d, n))
                    rel.append(os.path.relpath(os.path.join(d, n), p))
        else:
            files.append(p)
            rel.append(os.path.basename(p))
    dv = run_dovecot(files)
    if dv is None:
        print("SKIP: could not run Dovecot")
        return 77
    ok = compare(args, "default", (), read_table(args.differences), args.min_identical,
                 dv, files, rel, in_corpus)
    if args.compat_differences:
        ok = compare(args, "--compat=dovecot", ("--compat=dovecot",),
                     read_table(args.compat_differences), args.compat_min_identical,
                     dv, files, rel, in_corpus) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
