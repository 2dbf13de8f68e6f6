# SPDX-License-Identifier: LGPL-2.1-or-later
"""mimeo.Builder and mimeo.to7bit, read back through mimeo.parse and
compared with Python's email package and the `mimeo to7bit` command."""
import datetime
import email
import email.policy
import os

import pytest

import mimeo
from conftest import DATA


def test_build_and_parse_back(tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(bytes(range(256)) * 40)
    b = mimeo.Builder(from_="Jürgen Müller <j@example.de>", to=["bob@example.org",
                                                                ("Zoë", "zoe@example.org")],
                      cc="Carol <carol@example.net>", subject="Grüße — Q3",
                      text="Hallo,\nanbei der Bericht.\n", html="<p>Hallo</p>\n",
                      date=datetime.datetime(2026, 12, 6, 10, 0,
                                             tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
                      message_id="<abc@example.de>", headers={"X-Mailer": "mimeo-python"})
    b.attach(path=str(pdf), content_type="application/pdf")
    b.attach(b"a,b\n1,2\n", filename="zahlen ä.csv", content_type="text/csv")
    data = b.to_bytes()
    assert max(data) < 128
    assert b.to_bytes() == data  # later writes give the same bytes
    msg = mimeo.parse(data)
    assert msg["Subject"] == "Grüße — Q3"
    assert msg.addresses("From") == [("Jürgen Müller", "j@example.de")]
    assert msg.addresses("To") == [("", "bob@example.org"), ("Zoë", "zoe@example.org")]
    assert msg.addresses("Cc") == [("Carol", "carol@example.net")]
    assert msg["Message-ID"] == "<abc@example.de>"
    assert msg["X-Mailer"] == "mimeo-python"
    assert msg.date.isoformat() == "2026-12-06T10:00:00+01:00"
    assert msg.body("text/plain").text() == "Hallo,\nanbei der Bericht.\n"
    assert msg.body("text/html").text() == "<p>Hallo</p>\n"
    atts = msg.attachments()
    assert [a.filename for a in atts] == ["report.pdf", "zahlen ä.csv"]
    assert atts[0].content() == pdf.read_bytes()
    assert atts[0].content_type == "application/pdf"
    assert atts[1].content() == b"a,b\n1,2\n"
    # Python's email package reads the same
    pm = email.message_from_bytes(data, policy=email.policy.default)
    assert str(pm["subject"]) == "Grüße — Q3"
    got = [p.get_payload(decode=True) for p in pm.walk() if p.get_filename()]
    assert got == [pdf.read_bytes(), b"a,b\n1,2\n"]


def test_builder_inline_and_forward():
    fwd = open(os.path.join(DATA, "sample.eml"), "rb").read()
    b = mimeo.Builder(from_="a@example.org", to="b@example.org", subject="fwd",
                      html='<img src="cid:logo@x">', crlf=True)
    b.inline(b"\x89PNG....", "logo@x", "image/png", filename="logo.png")
    b.attach_message(fwd)
    data = bytes(b)
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    msg = mimeo.parse(data)
    types = [p.content_type for p in msg.walk()]
    assert "multipart/related" in types and "message/rfc822" in types
    inner = [p for p in msg.walk() if p.is_message][0]
    assert inner.children[0].content_type == "multipart/mixed"


def test_builder_errors(tmp_path):
    with pytest.raises(mimeo.Error):
        mimeo.Builder(from_="not an address with spaces@x y")
    with pytest.raises(mimeo.Error):
        mimeo.Builder(to="b@example.org").to_bytes()  # no From
    b = mimeo.Builder(from_="a@example.org")
    with pytest.raises(mimeo.Error):
        b.header("Subject", "set with subject()")
    with pytest.raises(FileNotFoundError):
        b.attach(path=str(tmp_path / "missing.pdf"))
    with pytest.raises(TypeError):
        b.attach(b"x", path="y")
    with pytest.raises(ValueError):
        b.subject("nul\0inside")
    b.close()
    with pytest.raises(ValueError):
        b.to_bytes()


def test_to7bit_matches_cli(cli, tmp_path):
    data = (b"From: J\xc3\xbcrgen <j@example.de>\nSubject: caf\xc3\xa9\nContent-Type: text/plain;"
            b" charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nd\xc3\xa9j\xc3\xa0 vu\n")
    p = tmp_path / "m.eml"
    p.write_bytes(data)
    out = mimeo.to7bit(data)
    assert max(out) < 128
    assert out == cli.run("to7bit", str(p)).stdout
    assert mimeo.parse(out).leaves()[0].text() == "déjà vu\n"
    assert mimeo.parse(out)["Subject"] == "café"
    clean = mimeo.Builder(from_="a@example.org", subject="plain", text="ascii\n").to_bytes()
    assert mimeo.to7bit(clean) == clean  # already 7-bit: unchanged
