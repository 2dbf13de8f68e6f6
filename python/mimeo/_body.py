# SPDX-License-Identifier: LGPL-2.1-or-later
"""Body access: the one module that knows how the C library hands out a
leaf's content.

libmimeo 0.2 (the flat-memory tree) keeps no decoded bodies: they are
decoded on demand from the source (mimeo_part_decode_buf() for content(),
mimeo_part_decode() streaming for write_to()), and mimeo_part_body() is only
a zero-copy view of bodies without a transfer encoding held in memory.  A
0.1 library decoded every body while parsing and mimeo_part_body() pointed
at it; both are supported, so the binding works with the library it finds.
"""
from ._ffi import ffi, lib, has, cstr, MIMEO_EIO
from ._common import Buf, Error, cache, check

FLAT = has("mimeo_part_decode_buf")
MIMEO_DECODE_UTF8 = 0x1


def _io_check(rc, msg):
    """Status of a body access: EIO carries the message's reason (the
    source file changed or cannot be read)."""
    if rc == MIMEO_EIO and has("mimeo_message_io_error"):
        why = cstr(lib.mimeo_message_io_error(msg))
        raise Error(rc, why, what="cannot read the body")
    check(rc, "cannot read the body")


def size(p):
    """Decoded size of leaf `p` in bytes (0 for multiparts)."""
    if FLAT:
        return lib.mimeo_part_size(p)
    n = ffi.new("size_t *")
    lib.mimeo_part_body(p, n)
    return n[0]


def content(p, msg):
    """The transfer-decoded body as bytes (exactly what `mimeo cat` writes)."""
    n = ffi.new("size_t *")
    ptr = lib.mimeo_part_body(p, n)
    if ptr != ffi.NULL:
        return ffi.buffer(ptr, n[0])[:] if n[0] else b""
    with Buf() as b:
        _io_check(lib.mimeo_part_decode_buf(p, 0, ffi.NULL, b.p, ffi.NULL), msg)
        return b.bytes()


def text(p, msg):
    """The body converted from its charset to UTF-8 (`mimeo cat --text`),
    as str."""
    with Buf() as b:
        _io_check(lib.mimeo_part_text(p, cache(), b.p, ffi.NULL), msg)
        return b.str()


@ffi.callback("int(const void *, size_t, void *)")
def _write_cb(data, n, ctx):
    st = ffi.from_handle(ctx)
    try:
        st[0].write(ffi.buffer(data, n))
    except BaseException as e:  # stop the decoder; re-raised below
        st[1] = e
        return -4  # MIMEO_EUSER
    return 0


def write(p, msg, f, chunk=1 << 20):
    """Write the decoded body to the binary file object `f` in blocks
    (bounded memory with a 0.2 library); returns the number of bytes."""
    if FLAT:
        st = [f, None]
        rc = lib.mimeo_part_decode(p, 0, ffi.NULL, _write_cb, ffi.new_handle(st), ffi.NULL)
        if st[1] is not None:
            raise st[1]
        _io_check(rc, msg)
        return lib.mimeo_part_size(p)
    n = ffi.new("size_t *")
    ptr = lib.mimeo_part_body(p, n)
    total = n[0]
    if total:
        mv = memoryview(ffi.buffer(ptr, total))
        for off in range(0, total, chunk):
            f.write(mv[off:off + chunk])
    return total
