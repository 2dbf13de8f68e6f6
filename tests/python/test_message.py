# SPDX-License-Identifier: LGPL-2.1-or-later
"""mimeo.parse(), Message and Part against the mimeo CLI on the project's
sample messages, and the API's corners: sources, errors, lifetime."""
import datetime
import gc
import io
import json
import os
import pathlib
import subprocess
import threading

import pytest

import mimeo
from conftest import DATA, SHARED_CORPUS, sample_messages


def tree_of(msg):
    """What `mimeo tree --json` prints, computed through the binding."""
    return {
        "headers": [{"name": n, "value": v} for n, v in msg.headers],
        "parts": [{"section": p.section, "type": p.content_type, "charset": p.charset,
                   "encoding": p.encoding, "disposition": p.disposition,
                   "filename": p.filename, "size": p.size} for p in msg.leaves()],
        "security": [{"section": p.section, "type": p.content_type, "mark": p.security[0],
                      "scheme": p.security[1], "protocol": p.param("protocol"),
                      "micalg": p.param("micalg"), "smime_type": p.param("smime-type")}
                     for p in msg.walk() if p.security],
        "defects": msg.defects(),
        "defect_count": msg.defect_count,
    }


@pytest.mark.parametrize("path", sample_messages(), ids=os.path.basename)
def test_tree_and_cat_match_cli(cli, path):
    with mimeo.parse(path) as msg:
        assert tree_of(msg) == cli.tree(path)
        for p in msg.leaves():
            body = p.content()
            assert len(body) == p.size
            assert body == cli.cat(path, p.section), p.section
            assert p.text() == cli.cat(path, p.section, text=True).decode("utf-8")


