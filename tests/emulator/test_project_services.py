"""The twin's project-level services (issue 23): every answer fits the shipped discovery
document's schema, and the knobs `quotas`, `denied_permissions`, `disabled_services` and
`buckets` change exactly what they say."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from deployer.emulator.project.service import project_number
from deployer.emulator.project_knobs import from_flags
from deployer.providers.errors import ProviderError
from deployer.providers.project import buckets, iam, quotas, services
from deployer.providers.project.client import project_clients
from deployer.providers.vertex import billing
from deployer.providers.vertex.billing import book_from_skus
from deployer.providers.vertex.quota import CPUS, GPU_METRICS, serving_quota_metrics
from emulator.discovery_schema import DOCS_DIR


class SchemaMismatch(AssertionError):
    pass


def check(value: Any, spec: dict[str, Any], schemas: dict[str, Any], where: str = "$") -> None:
    """`value` fits the discovery schema `spec`; unknown properties are mismatches."""
    if "$ref" in spec:
        spec = schemas[spec["$ref"]]
    kind = spec.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise SchemaMismatch(f"{where}: expected an object")
        props = spec.get("properties", {})
        extra = spec.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                check(item, props[key], schemas, f"{where}.{key}")
            elif extra is not None:
                check(item, extra, schemas, f"{where}.{key}")
            else:
                raise SchemaMismatch(f"{where}: unknown property {key!r}")
    elif kind == "array":
        if not isinstance(value, list):
            raise SchemaMismatch(f"{where}: expected an array")
        for i, item in enumerate(value):
            check(item, spec["items"], schemas, f"{where}[{i}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise SchemaMismatch(f"{where}: expected a string (int64 is a string), got {value!r}")
        if "enum" in spec and value not in spec["enum"]:
            raise SchemaMismatch(f"{where}: {value!r} not in the enum")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaMismatch(f"{where}: expected an integer")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SchemaMismatch(f"{where}: expected a number")
    elif kind == "boolean" and not isinstance(value, bool):
        raise SchemaMismatch(f"{where}: expected a boolean")


def conforms(doc_name: str, method: str, value: Any) -> None:
    doc = json.loads((DOCS_DIR / f"{doc_name}.json").read_text(encoding="utf-8"))
    node: dict[str, Any] = doc
    *path, name = method.split(".")
    for part in path:
        node = node["resources"][part]
    ref = node["methods"][name]["response"]["$ref"]
    check(value, {"$ref": ref}, doc["schemas"])


def get(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture
def clients(twin: Any, project: str) -> Any:
    return project_clients(project, emulator=twin.url)


def test_answers_fit_the_shipped_discovery_documents(
    twin: Any, project: str, storage_client: Any
) -> None:
    bucket = storage_client.create_bucket(f"b-{uuid.uuid4().hex[:16]}").name
    base = twin.url
    cases = [
        ("serviceusage.v1", "services.get",
         f"serviceusage.googleapis.com/v1/projects/{project}/services/aiplatform.googleapis.com"),
        ("serviceusage.v1beta1", "services.consumerQuotaMetrics.list",
         f"serviceusage.googleapis.com/v1beta1/projects/{project}/services/"
         "aiplatform.googleapis.com/consumerQuotaMetrics?pageSize=3"),
        ("cloudresourcemanager.v3", "projects.get",
         f"cloudresourcemanager.googleapis.com/v3/projects/{project}"),
        ("cloudbilling.v1", "services.list", "cloudbilling.googleapis.com/v1/services"),
        ("cloudbilling.v1", "services.skus.list",
         "cloudbilling.googleapis.com/v1/services/C7E2-9256-1C43/skus?currencyCode=EUR"),
        ("storage.v1", "buckets.get", f"storage.googleapis.com/storage/v1/b/{bucket}"),
        ("storage.v1", "buckets.getIamPolicy", f"storage.googleapis.com/storage/v1/b/{bucket}/iam"),
        ("storage.v1", "buckets.testIamPermissions",
         f"storage.googleapis.com/storage/v1/b/{bucket}/iam/testPermissions"
         "?permissions=storage.objects.get&permissions=storage.objects.list"),
    ]  # fmt: skip
    for doc, method, path in cases:
        status, body = get(f"{base}/{path}")
        assert status == 200, (path, body)
        conforms(doc, method, body)
    status, body = get(
        f"{base}/cloudresourcemanager.googleapis.com/v3/projects/{project}:testIamPermissions",
        "POST",
        {"permissions": ["aiplatform.models.list"]},
    )
    assert status == 200 and body == {"permissions": ["aiplatform.models.list"]}
    conforms("cloudresourcemanager.v3", "projects.testIamPermissions", body)


def test_services_are_enabled_unless_the_knob_disables_them(clients: Any, twin_knobs: Any) -> None:
    assert services.service_state(clients.services, "aiplatform.googleapis.com") == "ENABLED"
    twin_knobs(disabled_services=["aiplatform.googleapis.com"])
    assert services.service_state(clients.services, "aiplatform.googleapis.com") == "DISABLED"
    assert services.service_state(clients.services, "storage.googleapis.com") == "ENABLED"


def test_a_disabled_api_refuses_its_calls_as_the_service_does(
    twin: Any, project: str, twin_knobs: Any
) -> None:
    twin_knobs(disabled_services=["aiplatform.googleapis.com", "ml.googleapis.com"])
    for path in (
        f"v1/projects/{project}/locations/us-central1/endpoints",
        f"v1/projects/{project}/models",
        f"us-central1/v1/projects/{project}/models",
    ):
        status, body = get(f"{twin.url}/{path}")
        assert status == 403, (path, body)
        assert body["error"]["status"] == "PERMISSION_DENIED"
        assert (
            f"in project {project_number(project)} before or it is disabled"
            in (body["error"]["message"])
        )


def test_quotas_default_per_region_and_follow_the_knob(clients: Any, twin_knobs: Any) -> None:
    regions = ["us-central1", "europe-west4"]
    limits = quotas.limits_by_region(serving_quota_metrics(clients.quotas), regions)
    assert limits[(CPUS, "us-central1")] == 1024
    assert limits[(GPU_METRICS["NVIDIA_TESLA_T4"], "europe-west4")] == 8
    twin_knobs(
        quotas={
            "custom_model_serving_cpus": {"us-central1": 24, "*": 100},
            GPU_METRICS["NVIDIA_L4"]: {"europe-west4": -1},
        }
    )
    limits = quotas.limits_by_region(serving_quota_metrics(clients.quotas), regions)
    assert limits[(CPUS, "us-central1")] == 24
    assert limits[(CPUS, "europe-west4")] == 100
    assert limits[(GPU_METRICS["NVIDIA_L4"], "europe-west4")] is None
    assert limits[(GPU_METRICS["NVIDIA_L4"], "us-central1")] == 8


def test_quota_metrics_page(twin: Any, project: str) -> None:
    url = (
        f"{twin.url}/serviceusage.googleapis.com/v1beta1/projects/{project}/services/"
        "aiplatform.googleapis.com/consumerQuotaMetrics?pageSize=4"
    )
    seen: list[str] = []
    token = ""
    while True:
        _, page = get(url + (f"&pageToken={token}" if token else ""))
        seen += [m["metric"] for m in page["metrics"]]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 1 + len(GPU_METRICS)


def test_denied_permissions_are_patterns(clients: Any, twin_knobs: Any) -> None:
    asked = ["aiplatform.endpoints.deploy", "aiplatform.endpoints.list", "aiplatform.models.list"]
    assert iam.missing_on_project(clients.projects, asked) == []
    twin_knobs(denied_permissions=["aiplatform.endpoints.*"])
    assert iam.missing_on_project(clients.projects, asked) == asked[:2]


def test_an_invalid_permission_is_refused(twin: Any, project: str) -> None:
    status, body = get(
        f"{twin.url}/cloudresourcemanager.googleapis.com/v3/projects/{project}:testIamPermissions",
        "POST",
        {"permissions": ["not a permission"]},
    )
    assert status == 400 and "is not valid" in body["error"]["message"]


def test_the_project_number_is_stable(clients: Any, project: str) -> None:
    number = iam.project_number(clients.projects)
    assert number == project_number(project) and len(number) == 12 and number.isdigit()
    assert iam.project_number(clients.projects) == number


def test_buckets_report_location_owner_and_readers(
    clients: Any, storage_client: Any, twin_knobs: Any
) -> None:
    name = storage_client.create_bucket(f"b-{uuid.uuid4().hex[:16]}").name
    found = buckets.bucket(clients.storage, name)
    assert found is not None and found["location"] == "US-CENTRAL1"
    assert found["projectNumber"] == "0"
    policy = buckets.iam_policy(clients.storage, name)
    assert policy["bindings"] == [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]
    twin_knobs(buckets={name: {"location": "nam4", "project": "owner-p", "readers": []}})
    found = buckets.bucket(clients.storage, name)
    assert found is not None
    assert (found["location"], found["locationType"]) == ("NAM4", "dual-region")
    assert found["projectNumber"] == project_number("owner-p")
    assert buckets.iam_policy(clients.storage, name)["bindings"] == []
    assert buckets.bucket(clients.storage, f"missing-{uuid.uuid4().hex[:8]}") is None


def test_bucket_permissions_follow_the_knob(
    clients: Any, storage_client: Any, twin_knobs: Any
) -> None:
    name = storage_client.create_bucket(f"b-{uuid.uuid4().hex[:16]}").name
    asked = ["storage.objects.create", "storage.objects.get"]
    assert iam.missing_on_bucket(clients.storage, name, asked) == []
    twin_knobs(denied_permissions=["storage.objects.create"])
    assert iam.missing_on_bucket(clients.storage, name, asked) == ["storage.objects.create"]


def test_the_price_catalog_is_the_twins_and_prices_replicas(clients: Any) -> None:
    skus, twin = billing.prediction_skus(clients.billing, "USD")
    assert twin and skus
    assert all("not Google's" in s["serviceProviderName"] for s in skus)
    book = book_from_skus(skus, currency="USD", as_of="2026-12-05", source="twin", twin=True)
    hourly, why = book.replica_hourly(
        "vertex", "us-central1", "n1-standard-2", "NVIDIA_TESLA_T4", 1
    )
    assert why == "" and hourly == pytest.approx(2 * 0.04 + 7.5 * 0.005 + 0.4)
    assert book.replica_hourly("vertex", "europe-west4", "g2-standard-8")[0] is not None


def test_unknown_paths_and_methods_are_404(twin: Any, project: str) -> None:
    status, _ = get(f"{twin.url}/cloudbilling.googleapis.com/v1/nothing")
    assert status == 404
    status, _ = get(f"{twin.url}/cloudbilling.googleapis.com/v1/services", "POST", {})
    assert status == 404
    with pytest.raises(ProviderError) as caught:
        billing.prediction_skus(
            project_clients(project, emulator="http://127.0.0.1:9").billing, "USD"
        )
    assert "cannot reach" in str(caught.value) or "refused" in str(caught.value)


@pytest.mark.parametrize(
    ("knobs", "says"),
    [
        ({"quotas": {"custom_model_serving_cpus": {"mars-1": 3}}}, "unknown region 'mars-1'"),
        ({"quotas": {"custom_model_serving_cpus": {"us-central1": -5}}}, "an integer >= -1"),
        ({"quotas": {"custom_model_serving_cpus": 3}}, "a mapping of region"),
        ({"quotas": []}, "wrong type"),
        ({"denied_permissions": ["no spaces allowed"]}, "not a valid entry"),
        ({"disabled_services": ["aiplatform"]}, "not a valid entry"),
        ({"buckets": {"b": {"colour": "red"}}}, "buckets.b: a mapping of"),
        ({"buckets": {"b": {"readers": "allUsers"}}}, "a list of IAM members"),
    ],
)
def test_bad_knobs_are_refused_on_the_control_route(
    twin: Any, knobs: dict[str, Any], says: str
) -> None:
    before = twin.knobs.as_dict()
    status, body = get(f"{twin.url}/_emulator/config", "POST", knobs)
    assert status == 400 and says in body["error"]["message"], body
    assert twin.knobs.as_dict() == before


def test_emulator_flags_set_the_knobs() -> None:
    knobs = from_flags(
        ["custom_model_serving_cpus@us-central1=24", "custom_model_serving_nvidia_t4_gpus=2"],
        ["aiplatform.endpoints.deploy"],
        ["storage.googleapis.com"],
        ["b=europe-west4"],
    )
    assert knobs == {
        "quotas": {
            "custom_model_serving_cpus": {"us-central1": 24},
            "custom_model_serving_nvidia_t4_gpus": {"*": 2},
        },
        "denied_permissions": ["aiplatform.endpoints.deploy"],
        "disabled_services": ["storage.googleapis.com"],
        "buckets": {"b": {"location": "EUROPE-WEST4"}},
    }


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--quota", "custom_model_serving_cpus", "expected METRIC[@REGION]=LIMIT"),
        ("--quota", "custom_model_serving_cpus@mars-1=3", "unknown region 'mars-1'"),
        ("--bucket-location", "nolocation", "expected BUCKET=LOCATION"),
        ("--deny-permission", "bad perm", "not a valid entry"),
    ],
)
def test_a_bad_emulator_flag_is_one_line_before_anything_starts(
    flag: str, value: str, says: str, tmp_path: Any
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "deployer", "emulator", "--port", "0", "--no-gcs",
         "--data-dir", str(tmp_path), flag, value],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode in (1, 2), proc
    (line,) = proc.stderr.strip().splitlines()
    assert says in line and "Traceback" not in proc.stderr
