#!/usr/bin/env python3
"""check-man3.py MIMEO_3 INCLUDE_DIR

The generated mimeo(3) page gives the prototype of every function the
public headers declare with MIMEO_EXTERN, each once, under its header's section, and
is well-formed troff where groff is installed (warnings are errors).
"""
import glob
import os
import re
import shutil
import subprocess
import sys


def main():
    page, include_dir = sys.argv[1], sys.argv[2]
    text = open(page, encoding="utf-8").read()
    problems = []
    count = 0
    for h in sorted(glob.glob(os.path.join(include_dir, "mimeo", "*.h"))):
        section = f".SS <mimeo/{os.path.basename(h)}>"
        if section not in text:
            problems.append(f"no section {section}")
            continue
        body = text.split(section, 1)[1].split("\n.SS ", 1)[0].split("\n.SH ", 1)[0]
        src = open(h, encoding="utf-8").read()
        for name in re.findall(r"MIMEO_EXTERN\b[^;{(]*?\b(mimeo_[A-Za-z0-9_]+)\s*\(", src):
            count += 1
            protos = "\n".join(ln for ln in body.splitlines() if ln.startswith(".B "))
            n = len(re.findall(r"\b" + name + r"\(", protos))
            if n != 1:
                problems.append(f"{name}: listed {n} times under {section}")
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page],
                           capture_output=True, text=True, env={**os.environ, "LC_ALL": "C.UTF-8"})
        if r.returncode != 0 or r.stderr.strip():
            problems.append("groff: " + r.stderr.strip())
    for p in problems:
        print(p)
    print(f"check-man3: {count} functions, {len(problems)} problems")
    return 1 if problems or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
