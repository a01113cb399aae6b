"""Lake.to_dask on a real LocalCluster of worker processes against moto's S3 server."""
from __future__ import annotations

import gzip

import pandas as pd
import pytest

from datalake_nb import DamagedFile, DatalakeError, IntegrityError, InvalidInput, Lake
from datalake_nb.config import resolve

from support.damage import DAMAGED, damaged_file
from support.helpers import SAMPLES, corrupt, push_samples
from support.s3servers import new_bucket

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")
SECRET = "graph-must-never-hold-this-8c1f"


@pytest.fixture(scope="module")
def cluster(moto_server):
    """Two worker processes whose credentials come from their own environment."""
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None, env=moto_server.env) as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def s3_lake(moto_server, tmp_path, monkeypatch):
    """A lake on moto whose notebook-side keys are not the workers' (moto takes any: so
    this runs on moto only, whichever servers DATALAKE_TEST_S3 selects)."""
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    url = f"s3://{new_bucket(moto_server)}/logs"
    config = resolve({"DATALAKE_STORAGE_URL": url, "DATALAKE_CACHE_DIR": str(tmp_path / "cache"),
                      "AWS_ACCESS_KEY_ID": "notebook-key", "AWS_SECRET_ACCESS_KEY": SECRET,
                      "DATALAKE_PROGRESS": "off"})
    return Lake(config=config)


def test_to_dask_gives_exactly_the_rows_of_read(s3_lake, client):
    push_samples(s3_lake)
    s3_lake.set_format("nginx", "1", "nginx")
    query = dict(what="nginx", start="2026-11-01T09:30Z", end="2026-11-01T11:15Z")
    ddf = s3_lake.to_dask(**query)
    assert ddf.npartitions == len(s3_lake.records(**query)) == 5
    graph = ddf.__dask_graph__()
    import cloudpickle
    assert SECRET.encode() not in cloudpickle.dumps(dict(graph))
    got = ddf.compute().reset_index(drop=True)
    # the workers opened the objects themselves: nothing came through this process's cache
    assert not (s3_lake.cache.root / "objects").exists()
    expected = s3_lake.read(**query)
    # Dask keeps text as string[pyarrow] (its "dataframe.convert-string" default)
    text = [c for c, d in expected.dtypes.items() if isinstance(d, pd.StringDtype)]
    pd.testing.assert_frame_equal(got, expected.astype({c: "string[pyarrow]" for c in text}))
    assert expected["time"].min() == pd.Timestamp("2026-11-01T09:30:00Z")  # clipped, edge in
    assert expected["time"].max() <= pd.Timestamp("2026-11-01T11:15:00Z")
    by_status = ddf.groupby("status")["bytes"].sum().compute().sort_index()
    pd.testing.assert_series_equal(by_status, expected.groupby("status")["bytes"].sum())
    workers = client.run(lambda: __import__("datalake_nb.rows.dask").rows.dask
                         .worker_store.cache_info().currsize)
    assert sum(workers.values()) >= 1


def test_a_corrupt_object_fails_on_the_worker(s3_lake, client, tmp_path):
    records = push_samples(s3_lake)
    corrupt(s3_lake, records[1])
    ddf = s3_lake.to_dask(what="nginx", format="nginx")
    with pytest.raises(IntegrityError, match=f"id {records[1].id}.*partition was not parsed"):
        ddf.compute()
    good = s3_lake.to_dask([r.id for r in records if r is not records[1]], format="lines")
    assert len(good.compute()) == sum(len(p.read_text().splitlines())
                                      for p in s3_lake.fetch([r for r in records
                                                              if r is not records[1]],
                                                             dest=tmp_path / "fetched"))


def test_a_file_damaged_before_the_push_fails_its_partition_naming_it(s3_lake, client,
                                                                      tmp_path):
    ext, compress, damage, _ = DAMAGED[1]  # .gz with bad deflate data: a zlib.error
    rec = s3_lake.push(damaged_file(tmp_path, ext, compress, damage), what="nginx", where="h1",
                       start="2026-11-01T09Z", data_version="1")
    with pytest.raises(DamagedFile, match=rf"\(id {rec.id}\): cannot decompress \(\.gz\)"):
        s3_lake.to_dask(what="nginx", format="nginx").compute()


def test_a_shared_folder_lake_and_the_configured_scheduler(cluster, tmp_path):
    """No active Client: to_dask connects to DATALAKE_DASK_SCHEDULER; the workers read
    the local lake's folder (the same path on every machine, like an NFS mount)."""
    config = resolve({"DATALAKE_STORAGE_URL": str(tmp_path / "lake"),
                      "DATALAKE_CACHE_DIR": str(tmp_path / "cache"), "DATALAKE_PROGRESS": "off",
                      "DATALAKE_DASK_SCHEDULER": cluster.scheduler_address})
    lake = Lake(config=config)
    push_samples(lake)
    with pytest.raises(ValueError):
        distributed.get_client()  # none is active
    try:
        ddf = lake.to_dask(what="nginx", where="web02", format="syslog")
        assert lake.dask_client.scheduler.address == cluster.scheduler_address
        got = ddf.compute()
        assert len(got) == 217 and got["unparsed"].notna().all()  # nginx lines are not syslog
    finally:
        lake.dask_client.close()


