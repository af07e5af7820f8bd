"""Item 2 and the option part of item 5: a single model file as PATH is a scope, and usage
errors in option values exit 2 with one line, like the argument parser's own."""

from __future__ import annotations

import pytest
from cli.helpers import Live, Repo, model, version

from hostile.helpers import assert_one_line_error


def _two_models(repo: Repo) -> None:
    repo.write(
        [
            model("alpha", [version("v1")], regions=["us-central1"]),
            model("beta", [version("v1")], regions=["us-central1"]),
        ]
    )
    assert repo.apply().returncode == 0


def test_a_single_model_file_never_plans_to_delete_the_other_files_models(
    repo: Repo, live: Live
) -> None:
    _two_models(repo)
    before = live.snapshot()
    one = "manifests/models/alpha.yaml"
    for command in ("plan", "apply"):
        args = [command, one, "--detailed-exitcode"] if command == "plan" else [command, one]
        result = repo.run(*args, "--auto-approve") if command == "apply" else repo.run(*args)
        assert result.returncode == 0, str(result)
        assert "destroy" not in result.stdout.replace("0 to destroy", "").replace(
            "0 destroyed", ""
        ), str(result)
    assert live.snapshot() == before
    # And the file's own model is still planned: a change in it shows.
    path = repo.manifests / "models" / "alpha.yaml"
    path.write_text(path.read_text().replace("name: alpha", "name: alpha\n  description: new"))
    result = repo.run("plan", one, "--format", "json")
    addresses = {a["address"] for a in result.json()["actions"]}
    assert addresses == {"us-central1/alpha"}, str(result)
    # --target may only narrow a file's scope.
    outside = repo.run("plan", one, "--target", "beta")
    assert_one_line_error(outside, "--target beta", "not declared in the file", code=2)


def test_destroy_with_a_single_file_destroys_only_its_models(repo: Repo, live: Live) -> None:
    _two_models(repo)
    result = repo.run("destroy", "manifests/models/alpha.yaml", "--auto-approve")
    assert result.returncode == 0, str(result)
    assert set(live.snapshot()) == {"us-central1/beta", "us-central1/beta/v1"}


def test_a_model_file_with_no_models_plans_nothing(repo: Repo, live: Live) -> None:
    _two_models(repo)
    (repo.manifests / "empty.yaml").write_text("models: []\n")
    result = repo.run("plan", "manifests/empty.yaml", "--detailed-exitcode")
    assert result.returncode == 0, str(result)
    assert len(live.snapshot()) == 4


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("plan", "manifests", "--var", "novalue"), "--var 'novalue'"),
        (("plan", "manifests", "--var", "=x"), "--var '=x'"),
        (("apply", "manifests", "--lock-timeout", "soon", "--auto-approve"), "--lock-timeout"),
        (("apply", "manifests", "--lock-timeout", "-5s", "--auto-approve"), "--lock-timeout"),
        (("destroy", "manifests", "--lock-timeout", "1y", "--auto-approve"), "--lock-timeout"),
        (("plan", "manifests", "--target", "a/b/c"), "--target"),
        (("plan", "manifests", "--target", "nosuchmodel"), "--target nosuchmodel"),
        (("plan", "manifests", "--target", "alpha/v9"), "--target alpha/v9"),
    ],
)
def test_bad_option_values_exit_2_in_one_line(
    repo: Repo, args: tuple[str, ...], needle: str
) -> None:
    repo.write([model("alpha", [version("v1")], regions=["us-central1"])])
    assert_one_line_error(repo.run(*args, timeout=60), needle, code=2)
