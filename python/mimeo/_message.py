# SPDX-License-Identifier: LGPL-2.1-or-later
"""mimeo.parse(), Message and Part: a parsed message as a tree of parts."""
import datetime
import os

from ._ffi import ffi, lib, cstr, has, MIMEO_MESSAGE_OPTIONS_VERSION, MIMEO_MESSAGE_BORROW
from ._common import Buf, cache, check
from . import _body

__all__ = ["parse", "Message", "Part"]


class _MessageOptions:
    """mimeo_message_options with the slot its `reason` points to: cffi
    frees what ffi.new() made once nothing refers to it, so the two live
    together for the call."""

    def __init__(self, flags=0):
        self.reason = ffi.new("const char **")
        self.c = ffi.new("mimeo_message_options *")
        self.c.version = MIMEO_MESSAGE_OPTIONS_VERSION
        self.c.flags = flags
        self.c.reason = self.reason

    def check(self, rc, what, path=None):
        """check() with the library's reason for a failed parse."""
        r = self.reason[0]
        return check(rc, what, path=path, reason=cstr(r) if r != ffi.NULL else None)


def parse(source):
    """Parse one message (RFC 5322 + MIME, not a whole mbox).

    `source` is bytes (or any bytes-like object), a path (str, bytes or
    os.PathLike) or a binary file object (read from its current position to
    its end).  Returns a Message.  Malformed mail is parsed leniently and is
    no error; an unreadable file raises OSError, a library failure
    mimeo.Error."""
    pp = ffi.new("mimeo_message **")
    keep = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        # Borrowed, not copied: the Message keeps `source` alive.  A
        # bytearray is copied, since the caller may change it later.
        keep = bytes(source) if not isinstance(source, bytes) else source
        o = _MessageOptions(MIMEO_MESSAGE_BORROW)
        o.check(lib.mimeo_message_parse_buffer(pp, ffi.from_buffer(keep), len(keep), o.c),
                "cannot parse the message")
    elif isinstance(source, (str, os.PathLike)):
        path = os.fsencode(source)
        if b"\0" in path:
            raise ValueError("path contains a NUL character")
        ffi.errno = 0
        o = _MessageOptions()
        o.check(lib.mimeo_message_parse_file(pp, path, o.c),
                f"cannot parse {os.fsdecode(path)}", path=path)
    elif hasattr(source, "read"):
        fd = _real_fd(source)
        if fd is not None:
            ffi.errno = 0
            o = _MessageOptions()
            o.check(lib.mimeo_message_parse_fd(pp, fd, o.c),
                    "cannot parse the message", path=getattr(source, "name", "<file>"))
        else:
            data = source.read()
            if isinstance(data, str):
                raise TypeError("mimeo.parse() needs a binary file object, not a text one")
            return parse(bytes(data))
    else:
        raise TypeError("mimeo.parse() takes bytes, a path or a binary file object, not "
                        + type(source).__name__)
    return Message._wrap(pp[0], keep)


def _real_fd(f):
    """The descriptor of a file object positioned where Python's buffered
    reader says it is, or None for objects without one (BytesIO, sockets)."""
    try:
        fd = f.fileno()
        pos = f.tell()
    except (AttributeError, OSError, ValueError):
        return None
    try:
        os.lseek(fd, pos, os.SEEK_SET)
    except OSError:
        return None
    return fd


