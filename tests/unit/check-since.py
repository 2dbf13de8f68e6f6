#!/usr/bin/env python3
"""check-since.py INCLUDE_DIR VERSION

Every function a public header declares with MIMEO_EXTERN says in its doc
comment which release it appeared in: "@since X.Y", at most the release
being prepared (VERSION is meson's project version, e.g. 0.1.0: the next
release is 0.2).  0.1 is what 0.1.0 had; whether a tag is right is checked
against the history when tags are added (git log -S), not here.
"""
import glob
import os
import re
import sys


def main():
    include_dir, version = sys.argv[1], sys.argv[2]
    major, minor = (int(x) for x in version.split(".")[:2])
    newest = (major, minor + 1)
    bad = []
    count = 0
    for h in sorted(glob.glob(os.path.join(include_dir, "mimeo", "*.h"))):
        text = open(h, encoding="utf-8").read()
        for m in re.finditer(r"MIMEO_EXTERN\b[^;{(]*?\b(mimeo_[A-Za-z0-9_]+)\s*\(", text):
            count += 1
            before = text[:m.start()].rstrip()
            doc = ""
            if before.endswith("*/"):
                doc = before[before.rfind("/*"):]
            tags = re.findall(r"@since\s+(\d+)\.(\d+)", doc)
            if not tags:
                bad.append(f"{os.path.basename(h)}: {m.group(1)} has no @since in its doc comment")
                continue
            t = tuple(int(x) for x in tags[-1])
            if t > newest:
                bad.append(f"{os.path.basename(h)}: {m.group(1)} says @since {t[0]}.{t[1]}, "
                           f"after the next release {newest[0]}.{newest[1]}")
    for b in bad:
        print(b)
    print(f"check-since: {count} functions, {len(bad)} problems")
    return 1 if bad or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
