# SPDX-License-Identifier: LGPL-2.1-or-later
"""mimeo.mbox() and mimeo.scan() on mbox files, .gz mboxes and Maildirs,
against `mimeo scan` (and `mimeo ls --json` where the CLI has it)."""
import gzip
import os
import shutil

import pytest

import mimeo
from mimeo import _scan
from conftest import DATA
from mboxlib import build_mbox


@pytest.fixture
def mbox_path(tmp_path):
    p = tmp_path / "test.mbox"
    build_mbox(p, repeat=3)
    return str(p)


def cli_scan(cli, *args):
    out = cli.run("scan", *args).stdout.decode().split()
    return int(out[1]), int(out[3]), int(out[5])


def test_mbox_messages(mbox_path, cli):
    msgs = list(mimeo.mbox(mbox_path))
    want = cli_scan(cli, "--mbox", mbox_path)
    assert len(msgs) == want[0]
    assert [m.number for m in msgs] == list(range(1, len(msgs) + 1))
    assert msgs[0].offset == 0
    data = open(mbox_path, "rb").read()
    for m in msgs:
        assert data[m.offset:m.offset + 5] == b"From "
        assert m.offset + m.size <= len(data)
    # every leaf of every message: the counts of `mimeo scan --mbox`
    leaves = [p for m in msgs for p in m.leaves()]
    assert (len(msgs), len(leaves), sum(len(p.content()) for p in leaves)) == want
    subjects = [m["Subject"] for m in msgs]
    assert "unescaped" in subjects and "café" in subjects
    quoted = msgs[subjects.index("quoted")]
    assert quoted.leaves()[0].content() == b"From the start\n>From two\n"
    unescaped = msgs[subjects.index("unescaped")]
    assert b"From here on" in unescaped.leaves()[0].content()
    crlf = msgs[subjects.index("crlf")]
    assert crlf.date.isoformat() == "2026-12-06T10:00:00+01:00"


def test_mbox_gz_and_single_file(mbox_path, tmp_path):
    gz = tmp_path / "test.mbox.gz"
    gz.write_bytes(gzip.compress(open(mbox_path, "rb").read()))
    a = [(m.number, m.offset, m["Subject"]) for m in mimeo.mbox(mbox_path)]
    b = [(m.number, m.offset, m["Subject"]) for m in mimeo.mbox(str(gz))]
    assert a == b
    one = list(mimeo.mbox(os.path.join(DATA, "sample.eml")))
    assert len(one) == 1 and one[0].number == 1 and one[0].offset == 0


def test_empty_and_missing(tmp_path):
    e = tmp_path / "empty.mbox"
    e.write_bytes(b"")
    assert [m.leaves()[0].content() for m in mimeo.mbox(str(e))] in ([], [b""])
    with pytest.raises(FileNotFoundError):
        list(mimeo.mbox(str(tmp_path / "missing.mbox")))
    with pytest.raises(OSError):
        list(mimeo.mbox(str(tmp_path)))  # a folder that is no Maildir


def test_maildir(tmp_path, cli):
    md = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (md / sub).mkdir(parents=True)
    names = sorted(n for n in os.listdir(DATA) if n.endswith(".eml"))
    for i, n in enumerate(names):
        shutil.copy(os.path.join(DATA, n), md / ("cur" if i % 2 else "new") / f"{1000 + i}.x:2,S")
    (md / "tmp" / "999.partial").write_bytes(b"Subject: in delivery\n\n")
    msgs = list(mimeo.mbox(str(md)))
    assert [os.path.basename(m.file) for m in msgs] == [f"{1000 + i}.x:2,S"
                                                        for i in range(len(names))]
    assert [m.number for m in msgs] == list(range(1, len(names) + 1))
    assert mimeo.scan([str(md)]) == mimeo.scan([os.path.join(DATA, n) for n in names])


def test_scan_matches_cli(mbox_path, cli):
    want = cli_scan(cli, mbox_path)
    assert mimeo.scan(mbox_path) == want
    assert mimeo.scan([mbox_path], mbox=True, jobs=1) == want
    files = [os.path.join(DATA, n) for n in sorted(os.listdir(DATA)) if n.endswith(".eml")]
    assert mimeo.scan(files, jobs=2) == cli_scan(cli, *files)


def test_scan_ranges_equal_whole(mbox_path, monkeypatch):
    """An mbox cut into ranges at From_ lines counts the same for every cut."""
    want = mimeo.scan(mbox_path, jobs=1)
    size = os.path.getsize(mbox_path)
    for rng in (size // 7, size // 3, 1000, 200):
        monkeypatch.setattr(_scan, "RANGE", rng)
        items = _scan._ranges(mbox_path, False, 4)
        assert len(items) > 1
        assert mimeo.scan(mbox_path, jobs=2) == want
        assert mimeo.scan(mbox_path, jobs=4) == want


def test_scan_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        mimeo.scan([str(tmp_path / "missing")])
    with pytest.raises(ValueError):
        mimeo.scan([os.path.join(DATA, "sample.eml")], jobs=-1)


def test_ls_records_match_cli(mbox_path, cli):
    if not cli.has("ls"):
        pytest.skip("this mimeo has no `ls` command yet (issue 17)")
    from mimeo import _archive
    assert list(_archive.records(mbox_path)) == cli.ls(mbox_path)
