# SPDX-License-Identifier: LGPL-2.1-or-later
"""What `mimeo ls --json` and `mimeo extract --all` compute for each
message, in Python over the binding (mimeo.dask runs these in its tasks)."""
import os

from . import _mailbox


def _from_field(msg):
    """The From field as `ls` shows it: "Name <addr>", or "addr" without a
    display name, of its first mailbox; None without a From field."""
    addrs = msg.addresses("From")
    if not addrs:
        v = msg["From"]
        return v
    name, spec = addrs[0]
    return f"{name} <{spec}>" if name else spec


def record(msg, file):
    """The `mimeo ls --json` object of one message (a dict)."""
    d = msg.date
    return {
        "file": file,
        "n": msg.number,
        "offset": msg.offset,
        "size": msg.size,
        "date": d.isoformat() if d is not None else None,
        "from": _from_field(msg),
        "subject": msg["Subject"],
        "message_id": msg["Message-ID"],
        "attachments": len(msg.attachments()),
    }


def records(path, start=0, stop=None, base=0):
    """ls records of a file, Maildir or mbox range; numbers start at base+1."""
    for msg in _mailbox.messages(path, start, stop, base):
        with msg:
            yield record(msg, msg.file)


def _create_unique(dirpath, name):
    """Open a new file called `name` in `dirpath`, or name-1.ext,
    name-2.ext... (never overwriting, never following a link); returns
    (file object, name used)."""
    dot = name.rfind(".")
    if dot <= 0:
        dot = len(name)
    base, ext = name[:dot], name[dot:]
    n = 0
    while True:
        used = name if n == 0 else f"{base}-{n}{ext}"
        enc = os.fsencode(used)
        if len(enc) > 255:
            cut = os.fsencode(base)[:255 - len(os.fsencode(f"-{n}{ext}"))]
            used = cut.decode("utf-8", "ignore") + (f"-{n}" if n else "") + ext
        try:
            fd = os.open(os.path.join(dirpath, used),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            n += 1
            if n > 1000000:
                raise
            continue
        return os.fdopen(fd, "wb"), used


def extract(path, start, stop, dest, base=0):
    """Write the attachments of every message of a file, Maildir or mbox
    range into dest/<N>/ as `mimeo extract --all` does; yields the paths
    written."""
    for msg in _mailbox.messages(path, start, stop, base):
        with msg:
            n = msg.number
            atts = msg.attachments()
            if not atts:
                continue
            d = os.path.join(dest, str(n))
            os.makedirs(d, exist_ok=True)
            for part in atts:
                f, used = _create_unique(d, part.safe_filename)
                with f:
                    part.write_to(f)
                yield os.path.join(d, used)
