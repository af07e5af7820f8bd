"""Issue 23 on the twin: every plan says what its deployments hold (per region and model, before
-> after, at min and max replicas, the peak while applying) and cost a month, and a plan whose
peak does not fit the free serving quota fails before anything is written.

Prices are the twin's fixture catalog (deployer/emulator/project/fixtures.py: N1 $0.04 per
vCPU-hour and $0.005 per GiB-hour, a T4 $0.40 per hour; 730 hours a month) unless a test names a
prices file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from emulator.vertex_support import CUSTOM_IMAGE, create_endpoint, deploy, parent, upload

from cli.helpers import Repo, model, version
from cli.vertex_live import VertexLive

HOURS = 730
N1_CORE, N1_RAM, T4 = 0.04, 0.005, 0.40


def monthly(vcpus: float, gib: float, gpus: int = 0) -> float:
    return (vcpus * N1_CORE + gib * N1_RAM + gpus * T4) * HOURS


N1_2 = monthly(2, 7.5)
N1_4_T4 = monthly(4, 15, 1)
CPUS = "aiplatform.googleapis.com/custom_model_serving_cpus"


@pytest.fixture
def vlive(vertex_client: Any, repo: Repo) -> VertexLive:
    return VertexLive(vertex_client, repo.project)


def write(repo: Repo, *models: dict[str, Any], **settings: Any) -> None:
    repo.write(models, backend="vertex", **settings)


def v(name: str, artifact: str = "a", **fields: Any) -> dict[str, Any]:
    return version(name, artifact, **{"machine_type": "n1-standard-2", **fields})


CANARY = {
    "machine_type": "n1-standard-4",
    "accelerator": {"type": "NVIDIA_TESLA_T4", "count": 1},
    "scaling": {"mode": "auto", "min_nodes": 1, "max_nodes": 4},
}


def with_canary(**fields: Any) -> dict[str, Any]:
    return model(
        "iris",
        [v("v1"), v("v2", "b", **CANARY)],
        default_version="v1",
        traffic={"v1": 90, "v2": 10},
        **fields,
    )


def test_a_plan_that_adds_a_canary_shows_its_footprint_and_cost_delta(repo: Repo) -> None:
    write(repo, model("iris", [v("v1")]))
    assert repo.apply().returncode == 0
    write(repo, with_canary())
    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    region = doc["resources"]["us-central1"]
    assert region["before"]["min"] == {"vcpus": 2, "memory_gib": 7.5, "gpus": {}}
    assert region["after"]["min"] == {
        "vcpus": 6, "memory_gib": 22.5, "gpus": {"NVIDIA_TESLA_T4": 1},
    }  # fmt: skip
    assert region["after"]["max"] == {
        "vcpus": 18, "memory_gib": 67.5, "gpus": {"NVIDIA_TESLA_T4": 4},
    }  # fmt: skip
    assert region["peak"]["max"] == region["after"]["max"]  # a canary replaces nothing
    quota = region["quota"]["custom_model_serving_cpus"]
    assert (quota["asked"], quota["limit"], quota["free"], quota["ok"]) == (18, 1024, 1024, True)
    assert region["quota"]["custom_model_serving_nvidia_t4_gpus"]["free"] == 8
    assert doc["resources_by_model"]["us-central1/iris"]["after"]["min"]["vcpus"] == 6
    cost = doc["cost"]
    assert cost["currency"] == "USD" and cost["unknown"] == [] and cost["twin_prices"]
    assert cost["monthly_before"] == pytest.approx(N1_2, abs=0.01)
    assert cost["monthly_after"] == pytest.approx(N1_2 + N1_4_T4, abs=0.01)
    assert cost["monthly_after_max"] == pytest.approx(N1_2 + 4 * N1_4_T4, abs=0.01)
    assert cost["models"]["us-central1/iris"]["monthly_after"] == cost["monthly_after"]

    text = repo.run("plan", "manifests").stdout
    assert "Resources and cost:" in text
    assert (
        "  us-central1, at min replicas: 2 vCPUs, 7.5 GiB -> 6 vCPUs, 22.5 GiB, 1 x NVIDIA_TESLA_T4"
    ) in text
    delta = f"(+${round(N1_2 + N1_4_T4, 2) - round(N1_2, 2):,.2f})"
    assert f"  serving cost: ${N1_2:,.2f}/mo -> ${N1_2 + N1_4_T4:,.2f}/mo {delta}" in text
    comment = repo.run("plan", "manifests", "--format", "markdown").stdout
    first = comment.splitlines()[0]
    line = f"serving cost: ${N1_2:,.2f}/mo -> ${N1_2 + N1_4_T4:,.2f}/mo {delta}"
    assert first.startswith(line.replace("$", "\\$")), first  # `$` escaped: GitHub math
    assert "### Resources and cost" in comment


def test_a_machine_change_of_the_serving_version_shows_the_rollout_peak(repo: Repo) -> None:
    """Vertex replaces a deployment create-before-destroy: old and new run side by side."""
    write(repo, model("iris", [v("v1", scaling={"mode": "manual", "nodes": 2})]))
    assert repo.apply().returncode == 0
    manual = {"mode": "manual", "nodes": 2}
    write(repo, model("iris", [v("v1", machine_type="n1-standard-8", scaling=manual)]))
    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    region = doc["resources"]["us-central1"]
    assert region["before"]["max"]["vcpus"] == 4
    assert region["after"]["max"]["vcpus"] == 16
    assert region["peak"]["max"]["vcpus"] == 20
    assert region["peak"]["max"]["memory_gib"] == 2 * 7.5 + 2 * 30
    assert region["quota"]["custom_model_serving_cpus"]["asked"] == 20
    text = repo.run("plan", "manifests").stdout
    assert "us-central1, peak while applying: 20 vCPUs, 75 GiB (at max replicas)" in text


def test_a_cpu_quota_below_the_peak_fails_the_plan_before_any_write(
    repo: Repo,
    vlive: VertexLive,
    twin_knobs: Any,
    vertex_client: Any,
    wait_vertex: Callable[..., Any],
) -> None:
    write(repo, model("iris", [v("v1")]))
    assert repo.apply().returncode == 0
    # another team's deployment in the same project and region: 2 vCPUs at max replicas
    upload(vertex_client, wait_vertex, repo.project, "other", image=CUSTOM_IMAGE)
    endpoint = create_endpoint(vertex_client, wait_vertex, repo.project, labels={"team": "x"})
    done = deploy(
        vertex_client, wait_vertex, endpoint["name"], f"{parent(repo.project)}/models/other",
        {"0": 100},
    )  # fmt: skip
    assert "error" not in done, done
    twin_knobs(quotas={"custom_model_serving_cpus": {"us-central1": 10}})
    write(repo, model("iris", [v("v1", machine_type="n1-standard-8")]))
    before = vlive.snapshot()

    planned = repo.run("plan", "manifests")
    assert planned.returncode == 1, str(planned)
    (line,) = [x.strip() for x in planned.stdout.splitlines() if x.strip().startswith("- quota")]
    assert line == (
        f"- quota {CPUS} in us-central1: the plan needs 10 at its peak (max replicas), 8 free "
        "(limit 10, 2 used by deployments this stack does not manage); request more at "
        f"https://console.cloud.google.com/iam-admin/quotas?metric={CPUS} or lower max_nodes; "
        "if an increase is already requested, plan with --allow-over-quota"
    ), str(planned)
    assert "Plan failed: 1 error." in planned.stdout
    _, doc = repo.plan_json()
    quota = doc["resources"]["us-central1"]["quota"]["custom_model_serving_cpus"]
    assert (quota["limit"], quota["free"], quota["asked"], quota["ok"]) == (10, 8, 10, False)

    applied = repo.apply()
    assert applied.returncode == 1 and CPUS in applied.stdout, str(applied)
    assert vlive.snapshot() == before  # refused before any write

    allowed = repo.run("plan", "manifests", "--allow-over-quota", "--detailed-exitcode")
    assert allowed.returncode == 2, str(allowed)
    assert "planned anyway (--allow-over-quota)" in allowed.stdout


def test_a_plan_that_asks_no_more_quota_passes_under_a_lowered_limit(
    repo: Repo, twin_knobs: Any
) -> None:
    """Deletes and scale-downs need no new quota, whatever the limit is now."""
    write(repo, model("iris", [v("v1", scaling={"mode": "manual", "nodes": 3})]))
    assert repo.apply().returncode == 0
    twin_knobs(quotas={"custom_model_serving_cpus": {"us-central1": 2}})
    write(repo, model("iris", [v("v1", scaling={"mode": "manual", "nodes": 2})]))
    result = repo.run("plan", "manifests", "--detailed-exitcode")
    assert result.returncode == 2, str(result)
    assert "OVER QUOTA" not in result.stdout


def test_a_prices_file_prices_the_plan_and_a_missing_price_is_unknown(repo: Repo) -> None:
    (repo.manifests).mkdir(parents=True, exist_ok=True)
    (repo.manifests / "prices.yaml").write_text(
        "currency: EUR\n"
        'as_of: "2026-01-15"\n'
        "source: acme negotiated rates\n"
        "vertex:\n"
        '  "*":\n'
        "    machines: {n1-standard-2: 0.10, n1-standard-4: 0.20}\n"
    )
    write(repo, with_canary(), prices="prices.yaml")
    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    cost = doc["cost"]
    assert cost["currency"] == "EUR" and cost["source"] == "acme negotiated rates"
    assert cost["as_of"] == "2026-01-15" and "twin_prices" not in cost
    assert cost["monthly_after"] is None  # the T4 has no price: never guessed
    assert cost["monthly_after_priced"] == pytest.approx(0.10 * HOURS)
    assert cost["unknown"] == ["us-central1/iris/v2: no price for NVIDIA_TESLA_T4 in us-central1"]
    text = repo.run("plan", "manifests").stdout
    assert "serving cost: €0.00/mo -> €73.00/mo (+€73.00)" in text
    assert "priced part only, unknown: us-central1/iris/v2: no price for NVIDIA_TESLA_T4" in text


def test_a_bad_prices_file_is_reported_where_it_is_wrong(repo: Repo) -> None:
    repo.manifests.mkdir(parents=True, exist_ok=True)
    (repo.manifests / "prices.yaml").write_text(
        'currency: USD\nas_of: "2026-01-15"\nvertex:\n  "*":\n    gpus: {NVIDIA_L4: cheap}\n'
    )
    write(repo, model("iris", [v("v1")]), prices="prices.yaml")
    result = repo.run("validate", "manifests")
    assert result.returncode == 1, str(result)
    assert (
        "manifests/prices.yaml:5:12: vertex.*.gpus.NVIDIA_L4: a price is a number >= 0"
        in result.stderr + result.stdout
    ), str(result)
    write(repo, model("iris", [v("v1")]), prices="nothing-here.yaml")
    result = repo.run("validate", "manifests")
    assert result.returncode == 1
    assert "manifests/deployer.yaml:" in result.stderr + result.stdout
    assert "prices: names manifests/nothing-here.yaml, not a file" in result.stderr + result.stdout


def test_show_plans_says_the_cost_per_environment_and_in_total(repo: Repo) -> None:
    write(repo, with_canary(), environments={"staging": {}, "prod": {}})
    files = []
    for env in ("staging", "prod"):
        out = f"plan-{env}.json"
        result = repo.run("plan", "manifests", "--env", env, "--out", out)
        assert result.returncode == 0, str(result)
        files.append(out)
    comment = repo.run("show-plans", *files).stdout
    lines = comment.splitlines()
    both = 2 * round(N1_2 + N1_4_T4, 2)
    assert lines[0].startswith(f"serving cost: \\$0.00/mo -> \\${both:,.2f}/mo"), lines[0]
    assert lines[0].endswith("(over 2 environments)")
    assert "| environment | serving cost |" in comment
    assert comment.count("| `staging` | serving cost: ") == 1
    text = repo.run("show-plans", *files, "--format", "text").stdout.rstrip().splitlines()
    assert text[-1].startswith(f"All environments: serving cost: $0.00/mo -> ${both:,.2f}/mo")
    assert text[-1].endswith("(over 2 environments)")


def test_an_ml_v1_plan_counts_nodes_and_has_no_catalog_price(repo: Repo) -> None:
    repo.write([model("iris", [version("v1", machine_type="n1-standard-4")])])
    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    region = doc["resources"]["us-central1"]
    assert region["after"]["min"]["vcpus"] == 4 and region["quota"] == {}
    cost = doc["cost"]
    assert cost["monthly_after"] is None
    assert cost["source"].startswith("no prices: mlengine has no public price catalog")
    text = repo.run("plan", "manifests").stdout
    assert "  serving cost: unknown (us-central1/iris/v1: no N1 vCPU price for " in text