def test_version():
    assert mimeo.__version__.count(".") == 2
    out = subprocess.run([os.environ["MIMEO_CLI"], "version"], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    assert mimeo.__version__ in out


SAMPLE = os.path.join(DATA, "sample.eml")


def test_sources_give_the_same_tree():
    """bytes, str path, PathLike, a file object, a file object not at its
    start, BytesIO, bytearray, memoryview."""
    with open(SAMPLE, "rb") as f:
        data = f.read()
    ref = tree_of(mimeo.parse(data))
    assert tree_of(mimeo.parse(SAMPLE)) == ref
    assert tree_of(mimeo.parse(pathlib.Path(SAMPLE))) == ref
    with open(SAMPLE, "rb") as f:
        assert tree_of(mimeo.parse(f)) == ref
    with open(SAMPLE, "rb") as f:
        f.read(0)
        f.peek(10)  # Python's buffer holds more than the position says
        assert tree_of(mimeo.parse(f)) == ref
    assert tree_of(mimeo.parse(io.BytesIO(data))) == ref
    assert tree_of(mimeo.parse(bytearray(data))) == ref
    assert tree_of(mimeo.parse(memoryview(data))) == ref


def test_file_object_from_its_position(tmp_path):
    p = tmp_path / "two.eml"
    p.write_bytes(b"Subject: junk\n\nx\n" + open(SAMPLE, "rb").read())
    with open(p, "rb") as f:
        f.read(len(b"Subject: junk\n\nx\n"))
        msg = mimeo.parse(f)
    assert msg["Subject"] == "Quartalsbericht Q3 — mit Logo"


def test_headers():
    msg = mimeo.parse(SAMPLE)
    assert msg["Subject"] == "Quartalsbericht Q3 — mit Logo"
    assert msg["subject"] == msg["SUBJECT"] == msg["Subject"]
    assert msg["X-Absent"] is None
    assert "from" in msg and "x-absent" not in msg
    assert msg.get("X-Absent", "d") == "d"
    assert msg.get_all("To") == ['"Zoë Ångström" <zoe@example.org>, bob@example.net']
    assert msg.get_all("X-Absent") == []
    assert msg.headers[0] == ("From", "Jürgen Müller <juergen@example.com>")
    assert msg.raw_header("Message-ID") == b"<20261123.1@example.com>"


def test_get_all_and_first_field():
    msg = mimeo.parse(b"Received: a\nreceived: b\nRECEIVED: =?utf-8?q?c=C3=A9?=\n\nbody\n")
    assert msg.get_all("Received") == ["a", "b", "cé"]
    assert msg["received"] == "a"


def test_addresses_and_date():
    msg = mimeo.parse(SAMPLE)
    assert msg.addresses("From") == [("Jürgen Müller", "juergen@example.com")]
    assert msg.addresses("to") == [("Zoë Ångström", "zoe@example.org"), ("", "bob@example.net")]
    assert msg.addresses("Cc") == []
    d = msg.date
    assert d == datetime.datetime(2026, 11, 23, 11, 48, 51,
                                  tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert d.utcoffset() == datetime.timedelta(hours=1)


def test_address_corners():
    msg = mimeo.parse(b"To: undisclosed-recipients:;\nCc: root, =?utf-8?q?J=C3=BCrgen?= "
                      b"<j@x.de>\nBcc: \"a <b@c>\" <real@d.e>\nDate: garbage\n\n")
    assert msg.addresses("To") == []
    assert msg.addresses("Cc") == [("", "root"), ("Jürgen", "j@x.de")]
    # the structure is parsed before decoding: a quoted "<" cannot make an address
    assert msg.addresses("Bcc") == [("a <b@c>", "real@d.e")]
    assert msg.date is None
    assert mimeo.parse(b"Subject: x\n\n").date is None


def test_date_out_of_python_range():
    msg = mimeo.parse(b"Date: Mon, 1 Jan 9999 23:00:00 -2359\n\n")
    # 9999-12-31 + 23:59 west of UTC is year 10000 in UTC: no datetime
    assert msg.date is None or msg.date.year == 9999


def test_tree_navigation():
    msg = mimeo.parse(os.path.join(DATA, "forward.eml"))
    nodes = list(msg.walk())
    assert nodes[0] == msg.root and nodes[0].parent is None
    assert len(nodes) == msg.part_count
    assert [p.section for p in nodes if p.is_message] == ["2", "3"]
    assert msg.root.is_multipart and not msg.root.is_leaf
    assert [c.section for c in msg.root.children] == ["1", "2", "3"]
    assert msg.find("2.2").filename == "numbers.csv"
    assert msg.find("9") is None
    assert [p.section for p in msg.attachments()] == ["2.2"]
    assert msg.body("text/plain").section == "1"
    assert msg.body().content() == b"See the forwarded message below."
    leaf = msg.find("2.1")
    assert leaf.charset == "iso-8859-1" and leaf.text() == "Café at nine?"
    assert leaf.content() == b"Caf\xe9 at nine?"
    assert leaf.parent.content_type == "multipart/mixed"
    assert leaf.depth == 3
    with pytest.raises(ValueError):
        msg.body("image/png")


def test_body_picks_html_and_text():
    msg = mimeo.parse(SAMPLE)
    assert msg.body("text/html").content_type == "text/html"
    assert msg.body("text/plain").content_type == "text/plain"
    assert mimeo.parse(b"Content-Type: image/png\n\nx").body() is None


def test_attachments_match_extract(cli, tmp_path):
    path = os.path.join(DATA, "hostile-names.eml")
    msg = mimeo.parse(path)
    out = cli.run("extract", path, "-o", str(tmp_path)).stdout.decode().splitlines()
    assert len(out) == len(msg.attachments())
    names = [os.path.basename(line) for line in out]
    for part, name in zip(msg.attachments(), names):
        assert name.startswith(os.path.splitext(part.safe_filename)[0])
        assert (tmp_path / name).read_bytes() == part.content()
    assert "/" not in "".join(p.safe_filename for p in msg.attachments())


def test_write_to():
    msg = mimeo.parse(SAMPLE)
    pdf = msg.find("3")
    buf = io.BytesIO()
    assert pdf.write_to(buf) == pdf.size
    assert buf.getvalue() == pdf.content()

    class Broken(io.RawIOBase):
        def write(self, b):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        pdf.write_to(Broken())


def test_errors():
    with pytest.raises(FileNotFoundError):
        mimeo.parse("/nonexistent/message.eml")
    with pytest.raises(OSError):
        mimeo.parse(DATA)
    with pytest.raises(TypeError):
        mimeo.parse(42)
    with pytest.raises(TypeError):
        mimeo.parse(io.StringIO("Subject: x\n\n"))
    with pytest.raises(ValueError):
        mimeo.parse("a\0b")
    assert issubclass(mimeo.Error, ValueError)
    e = mimeo.Error(-3, offset=17, what="scan")
    assert e.code == -3 and e.name == "MIMEO_ELIMIT" and e.offset == 17
    assert "limit" in str(e) and "17" in str(e)


def test_malformed_mail_is_no_error():
    msg = mimeo.parse(os.path.join(DATA, "broken.eml"))
    assert msg.defect_count > 0
    assert len(msg.leaves()) >= 1
    assert mimeo.parse(b"").leaves()[0].content() == b""
    assert mimeo.parse(b"\0\0\0\xff\xfe").part_count == 1


def test_lifetime():
    msg = mimeo.parse(SAMPLE)
    part = msg.leaves()[0]
    with msg:
        assert part.size == 105
    assert msg.closed
    msg.close()  # idempotent
    with pytest.raises(ValueError):
        part.content()
    with pytest.raises(ValueError):
        msg["Subject"]
    with pytest.raises(ValueError):
        list(msg.walk())
    assert "closed" in repr(msg) and "closed" in repr(part)


def test_borrowed_bytes_stay_alive():
    """The C tree borrows the bytes given to parse(): they must live as
    long as the message even when the caller drops them."""
    data = open(SAMPLE, "rb").read()
    msg = mimeo.parse(bytes(data))
    gc.collect()
    junk = [bytes(len(data)) for _ in range(50)]  # reuse freed memory
    assert msg.find("3").content() == mimeo.parse(data).find("3").content()
    del junk


def test_threads_share_one_message():
    msg = mimeo.parse(SAMPLE)
    ref = [(p.content(), p.text()) for p in msg.leaves()]
    errors = []

    def work():
        try:
            for _ in range(200):
                assert [(p.content(), p.text()) for p in msg.leaves()] == ref
                assert msg["Subject"] == "Quartalsbericht Q3 — mit Logo"
        except Exception as e:  # reported below
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_crlf_and_digest(cli):
    for name in ("crlf.eml", "digest.eml"):
        path = os.path.join(DATA, name)
        assert tree_of(mimeo.parse(path)) == cli.tree(path)


def test_gzip_file(tmp_path):
    import gzip
    p = tmp_path / "m.eml.gz"
    p.write_bytes(gzip.compress(open(SAMPLE, "rb").read()))
    assert tree_of(mimeo.parse(str(p))) == tree_of(mimeo.parse(SAMPLE))


def test_defects_list():
    path = os.path.join(os.environ["MIMEO_SOURCE_DIR"], "tests", "data", "broken.eml")
    with mimeo.parse(path) as msg:
        got = [(d["kind"], d["severity"], d["offset"], d["section"]) for d in msg.defects()]
        assert got == [("missing-blank-line", "warning", 184, "1"),
                       ("no-boundary", "critical", 402, "3"),
                       ("unknown-cte", "warning", 548, "4"),
                       ("missing-close", "warning", 556, "")]
        assert all(d["reason"] for d in msg.defects())
        assert msg.defect_count == 4


def tree_with_derived(msg):
    """tree_of() plus the "derived" key `mimeo tree --json` gives the
    nodes mimeo_message_expand() added."""
    t = tree_of(msg)
    for d, p in zip(t["parts"], msg.leaves()):
        if p.derived:
            d["derived"] = p.derived
    return t


def expand_samples():
    """The shared corpus's messages with yEnc and TNEF parts (none when
    ../shared/corpus is absent)."""
    shared = pathlib.Path(SHARED_CORPUS)
    return (sorted((shared / "mimekit-yenc").glob("*.msg")) +
            sorted((shared / "mimekit-yenc").glob("*.ntx")) +
            sorted((shared / "mimekit").glob("UnitTests__TestData__tnef__*.eml")))


UU_MESSAGE = (b"Subject: uu\nContent-Type: text/plain\n\nsee the file:\n"
              b"begin 644 hello.txt\n5:&5L;&\\L(&1E<FEV960@=V]R;&0*\n`\nend\nbye\n")


def test_expand_derived_children(cli, tmp_path):
    path = tmp_path / "uu.eml"
    path.write_bytes(UU_MESSAGE)
    with mimeo.parse(UU_MESSAGE) as msg:
        assert [p.section for p in msg.walk()] == ["1"]
        assert msg.root.derived is None
        assert msg.expand() == 1
        assert msg.expand() == 0          # a second call adds nothing
        kids = msg.root.children
        assert [(p.section, p.derived, p.filename, p.is_leaf) for p in kids] == \
            [("1.1", "uuencode", "hello.txt", True)]
        assert kids[0].content() == b"hello, derived world\n"
        assert kids[0].size == 21
        assert kids[0].parent == msg.root
        assert msg.find("1.1") == kids[0]
        assert msg.root.content().startswith(b"see the file:\nbegin 644")  # kept
        full = json.loads(cli.run("tree", "--json", str(path)).stdout)
        assert tree_with_derived(msg) == full


def sample_id(path):
    """The test id of a sample: its file name.  (Without ../shared the list
    is empty, and pytest asks for the id of its NOTSET placeholder.)"""
    return os.path.basename(path) if isinstance(path, (str, os.PathLike)) else str(path)


@pytest.mark.parametrize("path", expand_samples(), ids=sample_id)
def test_expand_matches_cli(cli, path):
    with mimeo.parse(path) as msg:
        msg.expand()
        assert tree_with_derived(msg) == json.loads(cli.run("tree", "--json", str(path)).stdout)
        for p in msg.leaves():
            if p.derived:
                assert p.content() == cli.cat(str(path), p.section), p.section


def test_a_failed_parse_says_why(tmp_path, monkeypatch):
    """The binding asks for the library's reason (mimeo_message_options
    version 2): a FIFO too big for memory with nowhere to spool it names
    the spool and $TMPDIR, not only the errno."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    fifo = tmp_path / "big.eml"
    os.mkfifo(fifo)
    data = b"Subject: big\n\n" + b"a" * (3 << 20)

    def feed():
        try:
            with open(fifo, "wb") as w:
                w.write(data)
        except BrokenPipeError:
            pass

    t = threading.Thread(target=feed)
    t.start()
    try:
        with pytest.raises(OSError) as e:
            mimeo.parse(str(fifo))
    finally:
        t.join()
    assert e.value.filename == str(fifo)
    assert "temporary file" in str(e.value) and "TMPDIR" in str(e.value)
