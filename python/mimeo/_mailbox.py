# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mailbox iteration: the one module that knows how messages are found in
an mbox or a Maildir (so that moving to the library's mailbox reader
changes only this file).

An mbox is split by libmimeo's own push parser (MIMEO_PARSE_MBOX, structure
only), so a message starts exactly where `mimeo scan --mbox` starts one:
a From_ line at the start of the file or after an empty line that looks like
an envelope line (a sender, then a time hh:mm).  Each message is then parsed
into a tree from its bytes, with mboxrd/mboxo quoting (">From ") undone.
"""
import errno
import gzip
import os
import re

from ._ffi import (ffi, lib, MIMEO_PARSER_OPTIONS_VERSION, MIMEO_PARSER_CALLBACKS_VERSION,
                   MIMEO_PARSE_MBOX, MIMEO_PARSE_NO_DECODE, MIMEO_PARSER_DEFAULTS,
                   MIMEO_MESSAGE_OPTIONS_VERSION, MIMEO_MESSAGE_BORROW, cstr)
from ._common import Error, check

READ = 1 << 20
_QUOTED = re.compile(rb"^>(>*From )", re.M)
_HAS_QUOTED = re.compile(rb"^>+From ", re.M)


def parser_options(flags):
    o = ffi.new("mimeo_parser_options *")
    o.version = MIMEO_PARSER_OPTIONS_VERSION
    o.flags = flags
    for k, v in MIMEO_PARSER_DEFAULTS.items():
        setattr(o, k, v)
    return o


class _Splitter:
    """Feeds an mbox to a structure-only push parser and collects the
    (start, end) byte span of each message: start = its From_ line, end =
    the end of its last part (the separator line break excluded)."""

    def __init__(self):
        self.spans = []
        self._start = None
        self._handle = ffi.new_handle(self)
        cb = ffi.new("mimeo_parser_callbacks *")
        cb.version = MIMEO_PARSER_CALLBACKS_VERSION
        cb.message_begin = _on_message_begin
        cb.part_end = _on_part_end
        self._cb = cb
        pp = ffi.new("mimeo_parser **")
        check(lib.mimeo_parser_new(pp, parser_options(MIMEO_PARSE_MBOX | MIMEO_PARSE_NO_DECODE),
                                   cb, self._handle))
        self._p = ffi.gc(pp[0], lib.mimeo_parser_free)

    def _check(self, rc):
        if rc < 0:
            reason = ffi.new("char **")
            off = ffi.new("uint64_t *")
            lib.mimeo_parser_error(self._p, ffi.cast("const char **", reason), off)
            raise Error(rc, cstr(reason[0]) if reason[0] != ffi.NULL else None, off[0],
                        "cannot split the mailbox")

    def feed(self, data):
        self._check(lib.mimeo_parser_feed(self._p, ffi.from_buffer(data), len(data)))

    def finish(self):
        self._check(lib.mimeo_parser_finish(self._p))
        ffi.release(self._p)


@ffi.callback("int(const mimeo_part_info *, uint64_t, void *)")
def _on_message_begin(info, offset, user):
    ffi.from_handle(user)._start = offset
    return 0


@ffi.callback("int(const mimeo_part_info *, void *)")
def _on_part_end(info, user):
    if info.depth == 0:
        s = ffi.from_handle(user)
        s.spans.append((s._start, info.end_offset))
    return 0


def is_maildir(path):
    return os.path.isdir(os.path.join(path, "cur")) or os.path.isdir(os.path.join(path, "new"))


def maildir_files(path):
    """The message files of a Maildir: new/ and cur/ together in file-name
    order (byte order; a name in both comes from new/ first); tmp/ (still
    being delivered) and names starting with "." are no messages."""
    if not is_maildir(path):
        raise NotADirectoryError(errno.ENOTDIR, "a folder but no Maildir (no cur/ or new/)",
                                 os.fsdecode(path))
    names = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            names.extend((os.fsencode(n), sub) for n in os.listdir(d) if not n.startswith("."))
    names.sort()
    out = [os.path.join(path, sub, os.fsdecode(n)) for n, sub in names]
    return [f for f in out if os.path.isfile(f)]


def _open(path):
    p = os.fsdecode(path)
    if p.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb", buffering=0)


def unquote(data):
    """mboxrd/mboxo: a line ^>+From loses one '>' (as the parser does)."""
    if _HAS_QUOTED.search(data):
        return _QUOTED.sub(rb"\1", data)
    return data


def message_spans(path, start=0, stop=None):
    """Yield (offset, size, bytes) of each message of the file at `path`:
    one message for a file that is no mbox (its first line is no From_
    line), else every mbox message whose From_ line starts in [start,
    stop).  `start` must be 0 or the offset of a From_ line (see
    next_from_line)."""
    with _open(path) as f:
        if start:
            f.seek(start)
        first = f.read(READ)
        if not first.startswith(b"From "):
            if start:
                return
            data = first + f.read()
            yield 0, len(data), data
            return
        sp = _Splitter()
        buf = bytearray()
        base = start   # file offset of buf[0]
        chunk = first
        done = False
        while not done:
            if chunk:
                sp.feed(chunk)
                buf += chunk
            else:
                sp.finish()
                done = True
            spans, sp.spans = sp.spans, []
            for a, b in spans:
                a += start
                b += start
                if stop is not None and a >= stop:
                    return
                yield a, b - a, bytes(buf[a - base:b - base])
            if spans:
                # keep only what the open message needs
                cut = spans[-1][1] + start - base
                del buf[:cut]
                base += cut
            if not done:
                chunk = f.read(READ)


def iter_messages(path, start=0, stop=None):
    """(number, offset, size, file, bytes) for every message of a file or
    Maildir (numbered from 1 as `mimeo ls` does), or of the byte range
    [start, stop) of an mbox (numbered from 1 at `start`)."""
    if os.path.isdir(path):
        for n, fp in enumerate(maildir_files(path), 1):
            with _open(fp) as f:
                data = f.read()
            yield n, 0, len(data), fp, data
        return
    for n, (off, size, data) in enumerate(message_spans(path, start, stop), 1):
        yield n, off, size, path, data


def parse_bytes(data, borrow=True):
    """A mimeo_message * parsed from `data` (which must stay alive while
    the message is borrowed)."""
    pp = ffi.new("mimeo_message **")
    o = ffi.new("mimeo_message_options *")
    o.version = MIMEO_MESSAGE_OPTIONS_VERSION
    o.flags = MIMEO_MESSAGE_BORROW if borrow else 0
    check(lib.mimeo_message_parse_buffer(pp, ffi.from_buffer(data), len(data), o),
          "cannot parse the message")
    return pp[0]


def messages(path, start=0, stop=None):
    """Message objects (with .number, .offset, .size and .file) of a file,
    a Maildir, or a byte range of an mbox (see iter_messages)."""
    from ._message import Message
    for n, off, size, fp, data in iter_messages(path, start, stop):
        data = unquote(data)
        m = Message._wrap(parse_bytes(data), data, number=n, offset=off, file=fp)
        m.size = size
        yield m


def mbox(path):
    """Iterate over the messages of an mbox (also .gz) or Maildir as
    Message objects with .number, .offset and .file set."""
    return messages(os.fspath(path))


def count(path, start=0, stop=None):
    """Number of messages in a file, Maildir or mbox byte range."""
    if os.path.isdir(path):
        return len(maildir_files(path))
    return sum(1 for _ in message_spans(path, start, stop))


def ranges(path, blocksize):
    """[(start, stop)] byte ranges of about `blocksize` bytes that cut an
    mbox at message starts; [(0, None)] for anything else (a Maildir, a
    single message, a .gz file, a small mbox)."""
    if os.path.isdir(path) or os.fsdecode(path).endswith(".gz"):
        return [(0, None)]
    size = os.path.getsize(path)
    if size <= blocksize:
        return [(0, None)]
    with open(path, "rb") as f:
        if f.read(5) != b"From ":
            return [(0, None)]
    starts = [0]
    pos = blocksize
    while pos < size:
        s = next_from_line(path, pos)
        if s is None:
            break
        starts.append(s)
        pos = s + blocksize
    return list(zip(starts, starts[1:] + [None]))


# --- byte ranges of a large mbox (mimeo.dask) -----------------------------

def _from_line(line):
    """The parser's test for an envelope line: "From ", a sender, then a
    time hh:mm somewhere after it."""
    if not line.startswith(b"From "):
        return False
    rest = line[5:].lstrip(b" ")
    if not rest:
        return False
    sp = rest.find(b" ")
    if sp < 0:
        return False
    return re.search(rb"[0-9]:[0-9][0-9]", rest[sp:]) is not None


def next_from_line(path, pos, limit=None):
    """Offset of the first message start (From_ line after an empty line)
    at or after `pos`, or None when there is none before `limit`."""
    if pos == 0:
        return 0
    with open(path, "rb") as f:
        # step back one line so that the line before `pos` is known
        back = min(pos, 4096)
        f.seek(pos - back)
        data = f.read(back + READ)
        base = pos - back
        while True:
            i = 0
            while True:
                j = data.find(b"\nFrom ", i)
                if j < 0:
                    break
                start = base + j + 1
                if start >= pos:
                    if limit is not None and start >= limit:
                        return None
                    # previous line empty: "\n\n" or "\n\r\n" before it
                    prev_blank = data[j - 1:j] == b"\n" or data[j - 2:j] == b"\n\r"
                    eol = data.find(b"\n", j + 1)
                    if eol < 0 and len(data) - j < 4096:
                        more = f.read(READ)
                        if more:
                            data += more
                            continue
                    line = data[j + 1:eol if eol >= 0 else len(data)].rstrip(b"\r")
                    if prev_blank and j >= 1 and _from_line(line):
                        return start
                i = j + 1
            more = f.read(READ)
            if not more:
                return None
            if limit is not None and base + len(data) >= limit + 4096:
                return None
            keep = data[-8192:]
            base += len(data) - len(keep)
            data = keep + more
