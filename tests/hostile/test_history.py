"""Issue 19 item 11: history records are files in a bucket that anyone with write access to it
can change. A record with fields of the wrong type, escape sequences in its fields, a record
naming another stack, or unreadable ones: the listing goes on, prints nothing raw, lists only
this stack's runs, and `--limit` counts the runs it lists."""

from __future__ import annotations

import json
from typing import Any

from cli.helpers import Repo

from deployer.history import Record, history_uri


def _put(storage_client: Any, repo: Repo, name: str, body: Any) -> None:
    where = history_uri(repo.artifacts_uri, repo.stack).child(name)
    text = body if isinstance(body, str) else json.dumps(body)
    storage_client.bucket(where.bucket).blob(where.prefix).upload_from_string(text)


def _record(repo: Repo, when: str, **fields: Any) -> dict[str, Any]:
    record = Record(repo.stack, "apply", repo.project, "mlengine", started=when)
    return {**record.to_json(), "outcome": "success", **fields}


def _listed(result: Any) -> list[str]:
    return [line for line in result.stdout.splitlines()[1:] if line.strip()]


def test_wrong_types_escapes_and_other_stacks_do_not_stop_or_leak(
    repo: Repo, storage_client: Any
) -> None:
    repo.write([])
    good = _record(repo, "2025-01-01T10:00:00.000000Z", who="ci-bot")
    _put(storage_client, repo, "20250101T100000000000Z-a.json", good)
    wrong = [
        {"duration_s": "slow"},
        {"ci": "github"},
        {"plan": [1, 2]},
        {"who": 7},
        {"message": None},
    ]
    for i, fields in enumerate(wrong):
        started = f"2025-01-0{i + 2}T10:00:00.000000Z"
        _put(storage_client, repo, f"2025010{i + 2}T10-w{i}.json", _record(repo, started, **fields))
    hostile = _record(
        repo,
        "2025-02-01T10:00:00.000000Z",
        who="\x1b]0;pwned\x07\x1b[31mmallory",
        commit="\u202eabc",
        outcome="success\x1b[2J",
    )
    _put(storage_client, repo, "20250201T100000000000Z-h.json", hostile)
    other = _record(repo, "2025-03-01T10:00:00.000000Z", stack="someone-else", who="eve")
    _put(storage_client, repo, "20250301T100000000000Z-o.json", other)

    table = repo.run("history", "manifests")
    assert table.returncode == 0, str(table)
    assert "\x1b" not in table.stdout + table.stderr and "\u202e" not in table.stdout
    rows = _listed(table)
    assert len(rows) == 2, str(table)
    assert "\\x1b]0;pwned\\x07\\x1b[31mmallory" in rows[0] and "\\u202eabc" in rows[0]
    assert "ci-bot" in rows[1]
    assert "eve" not in table.stdout
    warnings = table.stderr.splitlines()
    assert sum("skipping unreadable history record" in w for w in warnings) == len(wrong)
    assert any("names stack 'someone-else'" in w for w in warnings)

    listed = repo.run("history", "manifests", "--format", "json")
    assert listed.returncode == 0, str(listed)
    assert [r["who"] for r in json.loads(listed.stdout)] == [hostile["who"], "ci-bot"]
    assert "\x1b" not in listed.stdout


def test_unreadable_records_do_not_count_against_the_limit(repo: Repo, storage_client: Any) -> None:
    repo.write([])
    for day in (1, 2):
        record = _record(repo, f"2025-01-0{day}T10:00:00.000000Z", who=f"u{day}")
        _put(storage_client, repo, f"2025010{day}T10-ok.json", record)
    for i, text in enumerate(["{not json", "[]", "\x00\x01", '{"stack": 3}']):
        _put(storage_client, repo, f"2025020{i}T10-bad.json", text)
    result = repo.run("history", "manifests", "--limit", "2")
    assert result.returncode == 0, str(result)
    rows = _listed(result)
    assert len(rows) == 2 and "u2" in rows[0] and "u1" in rows[1], str(result)
