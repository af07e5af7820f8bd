"""Manifests on the vertex backend: a valid stack, the backend, warnings, resolved values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deployer.core.diagnostics import ManifestError
from deployer.providers.vertex.manifest import replica_counts, traffic_split, vertex_image
from deployer.stacks import load_stack

SETTINGS = """\
project: demo-project
artifacts: gs://demo-models/deployer
region: europe-west4
backend: vertex
"""
MODELS = """\
models:
  - name: fashion_mnist
    regions: [europe-west4, us-central1]
    default_version: v2
    traffic: {v2: 90, v3: 10}
    versions:
      - name: v1
        artifact: model
        runtime_version: "2.11"
        python_version: "3.7"
        deployed: false
      - name: v2
        artifact: gs://demo-models/fashion/2
        runtime_version: "2.11"
        machine_type: n1-standard-4
        accelerator: {type: NVIDIA_TESLA_T4, count: 1}
        scaling: {mode: auto, max_nodes: 4, metrics: [{name: GPU_DUTY_CYCLE, target: 70}]}
        service_account: serve@demo-project.iam.gserviceaccount.com
      - name: v3
        container:
          image_uri: europe-docker.pkg.dev/demo-project/serving/fashion:3
          predict_route: /predict
          health_route: /health
          env: {MODEL_DIR: /models}
          ports: [8080]
          command: [python, serve.py]
          args: [--threads, "4"]
        machine_type: g2-standard-4
        accelerator: {type: NVIDIA_L4}
        scaling: {mode: manual, nodes: 2}
  - name: iris
    versions:
      - name: v1
        artifact: model
        framework: xgboost
        framework_version: "0.90"
        machine_type: e2-standard-2
"""


@pytest.fixture
def vertex_dir(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "deployer.yaml").write_text(SETTINGS)
    (tmp_path / "models.yaml").write_text(MODELS)
    return tmp_path


def test_valid_vertex_stack_loads_with_one_warning(vertex_dir: Path) -> None:
    stack = load_stack(vertex_dir)
    assert stack.backend == "vertex"
    assert [str(w) for w in stack.warnings] == [
        f"{_display(vertex_dir / 'models.yaml')}:10:25: warning: python_version has no "
        "meaning on vertex and is ignored"
    ]
    fashion, iris = stack.models
    v1, v2, v3 = fashion.spec.versions
    assert (v1.deployed, v3.artifact, v3.runtime_version) == (False, None, None)
    assert iris.regions == ("europe-west4",)
    assert traffic_split(fashion.spec) == {"v2": 90, "v3": 10}
    assert traffic_split(iris.spec) == {"v1": 100}
    assert vertex_image(v2, "europe-west4") == (
        "europe-docker.pkg.dev/vertex-ai/prediction/tf2-gpu.2-11:latest"
    )
    assert vertex_image(v2, "us-central1") == (
        "us-docker.pkg.dev/vertex-ai/prediction/tf2-gpu.2-11:latest"
    )
    assert vertex_image(v3, "us-central1") == v3.container.image_uri  # type: ignore[union-attr]
    assert vertex_image(iris.spec.versions[0], "europe-west4") == (
        "europe-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.0-90:latest"
    )
    assert [replica_counts(v) for v in (v1, v2, v3)] == [(1, 1), (1, 4), (2, 2)]


def test_validate_prints_the_warning_and_succeeds(vertex_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deployer", "validate", "."],
        cwd=vertex_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "models.yaml:10:25: warning: python_version has no meaning on vertex and is ignored\n"
    )
    assert result.stdout.startswith("Valid: stack")


def test_warnings_are_listed_after_errors(vertex_dir: Path) -> None:
    models = vertex_dir / "models.yaml"
    models.write_text(MODELS.replace("name: iris", "name: Iris"))
    with pytest.raises(ManifestError) as caught:
        load_stack(vertex_dir)
    lines = str(caught.value).splitlines()
    assert [line.split(": ", 1)[1].split(" ")[0] for line in lines[:-1]] == ["invalid", "warning:"]
    assert lines[-1] == "1 error in manifests"


def test_environment_overrides_backend(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "deployer.yaml").write_text(
        "project: demo-project\nartifacts: gs://demo-models/d\n"
        "environments:\n  staging: {backend: vertex}\n  prod: {vars: {}}\n"
    )
    (tmp_path / "m.yaml").write_text(
        "models:\n  - name: m1\n    versions:\n"
        "      - {name: v1, artifact: model, runtime_version: '2.11', deployed: false}\n"
        "      - {name: v2, artifact: model, runtime_version: '2.11'}\n"
        "    default_version: v2\n"
    )
    assert load_stack(tmp_path, "staging").backend == "vertex"
    with pytest.raises(ManifestError) as caught:
        load_stack(tmp_path, "prod")
    assert "'deployed: false' is only available with backend: vertex" in str(caught.value)
    with pytest.raises(ManifestError):
        load_stack(tmp_path)


def test_mlengine_defaults_are_unchanged(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "deployer.yaml").write_text("project: demo-project\nartifacts: gs://demo-m/d\n")
    (tmp_path / "m.yaml").write_text(
        "models:\n  - name: m1\n    versions:\n"
        "      - {name: v1, artifact: model, runtime_version: '2.11'}\n"
    )
    stack = load_stack(tmp_path)
    assert (stack.backend, stack.warnings) == ("mlengine", ())
    version = stack.models[0].spec.versions[0]
    assert (version.python_version, version.deployed, version.container) == (None, True, None)


def _display(path: Path) -> str:
    from deployer.core.diagnostics import display_path

    return display_path(path)


PRODUCTION_SETTINGS = """\
project: demo-project
artifacts: gs://demo-models/deployer
backend: vertex
preview: true
resource_pools:
  - {name: small-cpu, machine_type: n1-standard-4, scaling: {min_nodes: 1, max_nodes: 3}}
