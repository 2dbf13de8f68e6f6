# SPDX-License-Identifier: LGPL-2.1-or-later
"""mimeo.scan(): parse, transfer-decode and count, as `mimeo scan` does.

The push parser runs in C over 1 MiB windows; Python sees two callbacks per
message (its start, and the end of each leaf) and none per body byte, and
cffi releases the GIL while C runs, so threads scan files (or ranges of a
large mbox, split at From_ lines) in parallel.
"""
import concurrent.futures
import gzip
import os

from ._ffi import (ffi, lib, cstr, MIMEO_PARSER_CALLBACKS_VERSION, MIMEO_PARSE_MBOX,
                   MIMEO_PART_LEAF)
from ._common import Error, check
from . import _mailbox

RANGE = 64 << 20   # an mbox larger than this is split into ranges of this size


class _Counter:
    def __init__(self):
        self.messages = self.parts = self.bytes = 0


@ffi.callback("int(const mimeo_part_info *, uint64_t, void *)")
def _on_message_begin(info, offset, user):
    ffi.from_handle(user).messages += 1
    return 0


@ffi.callback("int(const mimeo_part_info *, void *)")
def _on_part_end(info, user):
    if info.flags & MIMEO_PART_LEAF:
        c = ffi.from_handle(user)
        c.parts += 1
        c.bytes += info.decoded_size
    return 0


_CALLBACKS = ffi.new("mimeo_parser_callbacks *")
_CALLBACKS.version = MIMEO_PARSER_CALLBACKS_VERSION
_CALLBACKS.message_begin = _on_message_begin
_CALLBACKS.part_end = _on_part_end


def _scan_range(path, mbox, start, stop):
    """Counts of the bytes [start, stop) of `path` (stop None = to the
    end).  A range that ends before the end of the file ends before a
    From_ line: the line break before it is the mbox separator, not data."""
    c = _Counter()
    h = ffi.new_handle(c)
    pp = ffi.new("mimeo_parser **")
    p = None
    try:
        if os.fsdecode(path).endswith(".gz"):
            with gzip.open(path, "rb") as f:
                chunk = f.read(_mailbox.READ)
                p = _new_parser(pp, h, mbox or chunk.startswith(b"From "))
                pos = 0
                while chunk:
                    _feed(p, chunk, pos, path)
                    pos += len(chunk)
                    chunk = f.read(_mailbox.READ)
        else:
            mm = _mailbox._map(path)
            if mm is None:
                p = _new_parser(pp, h, mbox)
            else:
                with mm:
                    end = len(mm)
                    if stop is not None:
                        with ffi.from_buffer(mm) as buf:
                            end = stop - lib.mimeo_mailbox_separator(buf, stop)
                    p = _new_parser(pp, h, mbox or mm[start:start + 5] == b"From ")
                    mv = memoryview(mm)
                    try:
                        for pos in range(start, end, _mailbox.READ):
                            with mv[pos:min(pos + _mailbox.READ, end)] as chunk:
                                _feed(p, chunk, pos, path)
                    finally:
                        mv.release()
        _check(p, lib.mimeo_parser_finish(p), 0, path)
    finally:
        if p is not None:
            ffi.release(p)
    return c.messages, c.parts, c.bytes


def _new_parser(pp, h, mbox):
    check(lib.mimeo_parser_new(pp, _mailbox.parser_options(MIMEO_PARSE_MBOX if mbox else 0),
                               _CALLBACKS, h))
    return ffi.gc(pp[0], lib.mimeo_parser_free)


def _feed(p, chunk, pos, path):
    with ffi.from_buffer(chunk) as b:
        _check(p, lib.mimeo_parser_feed(p, b, len(chunk)), pos, path)


def _check(p, rc, base, path):
    if rc < 0:
        reason = ffi.new("const char **")
        off = ffi.new("uint64_t *")
        lib.mimeo_parser_error(p, reason, off)
        raise Error(rc, cstr(reason[0]), off[0] + base, f"cannot scan {os.fsdecode(path)}")


def _ranges(path, mbox, split):
    """Work items (path, mbox, start, stop) for one file: ranges of at
    most RANGE bytes, and at least `split` of them for a large mbox."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    if split <= 1 or size <= RANGE:
        return [(path, mbox, 0, None)]
    rs = _mailbox.ranges(path, max(1, min(RANGE, size // split)))
    return [(path, mbox or len(rs) > 1, a, b) for a, b in rs]


def scan(paths, mbox=False, jobs=None):
    """Parse every message of `paths` (files, mboxes, Maildirs), decode
    every leaf, and return the counts `mimeo scan` prints: (messages,
    leaf parts, decoded bytes).  A file is read as an mbox when `mbox` is
    true or its first line starts with "From ".  `jobs` threads (default:
    the number of cores) scan files, and ranges of large mboxes, in
    parallel; the counts do not depend on it."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    items = []
    for path in paths:
        if os.path.isdir(path):
            items.extend((fp, False, 0, None) for fp in _mailbox.maildir_files(path))
        else:
            items.extend(_ranges(path, mbox, jobs))
    total = [0, 0, 0]
    if jobs == 1 or len(items) == 1:
        results = (_scan_range(*it) for it in items)
    else:
        pool = concurrent.futures.ThreadPoolExecutor(jobs)
        results = pool.map(lambda it: _scan_range(*it), items)
    try:
        for r in results:
            for k in range(3):
                total[k] += r[k]
    finally:
        if jobs != 1 and len(items) != 1:
            pool.shutdown(cancel_futures=True)
    return tuple(total)