def test_without_a_client_or_a_scheduler_a_local_cluster_is_started(tmp_path):
    """No active Client and no DATALAKE_DASK_SCHEDULER: to_dask starts a LocalCluster of
    worker processes (which becomes the default client) and gives the rows of read."""
    lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": str(tmp_path / "lake"),
                                "DATALAKE_CACHE_DIR": str(tmp_path / "cache"),
                                "DATALAKE_PROGRESS": "off"}))
    assert lake.config["DATALAKE_DASK_SCHEDULER"] in (None, "")
    push_samples(lake)
    with pytest.raises(ValueError):
        distributed.get_client()  # none is active
    ddf = lake.to_dask(what="nginx", where="web01", format="nginx")
    client = distributed.default_client()
    try:
        assert isinstance(client.cluster, distributed.LocalCluster)
        assert all(worker.process is not None for worker in client.cluster.workers.values())
        got = ddf.compute().reset_index(drop=True)
        expected = lake.read(what="nginx", where="web01", format="nginx")
        assert len(got) == len(expected) > 0
        assert list(got["id"]) == list(expected["id"]) and list(got["line_number"]) == list(
            expected["line_number"])
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def test_a_large_file_is_read_as_several_partitions_with_the_rows_of_read(s3_lake, client,
                                                                          tmp_path):
    """Files larger than partition_bytes are split at line ends: the parts together give
    exactly read's rows, line numbers of the whole file, a CSV's header in every part;
    a compressed file stays one partition."""
    nginx = push_samples(s3_lake)
    packed = tmp_path / "web09_nginx.log.gz"
    packed.write_bytes(gzip.compress(SAMPLES.joinpath(
        "web01_nginx_2026-11-01T09.log").read_bytes()))
    nginx.append(s3_lake.push(packed, what="nginx", where="web09", start="2026-11-01T09Z",
                              data_version="1"))
    table = tmp_path / "metrics.csv"
    table.write_text("Time,host,value\n" + "".join(
        f"2026-11-01T10:{i // 60:02d}:{i % 60:02d}Z,h{i % 3},{i}\n" for i in range(400)))
    csv = s3_lake.push(table, what="metrics", where="h1", start="2026-11-01T10Z",
                       end="2026-11-01T11Z", data_version="1")
    size = 2000
    for rows, fmt in ((nginx, "nginx"), ([csv], "csv")):
        ddf = s3_lake.to_dask(rows, format=fmt, partition_bytes=size)
        split = sum(1 if r.ext.endswith("gz") else -(-r.size // size) for r in rows)
        assert ddf.npartitions == split > len(rows)
        got = ddf.compute().reset_index(drop=True)
        expected = s3_lake.read(rows, format=fmt)
        text = [c for c, d in expected.dtypes.items() if isinstance(d, pd.StringDtype)]
        pd.testing.assert_frame_equal(got, expected.astype({c: "string[pyarrow]" for c in text}))
    assert list(got["line_number"]) == list(range(2, 402))  # the header is line 1
    assert got["value"].sum() == sum(range(400))
    with pytest.raises(InvalidInput, match="partition_bytes"):
        s3_lake.to_dask([csv], format="csv", partition_bytes=0)


def test_json_lines_files_with_different_keys_give_one_schema(s3_lake, client, tmp_path):
    """Each file's own keys: the frame has the columns of them all, null where a file has
    none, in every partition (a column only the second file has can be used)."""
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text('{"time": "2026-11-01T10:00:00Z", "level": "info", "ok": true}\n'
                     '{"time": "2026-11-01T10:00:01Z", "level": "warn", "ok": false}\n')
    second.write_text('{"time": "2026-11-01T10:00:02Z", "user": 7}\n'
                      '{"time": "2026-11-01T10:00:03Z", "user": 9, "level": "error"}\n')
    rows = [s3_lake.push(p, what="app", where=p.stem, start="2026-11-01T10Z", data_version="1")
            for p in (first, second)]
    ddf = s3_lake.to_dask(rows, format="jsonl")
    assert {"level", "ok", "user"} <= set(ddf.columns)
    assert int(ddf["user"].sum().compute()) == 16
    got = ddf.compute()
    assert list(got.columns) == list(ddf.columns)
    assert got["level"].tolist()[:2] == ["info", "warn"] and got["level"].iloc[3] == "error"
    assert got["ok"].isna().tolist() == [False, False, True, True]
    assert got["user"].isna().tolist() == [True, True, False, False]


@pytest.mark.emulators
@pytest.mark.parametrize("kind", ["azure", "gcs"])
def test_to_dask_on_the_cloud_emulators(kind, request, tmp_path, monkeypatch):
    """The workers reach Azurite or fake-gcs-server with the endpoint the task carries and
    the account key from their own environment."""
    server = request.getfixturevalue("azurite_server" if kind == "azure" else "gcs_server")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    url = (f"az://{server.new_container()}/logs" if kind == "azure"
           else f"gs://{server.new_bucket()}/logs")
    lake = Lake(url, cache_dir=tmp_path / "cache", progress=False)
    push_samples(lake)
    query = dict(what="nginx", start="2026-11-01T09:30Z", end="2026-11-01T11:15Z")
    worker_env = {k: v for k, v in server.env.items() if "ENDPOINT" not in k}
    with distributed.LocalCluster(processes=True, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None, env=worker_env) as cluster, \
            distributed.Client(cluster):
        got = lake.to_dask(format="nginx", **query).compute().reset_index(drop=True)
    expected = lake.read(format="nginx", **query)
    assert len(got) == len(expected) > 0
    assert list(got["line_number"]) == list(expected["line_number"])


def test_to_dask_on_memory_says_why_not_in_one_line(tmp_path):
    lake = Lake("memory://dask-refused", cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(DatalakeError, match=r"^to_dask: memory://dask-refused/ lives in this "
                                            r"process only, and Dask's workers cannot see it"):
        lake.to_dask(what="nginx")
