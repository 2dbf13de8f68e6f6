# SPDX-License-Identifier: LGPL-2.1-or-later
"""mimeo.Builder (compose a message) and mimeo.to7bit()."""
import datetime
import os

from ._ffi import (ffi, lib, MIMEO_BUILDER_OPTIONS_VERSION, MIMEO_BUILDER_PART_VERSION,
                   MIMEO_BUILD_CRLF, MIMEO_BUILD_8BITMIME, MIMEO_BUILD_WRITE_BCC)
from ._common import Buf, check, to_bytes

_FIELDS = {"from": 0, "to": 1, "cc": 2, "bcc": 3, "reply_to": 4}


def _addr(a):
    """"addr", ("Name", "addr") or "Name <addr>" -> (name, addr) bytes."""
    if isinstance(a, (tuple, list)):
        name, spec = a
    else:
        a = str(a).strip()
        if a.endswith(">") and "<" in a:
            name, spec = a[:a.rindex("<")].strip().strip('"'), a[a.rindex("<") + 1:-1]
        else:
            name, spec = None, a
    return (to_bytes(name, "display name") if name else ffi.NULL), to_bytes(spec, "address")


class Builder:
    """Compose a message (mimeo_builder): text and HTML bodies, inline
    images, attachments from bytes or a path, forwarded messages.

        b = mimeo.Builder(from_="Ann <ann@example.org>", to=["bob@example.org"],
                          subject="Report", text="See attached.")
        b.attach(path="report.pdf", content_type="application/pdf")
        data = b.to_bytes()

    Addresses are "addr", "Name <addr>" or (name, addr).  Non-ASCII text is
    encoded as needed (RFC 2047/2231, quoted-printable or base64), so the
    output is 7-bit clean unless `eightbit` is true.  Files given by path
    are read while the message is written, never whole."""

    def __init__(self, from_=None, to=(), cc=(), bcc=(), reply_to=(), subject=None,
                 text=None, html=None, date=None, message_id=None, headers=(),
                 crlf=False, eightbit=False, write_bcc=False, message_id_domain=None):
        o = ffi.new("mimeo_builder_options *")
        o.version = MIMEO_BUILDER_OPTIONS_VERSION
        o.flags = ((MIMEO_BUILD_CRLF if crlf else 0) | (MIMEO_BUILD_8BITMIME if eightbit else 0)
                   | (MIMEO_BUILD_WRITE_BCC if write_bcc else 0))
        self._keep = []
        if message_id_domain:
            d = ffi.new("char[]", to_bytes(message_id_domain, "message_id_domain"))
            self._keep.append(d)
            o.message_id_domain = d
        pp = ffi.new("mimeo_builder **")
        check(lib.mimeo_builder_new(pp, o), "cannot make a builder")
        self._b = ffi.gc(pp[0], lib.mimeo_builder_free)
        for field, val in (("from", from_), ("to", to), ("cc", cc), ("bcc", bcc),
                           ("reply_to", reply_to)):
            if val is None:
                continue
            if isinstance(val, str) or (isinstance(val, tuple) and len(val) == 2
                                        and all(isinstance(x, (str, type(None))) for x in val)):
                val = [val]  # one address, not a list of them
            for a in val:
                self.add_address(field, a)
        if subject is not None:
            self.subject(subject)
        if text is not None:
            self.text(text)
        if html is not None:
            self.html(html)
        if date is not None:
            self.date(date)
        if message_id is not None:
            self.message_id(message_id)
        for name, value in (headers.items() if isinstance(headers, dict) else headers):
            self.header(name, value)

    def _ptr(self):
        if self._b is None:
            raise ValueError("the builder is closed")
        return self._b

    def close(self):
        b, self._b = self._b, None
        if b is not None:
            ffi.release(b)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- addresses and header fields -------------------------------------
    def add_address(self, field, address):
        """Append a mailbox to "from", "to", "cc", "bcc" or "reply_to"."""
        name, spec = _addr(address)
        check(lib.mimeo_builder_add_address(self._ptr(), _FIELDS[field], name, spec),
              f"bad {field} address {address!r}")
        return self

    def from_(self, address):
        return self.add_address("from", address)

    def to(self, *addresses):
        for a in addresses:
            self.add_address("to", a)
        return self

    def cc(self, *addresses):
        for a in addresses:
            self.add_address("cc", a)
        return self

    def bcc(self, *addresses):
        for a in addresses:
            self.add_address("bcc", a)
        return self

    def subject(self, text):
        b = to_bytes(text, "subject")
        check(lib.mimeo_builder_set_subject(self._ptr(), b, len(b)))
        return self

    def date(self, when):
        """A datetime (naive = UTC) or POSIX seconds."""
        if isinstance(when, datetime.datetime):
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.timezone.utc)
            off = int(when.utcoffset().total_seconds() // 60)
            secs = int(when.timestamp())
        else:
            secs, off = int(when), 0
        check(lib.mimeo_builder_set_date(self._ptr(), secs, off), "bad date")
        return self

    def message_id(self, mid):
        check(lib.mimeo_builder_set_message_id(self._ptr(), to_bytes(mid.strip("<>"), "id")),
              f"bad Message-ID {mid!r}")
        return self

    def header(self, name, value):
        """Add another header field (In-Reply-To, X-Mailer...)."""
        check(lib.mimeo_builder_add_header(self._ptr(), to_bytes(name, "name"),
                                           to_bytes(value, "value"), 0),
              f"bad header field {name!r}")
        return self

    # -- bodies and attachments ---------------------------------------------
    def text(self, text):
        b = to_bytes(text, "text") if isinstance(text, str) else bytes(text)
        check(lib.mimeo_builder_set_text(self._ptr(), b, len(b), 0))
        return self

    def html(self, html):
        b = to_bytes(html, "html") if isinstance(html, str) else bytes(html)
        check(lib.mimeo_builder_set_html(self._ptr(), b, len(b), 0))
        return self

    def _spec(self, content_type, filename, content_id=None, description=None):
        s = ffi.new("mimeo_builder_part *")
        s.version = MIMEO_BUILDER_PART_VERSION
        keep = []
        for field, val in (("content_type", content_type), ("filename", filename),
                           ("content_id", content_id), ("description", description)):
            if val is not None:
                c = ffi.new("char[]", to_bytes(val, field))
                keep.append(c)
                setattr(s, field, c)
        return s, keep

    def attach(self, data=None, *, path=None, filename=None, content_type=None,
               description=None):
        """Attach bytes (`data`) or the file at `path` (read in chunks when
        the message is written; its base name is the default filename)."""
        if (data is None) == (path is None):
            raise TypeError("attach() takes data or path=, not both")
        spec, keep = self._spec(content_type, filename, description=description)
        if path is not None:
            p = os.fsencode(path)
            ffi.errno = 0
            check(lib.mimeo_builder_add_attachment_file(self._ptr(), spec, p),
                  f"cannot attach {os.fsdecode(p)}", path=p)
        else:
            data = bytes(data)
            check(lib.mimeo_builder_add_attachment(self._ptr(), spec, data, len(data)),
                  "cannot attach")
        return self

    def inline(self, data, content_id, content_type, filename=None):
        """An inline image for the HTML body, referred to as "cid:<content_id>"."""
        spec, keep = self._spec(content_type, filename, content_id=content_id)
        data = bytes(data)
        check(lib.mimeo_builder_add_inline(self._ptr(), spec, data, len(data)),
              "cannot add the inline part")
        return self

    def attach_message(self, data, filename=None):
        """Forward a whole message (bytes) as message/rfc822."""
        data = bytes(data)
        check(lib.mimeo_builder_add_message(self._ptr(), data, len(data),
                                            to_bytes(filename, "filename") if filename
                                            else ffi.NULL, 0),
              "cannot attach the message")
        return self

    def to_bytes(self):
        """The message.  The first call fixes Date, Message-ID and
        boundaries; later calls give the same bytes."""
        with Buf() as b:
            ffi.errno = 0
            check(lib.mimeo_builder_write_buf(self._ptr(), b.p), "cannot write the message")
            return b.bytes()

    def __bytes__(self):
        return self.to_bytes()


@ffi.callback("int(const void *, size_t, void *)")
def _collect(data, n, ctx):
    ffi.from_handle(ctx).append(ffi.buffer(data, n)[:])
    return 0


def to7bit(data):
    """The message `data` (bytes) rewritten so that every byte is 7-bit
    ASCII and every line at most 998 octets, keeping its decoded content
    (mimeo_to7bit)."""
    from ._mailbox import parse_bytes
    data = bytes(data)
    m = ffi.gc(parse_bytes(data), lib.mimeo_message_free)
    out = []
    h = ffi.new_handle(out)
    try:
        check(lib.mimeo_to7bit(m, ffi.NULL, _collect, h, ffi.NULL), "cannot convert to 7-bit")
    finally:
        ffi.release(m)
    return b"".join(out)
