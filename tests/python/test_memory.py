# SPDX-License-Identifier: LGPL-2.1-or-later
"""Memory: a message with a 512 MiB attachment, parsed from its file and
listed from Python, stays flat (the flat-memory tree of issue 13: the tree
holds the structure, bodies stay in the file).  Run as its own meson test
in the `slow` suite: it writes a ~700 MB file."""
import base64
import os
import subprocess
import sys

import pytest

from mimeo import _body

pytestmark = pytest.mark.skipif(
    not _body.FLAT, reason="the loaded libmimeo has no flat-memory tree yet "
    "(mimeo_part_decode_buf, issue 13): its tree holds every decoded body")

ATTACHMENT = 512 << 20
LIMIT_MIB = 64   # the interpreter, cffi and the binding take ~25 MiB of it


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    p = tmp_path_factory.mktemp("big") / "big.eml"
    block = os.urandom(57 * 1024)  # 57 bytes -> one 76-column base64 line
    lines = base64.encodebytes(block)
    with open(p, "wb") as f:
        f.write(b"From: a@example.org\nSubject: big\nMIME-Version: 1.0\n"
                b"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
                b"Content-Type: text/plain\n\nsee the attachment\n--b\n"
                b"Content-Type: application/octet-stream; name=big.bin\n"
                b"Content-Transfer-Encoding: base64\n"
                b"Content-Disposition: attachment; filename=big.bin\n\n")
        for _ in range(ATTACHMENT // len(block)):
            f.write(lines)
        f.write(b"--b--\n")
    yield str(p), block
    os.unlink(p)


CHILD = r"""
import resource, sys, hashlib, mimeo
msg = mimeo.parse(sys.argv[1])
leaves = [(p.section, p.content_type, p.filename, p.size) for p in msg.leaves()]
print(leaves)
rss_listed = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
class Sink:
    def __init__(self): self.h = hashlib.sha256(); self.n = 0
    def write(self, b): self.h.update(b); self.n += len(b)
s = Sink()
msg.attachments()[0].write_to(s)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(rss_listed, rss, s.n, s.h.hexdigest())
"""


def test_512_mib_attachment_stays_flat(big):
    path, block = big
    r = subprocess.run([sys.executable, "-c", CHILD, path], stdout=subprocess.PIPE,
                       check=True, timeout=1200)
    out = r.stdout.decode().splitlines()
    n = ATTACHMENT // len(block)
    assert out[0] == str([("1", "text/plain", None, 18),
                          ("2", "application/octet-stream", "big.bin", n * len(block))])
    rss_listed, rss, size, digest = out[1].split()
    import hashlib
    h = hashlib.sha256()
    for _ in range(n):
        h.update(block)
    assert int(size) == n * len(block) and digest == h.hexdigest()
    # parsed and listed, then the whole attachment streamed through write_to()
    assert int(rss_listed) < LIMIT_MIB, f"peak RSS {rss_listed} MiB after parse + leaves()"
    assert int(rss) < LIMIT_MIB, f"peak RSS {rss} MiB after write_to()"
