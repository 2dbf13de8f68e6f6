# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures of the binding's tests: the built `mimeo` CLI (the reference the
binding is compared with), the project's sample messages, and the shared
corpus when it is present (../shared/corpus beside the checkout)."""
import json
import os
import subprocess

import pytest

SOURCE = os.environ.get("MIMEO_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(SOURCE, "tests", "data")
SHARED_CORPUS = os.path.join(os.path.dirname(SOURCE), "shared", "corpus")
SANITIZED = os.environ.get("MIMEO_SANITIZED") == "1"


def cli_path():
    p = os.environ.get("MIMEO_CLI")
    if not p or not os.access(p, os.X_OK):
        pytest.skip("MIMEO_CLI (the built mimeo command) is not set; run through meson test")
    return p


class Cli:
    """Runs the mimeo command."""

    def __init__(self, path):
        self.path = path

    def run(self, *args, check=True):
        r = subprocess.run([self.path, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=300)
        if check and r.returncode != 0:
            raise AssertionError(f"mimeo {' '.join(args)} failed ({r.returncode}): "
                                 f"{r.stderr.decode(errors='replace')}")
        return r

    def tree(self, path):
        """The CLI's tree without the derived parts (TNEF items, uuencoded
        and yEnc files: mimeo_message_expand), which the binding makes
        only when Message.expand() is called."""
        t = json.loads(self.run("tree", "--json", path).stdout)
        t["parts"] = [p for p in t["parts"] if "derived" not in p]
        return t

    def cat(self, path, section, text=False):
        return self.run("cat", *(["--text"] if text else []), path, section).stdout

    def has(self, command):
        r = self.run(command, "--help", check=False)
        return b"unknown command" not in r.stderr

    def ls(self, *paths):
        r = self.run("ls", "--json", *paths)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def cli():
    return Cli(cli_path())


def sample_messages():
    """The project's sample messages (tests/data/*.eml)."""
    return sorted(os.path.join(DATA, n) for n in os.listdir(DATA) if n.endswith(".eml"))


def corpus_files():
    """Every message of ../shared/corpus (INDEX.tsv order), or [] when absent."""
    index = os.path.join(SHARED_CORPUS, "INDEX.tsv")
    if not os.path.exists(index):
        return []
    with open(index, encoding="utf-8") as f:
        rows = f.read().splitlines()[1:]
    return [os.path.join(SHARED_CORPUS, r.split("\t")[0]) for r in rows if r]