class Message:
    """A parsed message.  Holds the C tree; freed with close(), at the end
    of a ``with`` block, or when the object is garbage-collected.  Parts
    obtained from it must not be used after close() (they raise
    ValueError)."""

    __slots__ = ("_m", "_keep", "_root", "_names", "number", "offset", "size", "file",
                 "__weakref__")

    def __init__(self):
        raise TypeError("use mimeo.parse() to make a Message")

    @classmethod
    def _wrap(cls, m, keep=None, number=None, offset=None, file=None):
        self = object.__new__(cls)
        self._m = ffi.gc(m, lib.mimeo_message_free)
        self._keep = keep
        self._root = None
        self._names = None
        self.number = number
        self.offset = offset
        self.size = None
        self.file = file
        return self

    # -- lifetime ---------------------------------------------------------
    def close(self):
        """Free the C tree now (idempotent)."""
        m, self._m = self._m, None
        if m is not None:
            ffi.release(m)
        self._keep = None
        self._root = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self):
        return self._m is None

    def _ptr(self):
        if self._m is None:
            raise ValueError("the message is closed")
        return self._m

    def _rootp(self):
        if self._root is None:
            self._root = lib.mimeo_message_root(self._ptr())
        elif self._m is None:
            raise ValueError("the message is closed")
        return self._root

    # -- header fields of the message ------------------------------------
    def _lower_names(self):
        if self._names is None:
            r = self._rootp()
            n = lib.mimeo_part_header_count(r)
            self._names = [cstr(lib.mimeo_part_header_name(r, i)).lower() for i in range(n)]
        return self._names

    def _decoded(self, i):
        with Buf() as b:
            check(lib.mimeo_part_header_decoded(self._rootp(), i, cache(), ffi.NULL, b.p))
            return b.str()

    def __getitem__(self, name):
        """The decoded value of the first field called `name` (any case),
        or None."""
        names = self._lower_names()  # raises ValueError when closed
        key = name.lower()
        if key not in names:
            return None
        return self._decoded(names.index(key))

    def get(self, name, default=None):
        v = self[name]
        return default if v is None else v

    def __contains__(self, name):
        return name.lower() in self._lower_names()

    def get_all(self, name):
        """Decoded values of every field called `name`, in order ([] if
        none)."""
        key = name.lower()
        return [self._decoded(i) for i, n in enumerate(self._lower_names()) if n == key]

    @property
    def headers(self):
        """Every header field of the message as (name as written, decoded
        value), in order."""
        r = self._rootp()
        return [(cstr(lib.mimeo_part_header_name(r, i)), self._decoded(i))
                for i in range(lib.mimeo_part_header_count(r))]

    def raw_header(self, name):
        """The raw (undecoded, still folded) value of the first field called
        `name` as bytes, or None."""
        n = ffi.new("size_t *")
        v = lib.mimeo_part_get_header(self._rootp(), name.encode("utf-8"), n)
        if v == ffi.NULL:
            return None
        return ffi.buffer(v, n[0])[:]

    def addresses(self, name):
        """The mailboxes of every field called `name` (From, To, Cc...) as
        (display name, addr-spec) pairs; display name "" when there is none,
        addr-spec without "@domain" when the address has no domain.  Empty
        groups give nothing."""
        r = self._rootp()
        key = name.lower()
        out = []
        ln = ffi.new("size_t *")
        for i, n in enumerate(self._lower_names()):
            if n != key:
                continue
            raw = lib.mimeo_part_header_raw(r, i, ln)
            out.extend(parse_addresses(raw, ln[0]))
        return out

    @property
    def date(self):
        """The first Date field as an aware datetime (in the zone it was
        written in), or None when absent or unreadable."""
        names = self._lower_names()
        if "date" not in names:
            return None
        i = names.index("date")
        ln = ffi.new("size_t *")
        raw = lib.mimeo_part_header_raw(self._rootp(), i, ln)
        return parse_date(raw, ln[0])

    # -- the tree -------------------------------------------------------------
    @property
    def root(self):
        """The root Part (it carries the message's header fields)."""
        return Part(self, self._rootp())

    def walk(self):
        """Every node of the tree, depth first (root first)."""
        p = self._rootp()
        while p != ffi.NULL:
            yield Part(self, p)
            p = lib.mimeo_part_next(p)
            self._ptr()

    def leaves(self):
        """The leaves (nodes with a body of their own), in the order of
        `mimeo tree --json`."""
        return [p for p in self.walk() if lib.mimeo_part_is_leaf(p._p)]

    def attachments(self):
        """The leaves `mimeo extract` writes: those with a file name or with
        Content-Disposition: attachment."""
        return [p for p in self.leaves() if p.is_attachment]

    def body(self, want="text/plain"):
        """The body a mail client would show, "text/plain" or "text/html"
        (mimeo_message_pick_body: alternatives, related, first inline
        text...), as a Part, or None when the message has no text."""
        if want not in ("text/plain", "text/html"):
            raise ValueError('want must be "text/plain" or "text/html"')
        p = lib.mimeo_message_pick_body(self._ptr(), want.encode())
        return None if p == ffi.NULL else Part(self, p)

    def find(self, section):
        """The node with IMAP section `section` ("1", "2.1"; "" = root), or
        None."""
        p = lib.mimeo_message_find_section(self._ptr(), section.encode("ascii"))
        return None if p == ffi.NULL else Part(self, p)

    @property
    def part_count(self):
        return lib.mimeo_message_part_count(self._ptr())

    def expand(self):
        """Show the files inside leaves as children of those leaves
        (mimeo_message_expand, as `mimeo tree` and `mimeo extract` do): the
        bodies and attachments of a TNEF part (winmail.dat), and the
        uuencoded and yEnc files in text/plain bodies.  The new nodes are
        leaves like any other (content(), filename, size; Part.derived
        names what they were read from) whose sections go on from their
        parent's: the children of "2" are "2.1", "2.2"...  The parent keeps
        its own body.  Returns the number of nodes added; a second call adds
        none.  It changes the tree: call it before other threads use the
        message.  MemoryError, or mimeo.Error (MIMEO_EIO) when the file the
        message was parsed from cannot be read any more."""
        m = self._ptr()
        before = lib.mimeo_message_part_count(m)
        check(lib.mimeo_message_expand(m, ffi.NULL), "cannot expand the message")
        return lib.mimeo_message_part_count(m) - before

    @property
    def defect_count(self):
        """Number of malformed-input events the parser repaired."""
        return lib.mimeo_message_defect_count(self._ptr())

    def defects(self):
        """What the parser found malformed, in input order (the first 1000;
        defect_count counts all): a list of dicts with "kind" (a stable name
        such as "missing-close"), "severity" ("warning" or "critical"),
        "offset" (byte offset in the source), "section" (the innermost part
        open at the time) and "reason", as `mimeo tree --json` prints them."""
        d = ffi.new("mimeo_defect *")
        where = ffi.new("const mimeo_part **")
        out, i = [], 0
        while lib.mimeo_message_defect(self._ptr(), i, d, where) == 0:
            out.append({"kind": cstr(lib.mimeo_defect_name(d.code)),
                        "severity": "critical" if d.severity == 2 else "warning",
                        "offset": d.offset,
                        "section": cstr(lib.mimeo_part_section(where[0])),
                        "reason": cstr(d.reason)})
            i += 1
        return out

    @property
    def source(self):
        """The message's source bytes (a copy)."""
        n = ffi.new("size_t *")
        m = self._ptr()
        s = lib.mimeo_message_source(m, n)
        if s != ffi.NULL:
            return ffi.buffer(s, n[0])[:] if n[0] else b""
        if not has("mimeo_message_read_source"):
            return b""
        size = lib.mimeo_message_source_size(m)  # 0.2: a file source, read back
        out = bytearray(size)
        if size:
            check(lib.mimeo_message_read_source(m, 0, ffi.from_buffer(out), size),
                  "cannot read the source")
        return bytes(out)

    def __repr__(self):
        if self._m is None:
            return "<mimeo.Message closed>"
        return f"<mimeo.Message {self['Subject']!r}, {self.part_count} parts>"


