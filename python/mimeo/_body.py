# SPDX-License-Identifier: LGPL-2.1-or-later
"""Body access: the one module that knows how the C library hands out a
leaf's content (so that moving to the on-demand decoding API of the
flat-memory tree changes only this file).

Today's library (0.1) decodes every body while parsing and keeps it in the
message: mimeo_part_body() is a pointer to it.
"""
from ._ffi import ffi, lib
from ._common import Buf, cache, check


def size(p):
    """Decoded size of leaf `p` in bytes (0 for multiparts)."""
    n = ffi.new("size_t *")
    lib.mimeo_part_body(p, n)
    return n[0]


def content(p):
    """The transfer-decoded body as bytes (exactly what `mimeo cat` writes)."""
    n = ffi.new("size_t *")
    ptr = lib.mimeo_part_body(p, n)
    if n[0] == 0:
        return b""
    return ffi.buffer(ptr, n[0])[:]


def text(p):
    """The body converted from its charset to UTF-8 (`mimeo cat --text`),
    as str."""
    with Buf() as b:
        check(lib.mimeo_part_text(p, cache(), b.p, ffi.NULL), "cannot convert the body")
        return b.str()


def write(p, f, chunk=1 << 20):
    """Write the decoded body to the binary file object `f`, in chunks;
    returns the number of bytes written."""
    n = ffi.new("size_t *")
    ptr = lib.mimeo_part_body(p, n)
    total = n[0]
    buf = ffi.buffer(ptr, total) if total else b""
    mv = memoryview(buf)
    for off in range(0, total, chunk):
        f.write(mv[off:off + chunk])
    return total
