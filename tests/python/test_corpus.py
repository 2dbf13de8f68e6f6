# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every message of ../shared/corpus (when present) through the binding,
compared with `mimeo tree --json` and `mimeo cat` of the same build."""
import os

import pytest

import mimeo
from conftest import SANITIZED, corpus_files
from test_message import tree_of

FILES = corpus_files()
# Under the sanitizers every CLI call is several times slower: compare one
# file in four there (the binding still reads all of them below).
CLI_FILES = FILES[::4] if SANITIZED else FILES
pytestmark = pytest.mark.skipif(not FILES, reason="../shared/corpus is not present")


# Files the CLI's one-message commands read differently at the time of
# writing (cli_load_message_n drops a first line "From : ..." that the
# mailbox reader and the parser keep as a header field).
# Since mimeo_mailbox_is_mbox() (124694a) reads "From : x" as a header field,
# the CLI keeps that line too: no file is special any more.
CLI_DROPS_FIRST_LINE = set()


def _chunks(seq, n):
    k = (len(seq) + n - 1) // n
    return [seq[i:i + k] for i in range(0, len(seq), k)]


# 8 test cases rather than 1,914 keeps the report short; a failure names the file.
@pytest.mark.parametrize("files", _chunks(CLI_FILES, 8) if CLI_FILES else [[]],
                         ids=lambda fs: os.path.basename(fs[0]) if fs else "none")
def test_corpus_matches_cli(cli, files):
    for path in files:
        with open_like_cli(path) as msg:
            mine, theirs = tree_of(msg), cli.tree(path)
            if os.path.basename(path) in CLI_DROPS_FIRST_LINE:
                # the CLI cuts the first line of a file starting "From "
                # even when it is a header field and no From_ line
                assert mine["headers"][1:] == theirs["headers"], path
                mine["headers"] = theirs["headers"]
            # defect offsets: a message from mimeo.mbox() keeps its From_
            # line in its source, the CLI parses the message after it when
            # its mailbox reader found one (not for "From : x" nor a file
            # of CR line ends): the offsets agree as they are or shifted by
            # that line, the same for every defect of the message
            if msg.number is not None and mine["defects"] != theirs["defects"]:
                shift = from_line_len(path)
                for d in mine["defects"]:
                    d["offset"] -= shift
            assert mine == theirs, path
            for p in msg.leaves():
                assert p.content() == cli.cat(path, p.section), f"{path} section {p.section}"


def from_line_len(path):
    with open(path, "rb") as f:
        line = f.readline()
    return len(line) if line.startswith(b"From ") else 0


def open_like_cli(path):
    """What the one-message commands read: a file starting with "From " is
    a mailbox and they show its message 1 (mimeo.mbox); any other file is
    one message (mimeo.parse)."""
    with open(path, "rb") as f:
        if f.read(5) == b"From ":
            it = mimeo.mbox(path)
            first = next(it, None)
            if first is not None:
                return first
    return mimeo.parse(path)


def test_corpus_text_and_addresses_never_fail():
    """text() of every leaf and addresses/date of every message decode
    without an exception (malformed mail is no error)."""
    for path in FILES:
        with mimeo.parse(path) as msg:
            for p in msg.leaves():
                assert isinstance(p.text(), str)
            for f in ("From", "To", "Cc", "Reply-To"):
                for name, spec in msg.addresses(f):
                    assert isinstance(name, str) and isinstance(spec, str)
            msg.date
            msg.body("text/plain"), msg.body("text/html")


def test_corpus_scan_matches_cli(cli):
    out = cli.run("scan", *FILES).stdout.decode().split()
    want = (int(out[1]), int(out[3]), int(out[5]))
    assert mimeo.scan(FILES, jobs=1) == want
    assert mimeo.scan(FILES, jobs=2) == want
