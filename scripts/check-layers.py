#!/usr/bin/env python3
"""check-layers.py - the library's file-level call graph has no circles and no upward arrows.

    scripts/check-layers.py ARCHIVE SRCDIR

ARCHIVE is the build's libmimeo-internal.a (every object of the library, the
per-ISA kernels included); SRCDIR is the source tree's src/.  For every object
file, `nm` gives the symbols it defines and the ones it uses; an edge A -> B
means a.c calls (or reads data of) b.c.  Private-header includes are read from
the sources.  The check fails when

  - files call each other in a circle (a strongly connected component of more
    than one file): e.g. a SIMD kernel taking its tables from its dispatcher
    while the dispatcher calls the kernel;
  - a file calls into, or includes a private header of, a higher layer
    (docs/architecture.md draws them).

Only the standard library and binutils' nm are needed.
"""
import os
import re
import subprocess
import sys

# Lower number = lower layer.  A file may use its own folder and lower layers.
RANK = {
    "util": 0,
    "codec": 1,
    "charset": 2,
    "header": 3,
    "parser": 4,
    "message": 5,
    "mailbox": 6,
    "imap": 6,
    "tnef": 6,
    "write": 6,
    "pop3": 6,
    "expand": 7,
    "cli": 9,
}


def objects(archive):
    out = subprocess.run(["ar", "t", archive], check=True, capture_output=True, text=True).stdout
    return [m for m in out.split() if m.endswith(".o")]


def source_of(member, srcdir):
    """Map an archive member to its source file, relative to srcdir."""
    base = os.path.basename(member)[: -len(".o")]  # e.g. codec_base64.c or base64_avx2.c
    m = re.search(r"src/([^/]+)/lib[^/]*\.a\.p/", member)
    if m:  # a per-ISA archive linked whole: its folder is in the path
        return os.path.join(m.group(1), base)
    folder, _, name = base.partition("_")
    if os.path.exists(os.path.join(srcdir, folder, name)):
        return os.path.join(folder, name)
    return base


def symbols(archive):
    """{source: (defined, undefined)} from nm over the archive's members."""
    out = subprocess.run(["nm", "-A", archive], check=True, capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        # archive:member:  [addr] TYPE name
        parts = line.split(":")
        if len(parts) < 3:
            continue
        member = parts[1]
        fields = parts[-1].split()
        if len(fields) < 2:
            continue
        kind, name = fields[-2], fields[-1]
        entry = table.setdefault(member, (set(), set()))
        if kind == "U":
            entry[1].add(name)
        elif kind in "TDRBVWG":
            entry[0].add(name)
    return table


def sccs(graph):
    """Tarjan's strongly connected components."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def folder(path):
    return path.split("/", 1)[0]


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    archive, srcdir = sys.argv[1], sys.argv[2]
    table = symbols(archive)
    src = {m: source_of(m, srcdir) for m in table}
    owner = {}
    for m, (defined, _) in table.items():
        for s in defined:
            owner[s] = src[m]
    graph = {}
    for m, (_, used) in table.items():
        a = src[m]
        graph.setdefault(a, set())
        for s in used:
            b = owner.get(s)
            if b and b != a:
                graph[a].add(b)

    problems = []
    for comp in sccs(graph):
        if len(comp) > 1:
            problems.append("call circle: " + " <-> ".join(sorted(comp)))
    for a, targets in sorted(graph.items()):
        for b in sorted(targets):
            ra, rb = RANK.get(folder(a)), RANK.get(folder(b))
            if ra is None or rb is None:
                problems.append("%s -> %s: folder without a layer in check-layers.py" % (a, b))
            elif rb > ra or (rb == ra and folder(a) != folder(b)):
                problems.append("upward or sideways call: %s -> %s" % (a, b))

    # private headers: <name>-priv.h lives in one folder; including one from a
    # lower layer is an upward arrow too
    privs = {}
    for root, _, files in os.walk(srcdir):
        for f in files:
            if f.endswith("-priv.h"):
                privs[f] = os.path.relpath(root, srcdir)
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+-priv\.h)"', re.M)
    for root, _, files in os.walk(srcdir):
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            rel = os.path.relpath(os.path.join(root, f), srcdir)
            text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
            for h in inc.findall(text):
                where = privs.get(h)
                if where is None:
                    continue
                ra, rb = RANK.get(folder(rel)), RANK.get(where)
                if ra is not None and rb is not None and (rb > ra or (rb == ra and folder(rel) != where)):
                    problems.append("upward include: %s includes %s/%s" % (rel, where, h))

    edges = sum(len(t) for t in graph.values())
    if problems:
        for p in problems:
            print(p)
        print("check-layers: %d problem(s) in %d files, %d edges" % (len(problems), len(graph), edges))
        return 1
    print("check-layers: %d files, %d call edges, no circles, no upward arrows" % (len(graph), edges))
    return 0


if __name__ == "__main__":
    sys.exit(main())
