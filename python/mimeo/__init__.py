# SPDX-License-Identifier: LGPL-2.1-or-later
"""mimeo for Python: parse Internet mail with libmimeo.

    import mimeo
    with mimeo.parse("message.eml") as msg:
        print(msg["Subject"], msg.date, msg.addresses("To"))
        for part in msg.leaves():
            print(part.section, part.content_type, part.size, part.filename)
    for msg in mimeo.mbox("archive.mbox"):
        ...
    mimeo.scan(["archive.mbox"])              # (messages, parts, bytes)

A pure-Python layer over the C library (cffi, ABI mode: no compiler at
import time).  Distributed indexing with Dask: mimeo.dask.  See
docs/python.md.
"""
from ._ffi import lib as _lib, cstr as _cstr
from ._common import Error
from ._message import parse, Message, Part
from ._mailbox import mbox
from ._scan import scan
from ._builder import Builder, to7bit

__version__ = _cstr(_lib.mimeo_version())

__all__ = ["__version__", "Error", "parse", "Message", "Part", "mbox", "scan", "Builder",
           "to7bit"]