"""
PRODUCTION_MODELS = """\
models:
  - name: ranker
    default_version: v3
    traffic: {v3: 90, v4: 10}
    endpoint:
      inference_timeout: 600s
      private_service_connect: {project_allowlist: [acme-prod]}
      request_logging: {bigquery_table: acme.logs.ranker, sampling_percentage: 0.1}
      labels: {tier: gold}
    versions:
      - name: v3
        artifact: model
        runtime_version: "2.11"
        machine_type: g2-standard-8
        accelerator: {type: NVIDIA_L4, count: 1}
        scaling:
          mode: auto
          min_nodes: 0
          max_nodes: 4
          metrics: [{name: REQUEST_COUNT, target: 600}, {name: GPU_DUTY_CYCLE, target: 70}]
          scale_to_zero: {idle_scaledown: 1800s}
      - name: v4
        artifact: model
        runtime_version: "2.11"
        machine_type: g2-standard-8
        accelerator: {type: NVIDIA_L4, count: 1}
        spot: true
        rollout: {strategy: rolling, max_surge: 1, max_unavailable: 0}
  - name: tiny
    versions:
      - {name: v1, artifact: model, runtime_version: "2.11", resource_pool: small-cpu}
"""


def test_the_production_shape_loads_and_becomes_these_resources(tmp_path: Path) -> None:
    """The shape issue 24 gives (a Private Service Connect endpoint being a dedicated private
    endpoint already, `dedicated: true` is not declared beside it) validates, and becomes a
    pool, endpoint settings, a spot deployment, a scale-to-zero one and a pooled one."""
    from deployer.providers.vertex import state

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "deployer.yaml").write_text(PRODUCTION_SETTINGS)
    (tmp_path / "models.yaml").write_text(PRODUCTION_MODELS)
    stack = load_stack(tmp_path)
    source = str(tmp_path / "model")
    desired = {r.key.address: r for r in state.desired_resources(stack, {source: "d1"})}
    assert desired["us-central1/small-cpu:pool"].fields["maxReplicaCount"] == 3
    endpoint = desired["us-central1/ranker:endpoint"]
    assert endpoint.fields["clientConnectionConfig"] == {"inferenceTimeout": "600s"}
    assert endpoint.fields["privateServiceConnectConfig.projectAllowlist"] == ["acme-prod"]
    assert endpoint.labels["tier"] == "gold"
    v3, v4 = desired["us-central1/ranker/v3:deployed"], desired["us-central1/ranker/v4:deployed"]
    assert (v3.fields["minReplicaCount"], v3.fields["initialReplicaCount"]) == (0, 1)
    assert v3.fields["scaleToZeroSpec"] == {"idleScaledownPeriod": "1800s"}
    assert [m["metricName"].rsplit("/", 1)[-1] for m in v3.fields["autoscalingMetricSpecs"]] == [
        "duty_cycle",
        "request_count",
    ]
    assert v4.fields["spot"] is True and v4.fields["rolloutStrategy"] == "rolling"
    assert v4.fields["rolloutOptions"] == {"maxSurgeReplicas": 1, "maxUnavailableReplicas": 0}
    tiny = desired["us-central1/tiny/v1:deployed"]
    assert (tiny.fields["sharedResources"], tiny.fields["machineSpec"]) == ("small-cpu", None)


def test_a_dedicated_or_private_endpoint_takes_no_smoke_test(tmp_path: Path) -> None:
    """Smoke tests call the regional host, which such endpoints do not answer."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "smoke.jsonl").write_text("[1, 2]\n")
    (tmp_path / "deployer.yaml").write_text(SETTINGS)
    (tmp_path / "m.yaml").write_text(
        "models:\n  - name: m1\n    endpoint: {dedicated: true}\n    versions:\n"
        "      - {name: v1, artifact: model, runtime_version: '2.11',\n"
        "         smoke_test: {instances: smoke.jsonl}}\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_stack(tmp_path)
    (only,) = caught.value.diagnostics
    assert (only.line, only.col) == (6, 10)
    assert only.message.startswith("a smoke test predicts through the regional host")
