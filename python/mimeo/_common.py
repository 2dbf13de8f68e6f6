# SPDX-License-Identifier: LGPL-2.1-or-later
"""What every module of the binding shares: the exception, status checks,
the per-thread charset cache and mimeo_buf handling."""
import os
import threading

from ._ffi import ffi, lib, cstr, MIMEO_ENOMEM, MIMEO_EIO


class Error(ValueError):
    """A failure reported by libmimeo.

    Attributes: ``code`` (the negative MIMEO_E* status), ``name``
    ("MIMEO_ELIMIT"), ``reason`` (the library's English reason) and
    ``offset`` (byte offset in the input where it happened, or None when the
    call does not report one)."""

    def __init__(self, code, reason=None, offset=None, what=None):
        self.code = code
        self.name = cstr(lib.mimeo_status_name(code))
        self.reason = reason or cstr(lib.mimeo_strerror(code))
        self.offset = offset
        text = self.reason
        if what:
            text = f"{what}: {text}"
        if offset is not None:
            text += f" (at byte {offset})"
        super().__init__(text)


def check(rc, what=None, path=None, reason=None):
    """Raise for a negative status: MemoryError for ENOMEM, OSError (with
    errno, like open()) for EIO on a file, mimeo.Error otherwise (with
    `reason`, the library's sentence, when the call gave one)."""
    if rc >= 0:
        return rc
    if rc == MIMEO_ENOMEM:
        raise MemoryError(what or "mimeo: out of memory")
    if rc == MIMEO_EIO and path is not None:
        err = ffi.errno
        if err:
            text = os.strerror(err)
            if reason:
                text = f"{reason}: {text}"
            raise OSError(err, text, os.fsdecode(path) if not isinstance(path, int) else path)
    raise Error(rc, reason=reason, what=what)


class _Cache:
    """A charset converter cache (not thread-safe in C), one per thread."""

    def __init__(self):
        pp = ffi.new("mimeo_charset_cache **")
        check(lib.mimeo_charset_cache_new(pp, ffi.NULL))
        self.ptr = ffi.gc(pp[0], lib.mimeo_charset_cache_free)


_local = threading.local()


def cache():
    """This thread's charset cache (the C objects are read by several
    threads at once when Python code runs with free threads or releases the
    GIL in cffi calls, so no cache is shared)."""
    c = getattr(_local, "cache", None)
    if c is None:
        c = _local.cache = _Cache()
    return c.ptr


class Buf:
    """A mimeo_buf used as a context manager: disposed on exit."""

    __slots__ = ("p",)

    def __init__(self):
        self.p = ffi.new("mimeo_buf *")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib.mimeo_buf_dispose(self.p)

    def clear(self):
        lib.mimeo_buf_clear(self.p)

    def bytes(self):
        if self.p.ptr == ffi.NULL or self.p.size == 0:
            return b""
        return ffi.buffer(self.p.ptr, self.p.size)[:]

    def str(self):
        return self.bytes().decode("utf-8", "surrogateescape")


def to_bytes(s, what="value"):
    """str -> UTF-8 bytes for the C side (refusing NULs, which would cut
    a C string short silently)."""
    if isinstance(s, str):
        b = s.encode("utf-8", "surrogateescape")
    elif isinstance(s, (bytes, bytearray, memoryview)):
        b = bytes(s)
    else:
        raise TypeError(f"{what} must be str or bytes, not {type(s).__name__}")
    if b"\0" in b:
        raise ValueError(f"{what} contains a NUL character")
    return b
