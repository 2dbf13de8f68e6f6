#!/usr/bin/env python3
"""check-symbols.py LIBMIMEO_SO INCLUDE_DIR

The shared library exports exactly the public API: every function that a
header in INCLUDE_DIR/mimeo/ declares with MIMEO_EXTERN, and nothing else
(no internal mimeo__ helper, no stray global).  Each exported name must also
carry the MIMEO_0 version node of src/mimeo.map.
"""
import glob
import os
import re
import subprocess
import sys


def declared(include_dir):
    names = set()
    pat = re.compile(r"MIMEO_EXTERN\b[^;{]*?\b(mimeo_[A-Za-z0-9_]+)\s*\(", re.S)
    for h in glob.glob(os.path.join(include_dir, "mimeo", "*.h")) + [os.path.join(include_dir, "mimeo.h")]:
        text = open(h, encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"#\s*define[^\n]*(\\\n[^\n]*)*", " ", text)
        names.update(pat.findall(text))
    return names


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names, versions = set(), {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 3 or f[1] in ("A",):
            continue
        name, _, ver = f[2].partition("@")
        names.add(name)
        versions[name] = ver.lstrip("@")
    return names, versions


def main():
    lib, inc = sys.argv[1], sys.argv[2]
    want = declared(inc)
    have, versions = exported(lib)
    extra = sorted(have - want)
    missing = sorted(want - have)
    unversioned = sorted(n for n in have & want if versions.get(n) != "MIMEO_0")
    for n in extra:
        print("exported but not declared in a public header:", n)
    for n in missing:
        print("declared MIMEO_EXTERN but not exported:", n)
    for n in unversioned:
        print("exported without the MIMEO_0 version node:", n)
    if extra or missing or unversioned:
        return 1
    print("%d public functions, all exported with version MIMEO_0, nothing else" % len(want))
    return 0


if __name__ == "__main__":
    sys.exit(main())
