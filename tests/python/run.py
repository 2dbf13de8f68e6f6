#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run the binding's pytest tests from `meson test` (exit 77 = skipped when
this interpreter has no cffi or pytest)."""
import os
import sys

try:
    import cffi  # noqa: F401
    import pytest
except ImportError as e:
    if __name__ == "__main__":
        print(f"skipped: {e} (Debian: apt-get install python3-cffi python3-pytest)")
        sys.exit(77)

# Guarded: distributed's worker processes are spawned, and a spawned
# process imports the parent's main module (this file) again.
if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    # the named test files, else the whole folder
    files = [os.path.join(here, a) for a in sys.argv[1:] if a.endswith(".py") and a[0] != "-"]
    opts = [a for a in sys.argv[1:] if not a.endswith(".py") or a[0] == "-"]
    args = (files or [here]) + ["-q", "-rs", "-p", "no:cacheprovider"] + opts
    sys.exit(pytest.main(args))
