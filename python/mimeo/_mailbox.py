# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mailbox iteration: the one module that knows how messages are found in
an mbox or a Maildir.  It wraps libmimeo's mailbox reader (mimeo/mailbox.h):
an mbox (also .gz) is indexed by one line scan, with the push parser's own
From_ rules, and each message is parsed in place from the file's mapping
(MIMEO_MESSAGE_MBOX un-quotes ">From " lines); a Maildir is new/ and cur/
together in file-name order; any other file is one message.

Byte ranges of a large mbox (for mimeo.scan's threads and mimeo.dask's
partitions) are cut with mimeo_mailbox_next_from() on a mapping of the file,
and each range is indexed as an mbox of its own (mimeo_mailbox_open_buffer),
so a range's messages are exactly those a reading of the whole file gives.
"""
import errno
import mmap
import os

from ._ffi import ffi, lib, cstr, MIMEO_PARSER_OPTIONS_VERSION, MIMEO_EIO
from ._common import check

READ = 1 << 20
MIMEO_MAILBOX_OPTIONS_VERSION = 1
MIMEO_MAILBOX_SINGLE, MIMEO_MAILBOX_MBOX, MIMEO_MAILBOX_MAILDIR = 1, 2, 3


def parser_options(flags):
    o = ffi.new("mimeo_parser_options *")
    o.version = MIMEO_PARSER_OPTIONS_VERSION
    o.flags = flags
    return o  # limits 0 = the library's defaults (never copies of them)


def _options():
    o = ffi.new("mimeo_mailbox_options *")
    o.version = MIMEO_MAILBOX_OPTIONS_VERSION
    return o


class Mailbox:
    """An opened mimeo_mailbox: a file, a Maildir, or a range of an mbox
    held in a mapping (`keep` is what the C side borrows)."""

    def __init__(self, path, data=None, keep=None):
        self.path = os.fsdecode(path)
        pp = ffi.new("mimeo_mailbox **")
        if data is None:
            p = os.fsencode(path)
            if b"\0" in p:
                raise ValueError("path contains a NUL character")
            ffi.errno = 0
            rc = lib.mimeo_mailbox_open(pp, p, _options())
            if rc == MIMEO_EIO and ffi.errno == errno.ENOTDIR and os.path.isdir(path):
                raise NotADirectoryError(errno.ENOTDIR, "a folder but no Maildir (no cur/ "
                                         "or new/)", self.path)
            check(rc, f"cannot open {self.path}", path=p)
        else:
            check(lib.mimeo_mailbox_open_buffer(pp, data, len(data), _options()),
                  f"cannot index {self.path}")
        self._keep = keep
        self._mb = ffi.gc(pp[0], lib.mimeo_mailbox_free)

    def __len__(self):
        return lib.mimeo_mailbox_count(self._mb)

    @property
    def type(self):
        return lib.mimeo_mailbox_type(self._mb)

    @property
    def skipped(self):
        return lib.mimeo_mailbox_skipped(self._mb)

    def _fail(self, rc, what):
        if rc == MIMEO_EIO:
            raise OSError(ffi.errno or errno.EIO, cstr(lib.mimeo_mailbox_error(self._mb)))
        check(rc, what)

    def entry(self, n):
        """(number, offset, size, path) of message n (1-based)."""
        e = ffi.new("mimeo_mailbox_entry *")
        self._fail(lib.mimeo_mailbox_entry_get(self._mb, n, e), f"no message {n}")
        return e.number, e.offset, e.size, (cstr(e.path) if e.path != ffi.NULL else self.path)

    def parse(self, n):
        """Message n as a mimeo_message * (borrowing the mailbox's memory
        for an mbox: the Python Message keeps this object alive)."""
        pp = ffi.new("mimeo_message **")
        ffi.errno = 0
        self._fail(lib.mimeo_mailbox_parse(pp, self._mb, n, ffi.NULL),
                   f"cannot parse message {n} of {self.path}")
        return pp[0]

    def messages(self, base=0, offset=0, file=None):
        """Message objects for every message, numbered base+1...; `offset`
        is added to each offset (a range's start in its file)."""
        from ._message import Message
        for n in range(1, len(self) + 1):
            number, off, size, path = self.entry(n)
            m = Message._wrap(self.parse(n), self, number=number + base, offset=off + offset,
                              file=file or path)
            m.size = size
            yield m


def _map(path):
    """A read-only mapping of the whole file (None for an empty file)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return None
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def open_range(path, start, stop):
    """A Mailbox of the mbox messages whose From_ lines are in [start,
    stop) (stop None = end of file); start and stop must come from
    ranges().  The whole file when start is 0 and stop None."""
    if start == 0 and stop is None:
        return Mailbox(path)
    mm = _map(path)
    if mm is None:
        return Mailbox(path)
    buf = ffi.from_buffer(mm)
    end = len(mm) if stop is None else stop
    if stop is not None:
        sep = lib.mimeo_mailbox_separator(buf, stop)
        if end - sep > start:
            end -= sep
    view = memoryview(mm)[start:end]
    return Mailbox(path, ffi.from_buffer(view), keep=(mm, view))


def ranges(path, blocksize):
    """[(start, stop)] byte ranges of about `blocksize` bytes that cut an
    mbox at message starts (stop None = end of file); [(0, None)] for a
    Maildir, a single message, a .gz file or a small mbox."""
    if os.path.isdir(path) or os.fsdecode(path).endswith(".gz"):
        return [(0, None)]
    size = os.path.getsize(path)
    if size <= blocksize:
        return [(0, None)]
    with open(path, "rb") as f:
        if f.read(5) != b"From ":
            return [(0, None)]
    mm = _map(path)
    buf = ffi.from_buffer(mm)
    try:
        starts = [0]
        pos = blocksize
        while pos < len(mm):
            s = lib.mimeo_mailbox_next_from(buf, len(mm), pos)
            if s >= len(mm):
                break
            starts.append(s)
            pos = s + blocksize
    finally:
        ffi.release(buf)
        mm.close()
    return list(zip(starts, starts[1:] + [None]))


def count(path, start=0, stop=None):
    """Number of messages in a file, Maildir or mbox range."""
    return len(open_range(path, start, stop))


def messages(path, start=0, stop=None, base=0):
    """Message objects (with .number, .offset, .size and .file) of a file,
    a Maildir, or a byte range of an mbox (numbered base+1... from the
    range's start)."""
    path = os.fspath(path)
    mb = open_range(path, start, stop)
    return mb.messages(base=base, offset=start, file=None if mb.type == MIMEO_MAILBOX_MAILDIR
                       else os.fsdecode(path))


def mbox(path):
    """Iterate over the messages of an mbox (also .gz), a Maildir or a
    single message file as Message objects with .number (from 1, as `mimeo
    ls` numbers them), .offset, .size and .file set."""
    return messages(path)


def maildir_files(path):
    """The message files of a Maildir, in the reader's order."""
    mb = Mailbox(path)
    if mb.type != MIMEO_MAILBOX_MAILDIR:
        raise NotADirectoryError(errno.ENOTDIR, "not a Maildir", os.fsdecode(path))
    return [mb.entry(n)[3] for n in range(1, len(mb) + 1)]


def parse_bytes(data, borrow=True):
    """A mimeo_message * parsed from `data` (which must stay alive while
    the message is borrowed)."""
    from ._message import _MessageOptions, MIMEO_MESSAGE_BORROW
    pp = ffi.new("mimeo_message **")
    o = _MessageOptions(MIMEO_MESSAGE_BORROW if borrow else 0)
    o.check(lib.mimeo_message_parse_buffer(pp, ffi.from_buffer(data), len(data), o.c),
            "cannot parse the message")
    return pp[0]
