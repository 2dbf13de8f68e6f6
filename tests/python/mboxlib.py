# SPDX-License-Identifier: LGPL-2.1-or-later
"""A test mbox with the corners of mbox splitting, built from the
project's sample messages."""
import os

from conftest import DATA

CORNERS = [
    # body text "From here on" after an empty line: no From_ line (no time)
    b"From: a@example.org\nSubject: unescaped\n\nline\n\nFrom here on it is body.\n",
    # mboxrd quoting: >From and >>From lose one '>'
    b"From: b@example.org\nSubject: quoted\n\n>From the start\n>>From two\n",
    # CRLF line ends
    b"From: c@example.org\r\nSubject: crlf\r\nDate: Sun, 6 Dec 2026 10:00:00 +0100\r\n\r\nbody\r\n",
    # empty body
    b"From: d@example.org\nSubject: =?utf-8?q?caf=C3=A9?=\n\n",
]


def build_mbox(path, repeat=1):
    """Write an mbox of the sample messages and the corners, `repeat`
    times; returns the number of messages."""
    msgs = [open(os.path.join(DATA, n), "rb").read() for n in sorted(os.listdir(DATA))
            if n.endswith(".eml")] + CORNERS
    n = 0
    with open(path, "wb") as f:
        for r in range(repeat):
            for k, m in enumerate(msgs):
                sep = b"\r\n" if b"\r\n" in m else b"\n"
                # mboxrd: quote From_-like body lines of the message
                lines = m.split(b"\n")
                out = []
                for line in lines:
                    s = line.lstrip(b">")
                    out.append(b">" + line if s.startswith(b"From ") and line != lines[0] and
                               not line.startswith(b"From:") and k < len(msgs) - 4 else line)
                f.write(b"From sender@example.org Sun Dec  6 10:%02d:00 2026" % (k % 60) + sep)
                f.write(b"\n".join(out))
                if not m.endswith(b"\n"):
                    f.write(sep)
                f.write(sep)
                n += 1
    return n
