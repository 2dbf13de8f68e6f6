# SPDX-License-Identifier: LGPL-2.1-or-later
"""mimeo.dask.index/extract on the local scheduler and on a
distributed.LocalCluster of 2 worker processes (loopback only, bounded in
time), against `mimeo ls --json` where the CLI has it and against the
binding's own sequential reading."""
import gzip
import os
import shutil

import pytest

dask = pytest.importorskip("dask")
import dask.bag  # noqa: E402

import mimeo  # noqa: E402
import mimeo.dask  # noqa: E402
from mimeo import _archive  # noqa: E402
from conftest import DATA, SANITIZED  # noqa: E402
from mboxlib import build_mbox  # noqa: E402

TIMEOUT = 240  # seconds for a whole cluster computation on a loaded machine


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Two mboxes (one .gz), a Maildir and a single message."""
    d = tmp_path_factory.mktemp("archive")
    build_mbox(d / "a.mbox", repeat=4)
    build_mbox(d / "b.mbox", repeat=1)
    (d / "b.mbox.gz").write_bytes(gzip.compress((d / "b.mbox").read_bytes()))
    os.unlink(d / "b.mbox")
    md = d / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (md / sub).mkdir(parents=True)
    for i, n in enumerate(sorted(os.listdir(DATA))):
        if n.endswith(".eml"):
            shutil.copy(os.path.join(DATA, n), md / "cur" / f"{i:04d}.eml")
    return [str(d / "a.mbox"), str(d / "b.mbox.gz"), str(md), os.path.join(DATA, "sample.eml")]


def sequential(paths):
    return [r for p in paths for r in _archive.records(p)]


def key(r):
    return (r["file"], r["n"])


def test_index_local_scheduler(archive):
    want = sequential(archive)
    assert len(want) > 40
    bag = mimeo.dask.index(archive)
    assert isinstance(bag, dask.bag.Bag)
    assert bag.npartitions == 4  # one per file
    got = bag.compute(scheduler="sync")
    assert sorted(got, key=key) == sorted(want, key=key)
    # a small blocksize cuts a.mbox into ranges: same records, same numbers
    size = os.path.getsize(archive[0])
    for bs in (size // 5, 2000):
        bag = mimeo.dask.index(archive[:1], blocksize=bs)
        assert bag.npartitions > 2
        got = bag.compute(scheduler="threads")
        assert got == sequential(archive[:1])
    fields = ["file", "n", "offset", "size", "date", "from", "subject", "message_id",
              "attachments"]
    assert all(list(r) == fields for r in want)


def test_index_matches_ls(archive, cli):
    if not cli.has("ls"):
        pytest.skip("this mimeo has no `ls` command yet (issue 17)")
    got = mimeo.dask.index(archive, blocksize=3000).compute(scheduler="threads")
    assert sorted(got, key=key) == sorted(cli.ls(*archive), key=key)


def test_extract(archive, tmp_path):
    files = mimeo.dask.extract(archive[:1], str(tmp_path / "out"), blocksize=2500)
    want = []
    for m in mimeo.mbox(archive[0]):
        for a in m.attachments():
            want.append((m.number, a.content()))
    assert len(files) == len(want) > 0
    got = sorted((int(os.path.basename(os.path.dirname(f))), open(f, "rb").read())
                 for f in files)
    assert got == sorted(want)
    for f in files:  # names made safe: inside DEST/<N>/
        assert os.path.dirname(os.path.dirname(f)) == str(tmp_path / "out")
    # several inputs: one folder per input
    files = mimeo.dask.extract(archive[:2], str(tmp_path / "two"))
    assert {os.path.relpath(f, tmp_path / "two").split(os.sep)[0] for f in files} == \
        {"a.mbox", "b.mbox.gz"}


def test_dataframe_query(archive):
    pytest.importorskip("pandas")
    df = mimeo.dask.index(archive).to_dataframe()
    n = df[df.attachments > 0].shape[0].compute(scheduler="sync")
    assert n == sum(1 for r in sequential(archive) if r["attachments"] > 0)


@pytest.mark.skipif(SANITIZED, reason="worker processes under the sanitizers take minutes")
def test_index_on_local_cluster(archive, cli):
    distributed = pytest.importorskip("distributed")
    want = cli.ls(*archive) if cli.has("ls") else sequential(archive)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40, timeout=TIMEOUT) as cluster, \
            distributed.Client(cluster, timeout=TIMEOUT) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        bag = mimeo.dask.index(archive, blocksize=4000)
        got = client.compute(bag).result(timeout=TIMEOUT)
        assert sorted(got, key=key) == sorted(want, key=key)
        # the work really ran in the worker processes
        pids = client.run(os.getpid)
        assert len(pids) == 2 and os.getpid() not in pids.values()
        counts = client.compute(bag.count()).result(timeout=TIMEOUT)
        assert counts == len(want)
