# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mail archives on Dask: index and extract mailboxes in parallel on any
scheduler (the local threads or processes, or a distributed.Client).

    import mimeo.dask
    bag = mimeo.dask.index(["2019.mbox", "2020.mbox"])   # a dask.bag
    df = bag.to_dataframe()                               # dask.dataframe

Partitions: one per file (a Maildir is one file list), and a large mbox is
cut into byte ranges of about `blocksize` bytes at message starts (From_
lines), so one big archive is indexed by many workers.  Each task opens the
file itself: only paths travel to workers, so the files must be readable at
the same path on every worker (a shared or replicated file system).
"""
import os

import dask
import dask.bag

from . import _archive, _mailbox

__all__ = ["index", "extract", "partitions"]

BLOCKSIZE = 64 << 20


def partitions(paths, blocksize=BLOCKSIZE):
    """The work items of `paths`: (path, start, stop) byte ranges of an
    mbox (stop None = end of file), or (path, 0, None) for a whole file or
    Maildir.  Ranges start at message starts (From_ lines)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    out = []
    for path in paths:
        path = os.fspath(path)
        out.extend((path, a, b) for a, b in _mailbox.ranges(path, blocksize))
    return out


def _numbered(paths, blocksize, work):
    """One delayed result of work(path, start, stop, base) per partition,
    where `base` is the number of messages in the file's earlier ranges
    (counted by cheap structure-only tasks of their own), so message
    numbers are the same as for the whole file."""
    by_file = {}
    for path, a, b in partitions(paths, blocksize):
        by_file.setdefault(path, []).append((a, b))
    parts = []
    for path, ranges in by_file.items():
        counts = []
        for a, b in ranges:
            base = dask.delayed(sum, pure=True)(counts) if counts else 0
            parts.append(dask.delayed(work, pure=True)(path, a, b, base))
            if len(ranges) > 1:
                counts = counts + [dask.delayed(_mailbox.count, pure=True)(path, a, b)]
    return parts


def _records(path, start, stop, base):
    return list(_archive.records(path, start, stop, base))


def _bag(parts):
    if not parts:
        return dask.bag.from_sequence([], npartitions=1)
    return dask.bag.from_delayed(parts)


def index(paths, blocksize=BLOCKSIZE):
    """A dask.bag with one dict per message of `paths` (mbox files, also
    .gz, Maildir folders, single message files): exactly the fields of
    `mimeo ls --json` ("file", "n", "offset", "size", "date", "from",
    "subject", "message_id", "attachments").  Nothing is read until the
    bag is computed."""
    return _bag(_numbered(paths, blocksize, _records))


class _Extract:
    """A picklable task: extract one range into its file's folder."""

    def __init__(self, dests):
        self.dests = dests

    def __call__(self, path, start, stop, base):
        return list(_archive.extract(path, start, stop, self.dests[path], base))


def extract(paths, dest, blocksize=BLOCKSIZE, compute=True):
    """Write the attachments of every message of `paths` as `mimeo extract
    --all` does: message N's into DEST/<N>/ (with several inputs, each
    input's into DEST/<its base name>/<N>/), names made safe and unique.
    Returns the list of files written (or, with compute=False, a dask.bag
    of them)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    dests = {}
    for p in paths:
        dests[p] = dest if len(paths) == 1 else os.path.join(
            dest, os.path.basename(os.path.normpath(p)) or "mailbox")
    bag = _bag(_numbered(paths, blocksize, _Extract(dests)))
    return bag.compute() if compute else bag