# mimeo_part_derived(): MIMEO_EXPAND_TNEF, _UUENCODE, _YENC (mimeo/expand.h)
_DERIVED = {0x1: "tnef", 0x2: "uuencode", 0x4: "yenc"}


def parse_addresses(raw, n):
    """(display name, addr-spec) pairs of a raw address-list value."""
    lp = ffi.new("mimeo_address_list **")
    check(lib.mimeo_address_list_parse(lp, cache(), ffi.NULL, raw, n))
    lst = ffi.gc(lp[0], lib.mimeo_address_list_free)
    out = []
    for k in range(lst.count):
        a = lst.items[k]
        if a.local_part == ffi.NULL:
            continue  # an empty group: no mailbox
        spec = cstr(a.local_part)
        if a.domain != ffi.NULL:
            spec += "@" + cstr(a.domain)
        out.append((cstr(a.display_name) or "", spec))
    ffi.release(lst)
    return out


def parse_date(raw, n):
    """An aware datetime from a raw date-time value, or None."""
    secs = ffi.new("int64_t *")
    off = ffi.new("int *")
    if lib.mimeo_date_parse(raw, n, secs, off) != 0:
        return None
    try:
        tz = datetime.timezone(datetime.timedelta(minutes=off[0]))
        return datetime.datetime.fromtimestamp(secs[0], tz)
    except (OverflowError, ValueError, OSError):
        return None  # outside Python's datetime range (year > 9999, zone >= 24 h)


