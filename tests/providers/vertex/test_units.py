"""Pure parts of the vertex provider: pacing, wait timeouts, hosts, keying and normalization."""

from __future__ import annotations

import threading

import pytest

from deployer.core.resources import ResourceKey
from deployer.providers.errors import ProviderError
from deployer.providers.pacing import WindowLimiter
from deployer.providers.vertex import observe
from deployer.providers.vertex.client import VertexClient, region_url, wait_seconds
from deployer.providers.vertex.writer import label_values, nested


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_limiter_holds_the_61st_submission_until_the_first_leaves_the_minute() -> None:
    clock = FakeClock()
    limiter = WindowLimiter(60, 60.0, clock=clock, sleep=clock.sleep)
    for _ in range(60):
        assert limiter.acquire("us-central1") == 0.0
        clock.now += 0.5  # 60 submissions over 30 s
    assert limiter.acquire("europe-west4") == 0.0  # regions are paced apart
    assert limiter.acquire("us-central1") == pytest.approx(30.0)
    assert clock.now == pytest.approx(1060.0)
    assert limiter.acquire("us-central1") == pytest.approx(0.5)  # the second one left at 60.5


def test_limiter_zero_means_unlimited_and_is_thread_safe() -> None:
    assert WindowLimiter(0).acquire("x") == 0.0
    clock = FakeClock()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            clock.now += seconds

    limiter = WindowLimiter(5, 60.0, clock=clock, sleep=sleep)
    waits: list[float] = []
    threads = [
        threading.Thread(target=lambda: waits.append(limiter.acquire("r"))) for _ in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert waits == [0.0] * 5  # exactly the quota: nobody waited
    assert limiter.acquire("r") == pytest.approx(60.0)


def test_wait_timeout_grows_with_elapsed_time_from_1_to_30_s() -> None:
    assert wait_seconds(0.0, 1000) == 1.0
    assert wait_seconds(7.5, 1000) == 7.5
    assert wait_seconds(400.0, 1000) == 30.0
    assert wait_seconds(400.0, 2.0) == 2.0  # never past the operation's deadline


def test_hosts_per_region_and_on_the_twin() -> None:
    assert region_url("europe-west4") == "https://europe-west4-aiplatform.googleapis.com/"
    assert region_url("europe-west4", "http://127.0.0.1:9") == "http://127.0.0.1:9/"
    with pytest.raises(ProviderError, match="unknown region 'global'"):
        region_url("global")
    client = VertexClient("p", emulator="http://127.0.0.1:9")
    assert client.model_name("us-east1", "m", "3") == "projects/p/locations/us-east1/models/m@3"


def test_operations_are_waited_on_under_their_parent() -> None:
    class R:
        def __getattr__(self, name: str) -> object:
            return lambda: Path(name)

    class Path(str):
        def __getattr__(self, name: str) -> object:
            return lambda: Path(f"{self}.{name}")

    scoped = "projects/p/locations/l/endpoints/9/operations/1"
    assert VertexClient._operations("l", scoped)(R()) == "projects.locations.endpoints.operations"
    plain = "projects/p/locations/l/operations/1"
    assert VertexClient._operations("l", plain)(R()) == "projects.locations.operations"


def _version(vid: str, alias: str | None, aliases: tuple[str, ...] = ()) -> dict:
    labels = {"deployer-version": alias} if alias else {}
    return {"versionId": vid, "labels": labels, "versionAliases": list(aliases)}


def test_version_identities_alias_holder_else_highest_id() -> None:
    who = observe.version_identities(
        [
            _version("1", "v1", ("v1", "default")),
            _version("2", "v1"),
            _version("3", "v2"),
            _version("4", "v2"),
            _version("5", None),
        ]
    )
    assert {vid: i.suffix for vid, i in who.items()} == {
        "1": "v1",
        "2": "v1#2",
        "3": "v2#3",
        "4": "v2",
        "5": "@5",
    }
    assert not who["5"].managed


def test_deployment_identities_newest_on_the_current_instance() -> None:
    versions = observe.version_identities(
        [_version("1", "v1", ("v1",)), _version("2", "v1"), _version("3", None)]
    )
    dm = lambda i, vid, t, m="m": {  # noqa: E731
        "id": i,
        "modelVersionId": vid,
        "createTime": t,
        "model": f"projects/p/locations/l/models/{m}",
    }
    who = observe.deployment_identities(
        "m",
        [
            dm("10", "1", "t1"),
            dm("11", "1", "t2"),
            dm("12", "2", "t3"),
            dm("13", "3", "t0"),
            dm("14", "1", "t9", "other"),
        ],
        versions,
    )
    assert {d: i.suffix for d, i in who.items()} == {
        "10": "v1#10",
        "11": "v1",
        "12": "v1#12",
        "13": "@13",
        "14": "@14",
    }


def test_field_normalization() -> None:
    assert observe.machine_spec(
        {
            "machineType": "n1-standard-2",
            "acceleratorType": "ACCELERATOR_TYPE_UNSPECIFIED",
            "acceleratorCount": 0,
        }
    ) == {"machineType": "n1-standard-2"}
    assert observe.metric_specs([{"metricName": "b", "target": "70"}, {"metricName": "a"}]) == [
        {"metricName": "a", "target": 0},
        {"metricName": "b", "target": 70},
    ]
    assert observe.logging_config({}) is None
    assert observe.logging_config(
        {"enabled": True, "bigqueryDestination": {"outputUri": "bq://p.d.t"}}
    ) == {"enabled": True, "bigqueryDestination": {"outputUri": "bq://p.d.t"}}
    assert observe.container_spec(
        {"imageUri": "i", "args": [], "ports": [{"containerPort": 80}]}
    ) == {"imageUri": "i", "ports": [{"containerPort": 80}]}
    assert observe.model_id("projects/p/locations/l/models/m@3") == "m"


def test_update_bodies_and_label_values() -> None:
    body = nested(
        ["dedicatedResources.minReplicaCount", "disableContainerLogging"],
        {"dedicatedResources.minReplicaCount": 2, "disableContainerLogging": True}.get,
    )
    assert body == {"dedicatedResources": {"minReplicaCount": 2}, "disableContainerLogging": True}
    assert label_values({"k": "x" * 80}) == {"k": "x" * 63}


def test_endpoint_instances_other_stack_last() -> None:
    mine = {"name": "e/2", "createTime": "t2", "labels": {"deployer-stack": "a"}}
    older_theirs = {"name": "e/1", "createTime": "t1", "labels": {"deployer-stack": "b"}}
    out = observe.assemble_model("l", "m", [], [older_theirs, mine], "a")
    assert [r.key for r in out] == [
        ResourceKey("l", "m", part="endpoint"),
        ResourceKey("l", "m", part="endpoint", instance="1"),
    ]


def test_accounting_sees_a_pool_through_its_deployments_and_spot_nodes() -> None:
    """Issue 24 for the footprint (issue 23): a deployment on a pool carries the pool's machine
    and replicas, marked with the pool so it is counted once per region; one on a pool deployer
    does not know is not counted; spot nodes are marked."""
    from deployer.accounting.footprint import pooled_once
    from deployer.providers.vertex.footprint import of_resource

    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "minReplicaCount": 1,
        "maxReplicaCount": 3,
    }
    pools = {("l", "small-cpu"): pool}
    shared = {"sharedResources": "small-cpu", "machineSpec": None, "minReplicaCount": None}
    a = of_resource(ResourceKey("l", "a", "v1", "deployed", kind="deployment"), shared, pools)
    b = of_resource(ResourceKey("l", "b", "v1", "deployed", kind="deployment"), shared, pools)
    assert a is not None and b is not None
    assert (a.machine_type, a.max_replicas, a.pool) == ("n1-standard-4", 3, "small-cpu")
    counted = pooled_once([a, b])
    assert sorted(d.max_replicas for d in counted) == [0, 3]
    unknown = {**shared, "sharedResources": "projects/p/locations/l/deploymentResourcePools/x"}
    key = ResourceKey("l", "c", "v1", "deployed", kind="deployment")
    assert of_resource(key, unknown, pools) is None
    spot = {"machineSpec": {"machineType": "n1-standard-2"}, "minReplicaCount": 1, "spot": True}
    found = of_resource(key, spot, pools)
    assert found is not None and found.spot and not found.pool


def test_the_current_endpoint_is_a_live_ones_successor_else_the_oldest() -> None:
    ours = {"deployer-stack": "a"}
    old = {"name": "e/1", "createTime": "t1", "labels": ours}
    duplicate = {"name": "e/2", "createTime": "t2", "labels": ours}
    successor = {"name": "e/3", "createTime": "t3", "labels": {**ours, "deployer-replaces": "1"}}
    current = lambda *bodies: observe.rank_endpoints(bodies, "a")[0]["name"]  # noqa: E731
    assert current(duplicate, old) == "e/1"  # a duplicate goes; the original's URL stays
    assert current(old, duplicate, successor) == "e/3"  # a replacement in progress
    assert current(duplicate, successor) == "e/2"  # what it replaced is gone: an old mark
    (endpoint,) = [r for r in observe.assemble_model("l", "m", [], [successor], "a") if r.key.part]
    assert "deployer-replaces" not in endpoint.labels  # never compared
