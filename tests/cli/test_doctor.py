"""`deployer doctor` on the twin (issue 23): each problem is one FAIL line with its fix, a healthy
project exits 0; the knobs make the twin's project unhealthy in one precise way at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.vertex_support import CUSTOM_IMAGE, create_endpoint, deploy, parent, upload

from cli.helpers import Repo, Result, model, version
from deployer.emulator.project.service import project_number


def write(repo: Repo, **scaling: Any) -> None:
    fields = {"machine_type": "n1-standard-4", "scaling": scaling or {"mode": "manual", "nodes": 2}}
    repo.write(
        [model("fraud", [version("v1", **fields)], regions=["us-central1"])], backend="vertex"
    )


def doctor(repo: Repo, *extra: str) -> Result:
    return repo.run("doctor", "manifests", *extra)


def fails(result: Result) -> list[str]:
    return [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("FAIL")]


def test_a_healthy_twin_project_passes(repo: Repo) -> None:
    write(repo)
    result = doctor(repo)
    assert result.returncode == 0, str(result)
    lines = [line.strip() for line in result.stdout.splitlines()[1:-1]]
    assert lines and all(line.startswith("ok") for line in lines), str(result)
    assert "credentials: anonymous, against the local twin" in result.stdout
    assert "permissions for `deployer apply`" in result.stdout
    assert f"artifacts bucket gs://{repo.bucket} (US-CENTRAL1) holds us-central1" in result.stdout
    assert "quota custom_model_serving_cpus in us-central1" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("All ")


def test_a_denied_permission_is_one_line_naming_it(repo: Repo, twin_knobs: Any) -> None:
    write(repo)
    twin_knobs(denied_permissions=["aiplatform.endpoints.deploy"])
    result = doctor(repo)
    assert result.returncode == 1, str(result)
    (line,) = fails(result)
    assert "missing permission for `deployer apply`" in line
    assert "aiplatform.endpoints.deploy" in line
    assert "fix: gcloud projects add-iam-policy-binding" in line
    assert "roles/aiplatform.user" in line
    assert "permissions for `deployer plan`" in result.stdout
    assert "doctor found 1 problem" in result.stderr


def test_a_denied_bucket_permission_names_the_bucket(repo: Repo, twin_knobs: Any) -> None:
    write(repo)
    twin_knobs(denied_permissions=["storage.objects.create"])
    (line,) = fails(doctor(repo))
    assert f"on gs://{repo.bucket}: storage.objects.create" in line
    assert "roles/storage.objectAdmin" in line


def test_a_disabled_api_is_one_line_and_skips_what_needs_it(repo: Repo, twin_knobs: Any) -> None:
    write(repo)
    twin_knobs(disabled_services=["aiplatform.googleapis.com"])
    result = doctor(repo)
    assert result.returncode == 1, str(result)
    (line,) = fails(result)
    assert "Vertex AI API (aiplatform.googleapis.com) is disabled in project" in line
    assert f"fix: gcloud services enable aiplatform.googleapis.com --project {repo.project}" in line
    assert "skip  serving quota checks: Vertex AI API is disabled" in result.stdout


def test_plan_against_a_disabled_api_fails_as_the_service_does(repo: Repo, twin_knobs: Any) -> None:
    write(repo)
    twin_knobs(disabled_services=["aiplatform.googleapis.com"])
    result = repo.run("plan", "manifests")
    assert result.returncode == 1, str(result)
    assert "aiplatform.googleapis.com has not been used in project" in result.stderr


def test_a_bucket_in_the_wrong_region_is_one_line(repo: Repo, twin_knobs: Any) -> None:
    write(repo)
    twin_knobs(buckets={repo.bucket: {"location": "EUROPE-WEST4"}})
    result = doctor(repo)
    assert result.returncode == 1, str(result)
    (line,) = fails(result)
    assert f"gs://{repo.bucket} is in EUROPE-WEST4, not in us-central1" in line
    assert "fix: use a bucket in us-central1" in line


def test_a_multi_region_bucket_holding_the_region_passes(repo: Repo, twin_knobs: Any) -> None:
    write(repo)
    twin_knobs(buckets={repo.bucket: {"location": "US"}})
    result = doctor(repo)
    assert result.returncode == 0, str(result)
    assert f"gs://{repo.bucket} (US) holds us-central1" in result.stdout


def test_a_missing_bucket_says_how_to_create_it(repo: Repo) -> None:
    repo.write(
        [model("fraud", [version("v1", machine_type="n1-standard-4")])],
        backend="vertex",
        artifacts="gs://no-such-bucket-for-doctor/x",
    )
    result = doctor(repo)
    assert result.returncode == 1, str(result)
    (line,) = fails(result)
    assert "artifacts bucket gs://no-such-bucket-for-doctor does not exist" in line
    assert "gcloud storage buckets create gs://no-such-bucket-for-doctor" in line


def test_a_foreign_bucket_must_grant_the_serving_agent(repo: Repo, twin_knobs: Any) -> None:
    write(repo)
    agent = f"service-{project_number(repo.project)}@gcp-sa-aiplatform.iam.gserviceaccount.com"
    twin_knobs(buckets={repo.bucket: {"project": "someone-else", "readers": []}})
    (line,) = fails(doctor(repo))
    assert f"the serving agent {agent} cannot read gs://{repo.bucket}" in line
    assert f"--member=serviceAccount:{agent} --role=roles/storage.objectViewer" in line
    twin_knobs(
        buckets={repo.bucket: {"project": "someone-else", "readers": [f"serviceAccount:{agent}"]}}
    )
    assert doctor(repo).returncode == 0
    twin_knobs(buckets={repo.bucket: {"project": repo.project, "readers": []}})
    result = doctor(repo)
    assert result.returncode == 0, str(result)
    assert f"belongs to project {repo.project}: its serving agent reads it" in result.stdout


def test_quota_headroom_counts_what_others_deploy(
    repo: Repo, twin_knobs: Any, vertex_client: Any, wait_vertex: Callable[..., Any]
) -> None:
    write(repo, mode="auto", min_nodes=1, max_nodes=4)
    upload(vertex_client, wait_vertex, repo.project, "other", image=CUSTOM_IMAGE)
    endpoint = create_endpoint(vertex_client, wait_vertex, repo.project, labels={"team": "x"})
    other = {"machineSpec": {"machineType": "n1-standard-2"}, "minReplicaCount": 1,
             "maxReplicaCount": 3}  # fmt: skip
    done = deploy(
        vertex_client, wait_vertex, endpoint["name"], f"{parent(repo.project)}/models/other",
        {"0": 100}, dedicatedResources=other,
    )  # fmt: skip
    assert "error" not in done, done
    twin_knobs(quotas={"custom_model_serving_cpus": {"us-central1": 20}})
    result = doctor(repo)
    assert result.returncode == 1, str(result)
    (line,) = fails(result)
    assert line.startswith(
        "FAIL  quota aiplatform.googleapis.com/custom_model_serving_cpus in us-central1: "
        "the stack needs 16 at max replicas, 14 free (limit 20, 6 used by deployments this "
        "stack does not manage)"
    ), line
    twin_knobs(quotas={"custom_model_serving_cpus": {"us-central1": 22}})
    result = doctor(repo)
    assert result.returncode == 0, str(result)
    assert "custom_model_serving_cpus in us-central1: 16 free, the stack needs at most 16" in (
        result.stdout
    )


def test_doctor_on_mlengine_checks_the_ml_api_and_skips_quota(repo: Repo) -> None:
    repo.write(
        [model("fraud", [version("v1", machine_type="n1-standard-4")], regions=["us-central1"])]
    )
    result = doctor(repo)
    assert result.returncode == 0, str(result)
    assert "AI Platform Training & Prediction API (ml.googleapis.com) is enabled" in result.stdout
    assert "quota" not in result.stdout


def test_no_twin_at_the_address_is_one_line(repo: Repo) -> None:
    write(repo)
    env = {**repo.env, "AIPLATFORM_EMULATOR_HOST": "http://127.0.0.1:9"}
    result = Repo(**{**repo.__dict__, "env": env}).run("doctor", "manifests")
    assert result.returncode == 1, str(result)
    (line,) = fails(result)
    assert "cannot reach the local twin at http://127.0.0.1:9" in line
    assert "fix: start it with `deployer emulator`" in line
    assert "Traceback" not in result.stderr


def test_a_broken_credentials_file_is_one_line(repo: Repo, tmp_path: Any) -> None:
    write(repo)
    broken = tmp_path / "creds.json"
    broken.write_text("{not json")
    env = {k: v for k, v in repo.env.items() if k not in ("AIPLATFORM_EMULATOR_HOST",)}
    env["GOOGLE_APPLICATION_CREDENTIALS"] = str(broken)
    result = Repo(**{**repo.__dict__, "env": env}).run("doctor", "manifests")
    assert result.returncode == 1, str(result)
    (line,) = fails(result)
    assert f"GOOGLE_APPLICATION_CREDENTIALS={broken}: not a JSON credentials file" in line
    assert "Traceback" not in result.stderr