class Part:
    """One node of a Message's tree (valid while the message is open)."""

    __slots__ = ("_msg", "_p")

    def __init__(self, msg, p):
        self._msg = msg
        self._p = p

    def _ptr(self):
        self._msg._ptr()  # raises when the message was closed
        return self._p

    def __eq__(self, other):
        return isinstance(other, Part) and self._p == other._p

    def __hash__(self):
        return hash(int(ffi.cast("uintptr_t", self._p)))

    @property
    def message(self):
        return self._msg

    @property
    def section(self):
        """IMAP section number ("1", "2.1"; "" for a multipart root)."""
        return cstr(lib.mimeo_part_section(self._ptr()))

    @property
    def content_type(self):
        """Lowercase "type/subtype" after the RFC 2045 defaults."""
        p = self._ptr()
        return cstr(lib.mimeo_part_type(p)) + "/" + cstr(lib.mimeo_part_subtype(p))

    @property
    def charset(self):
        """Lowercase charset parameter, or None."""
        return cstr(lib.mimeo_part_charset(self._ptr()))

    @property
    def encoding(self):
        """Content-Transfer-Encoding as written, lowercased, or None."""
        return cstr(lib.mimeo_part_cte_name(self._ptr()))

    @property
    def disposition(self):
        """Lowercase disposition type ("attachment", "inline") or None."""
        return cstr(lib.mimeo_part_disposition(self._ptr()))

    @property
    def filename(self):
        """The decoded file name (RFC 2231/2047), or None.  Untrusted: see
        safe_filename."""
        return cstr(lib.mimeo_part_filename(self._ptr()))

    @property
    def safe_filename(self):
        """The file name made safe for one file in a folder
        (mimeo_filename_sanitize, as `mimeo extract` uses)."""
        fn = lib.mimeo_part_filename(self._ptr())
        with Buf() as b:
            check(lib.mimeo_filename_sanitize(fn, 0 if fn == ffi.NULL else len(ffi.string(fn)),
                                              b.p))
            return b.str()

    def param(self, name):
        """A Content-Type parameter (decoded), or None."""
        return cstr(lib.mimeo_part_param(self._ptr(), name.encode("utf-8")))

    @property
    def security(self):
        """(mark, scheme) for a signed or encrypted node, as `mimeo tree`
        shows it: mark "signed", "encrypted", "signature", "keys" or
        "compressed"; scheme "pgp", "smime" or None.  None for every other
        node (nothing is verified or decrypted)."""
        sec = lib.mimeo_part_security(self._ptr())
        if not sec:
            return None
        return (cstr(lib.mimeo_security_role_name(sec)),
                cstr(lib.mimeo_security_scheme_name(sec)))

    @property
    def derived(self):
        """What a node added by Message.expand() was read from: "tnef",
        "uuencode" or "yenc"; None for a node of the MIME structure."""
        return _DERIVED.get(lib.mimeo_part_derived(self._ptr()))

    @property
    def depth(self):
        return lib.mimeo_part_depth(self._ptr())

    @property
    def is_leaf(self):
        return bool(lib.mimeo_part_is_leaf(self._ptr()))

    @property
    def is_multipart(self):
        return bool(lib.mimeo_part_is_multipart(self._ptr()))

    @property
    def is_message(self):
        return bool(lib.mimeo_part_is_message(self._ptr()))

    @property
    def is_attachment(self):
        p = self._ptr()
        if not lib.mimeo_part_is_leaf(p):
            return False
        return lib.mimeo_part_filename(p) != ffi.NULL or self.disposition == "attachment"

    @property
    def parent(self):
        q = lib.mimeo_part_parent(self._ptr())
        return None if q == ffi.NULL else Part(self._msg, q)

    @property
    def children(self):
        out = []
        q = lib.mimeo_part_first_child(self._ptr())
        while q != ffi.NULL:
            out.append(Part(self._msg, q))
            q = lib.mimeo_part_next_sibling(q)
        return out

    @property
    def headers(self):
        """This node's header fields as (name, decoded value)."""
        p = self._ptr()
        out = []
        with Buf() as b:
            for i in range(lib.mimeo_part_header_count(p)):
                b.clear()
                check(lib.mimeo_part_header_decoded(p, i, cache(), ffi.NULL, b.p))
                out.append((cstr(lib.mimeo_part_header_name(p, i)), b.str()))
        return out

    @property
    def offsets(self):
        """(header_start, body_start, end) byte offsets in the source."""
        h = ffi.new("uint64_t[3]")
        lib.mimeo_part_offsets(self._ptr(), h, h + 1, h + 2)
        return (h[0], h[1], h[2])

    @property
    def size(self):
        """Decoded size of the body in bytes (0 for multiparts)."""
        return _body.size(self._ptr())

    def content(self):
        """The transfer-decoded body (base64, quoted-printable, uuencode
        undone) as bytes: exactly what `mimeo cat` writes."""
        return _body.content(self._ptr(), self._msg._m)

    def text(self):
        """The body converted from its charset to str (`mimeo cat
        --text`): undeclared charsets are UTF-8 when valid, else
        windows-1252; invalid sequences become U+FFFD."""
        return _body.text(self._ptr(), self._msg._m)

    def write_to(self, f):
        """Write the decoded body to a binary file object; returns the
        number of bytes."""
        return _body.write(self._ptr(), self._msg._m, f)

    def __repr__(self):
        if self._msg.closed:
            return "<mimeo.Part of a closed message>"
        return f"<mimeo.Part {self.section or '(root)'} {self.content_type}>"
