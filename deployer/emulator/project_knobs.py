"""The project knobs: their shapes, checked when set (CLI flags or `POST /_emulator/config`)."""

from __future__ import annotations

import re
from typing import Any

from deployer.providers.mlengine import catalog
from deployer.providers.vertex import catalog as catalog_vertex

ANY_REGION = "*"
PERMISSION_RE = re.compile(r"^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9*]+){1,2}$")
SERVICE_RE = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$")
METRIC_RE = re.compile(r"^([a-z][a-z0-9.-]*/)?[a-z][a-z0-9_]*$")
BUCKET_KEYS = frozenset({"location", "project", "readers"})
REGIONS = frozenset({*catalog_vertex.REGIONS, *catalog.REGIONAL_ENDPOINTS})


def validate(quotas: Any, denied: Any, disabled: Any, buckets: Any) -> None:
    """ValueError naming the first knob value that does not fit."""
    for metric, limits in quotas.items():
        if not isinstance(metric, str) or not METRIC_RE.match(metric):
            raise ValueError(f"quotas: {metric!r} is not a quota metric name")
        if not isinstance(limits, dict):
            raise ValueError(f"quotas.{metric}: a mapping of region (or '*') -> limit")
        for region, limit in limits.items():
            if region != ANY_REGION and region not in REGIONS:
                raise ValueError(f"quotas.{metric}: unknown region {region!r}")
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < -1:
                raise ValueError(f"quotas.{metric}.{region}: an integer >= -1 (-1: unlimited)")
    for name, values, pattern in (
        ("denied_permissions", denied, PERMISSION_RE),
        ("disabled_services", disabled, SERVICE_RE),
    ):
        for value in values:
            if not isinstance(value, str) or not pattern.match(value):
                raise ValueError(f"{name}: {value!r} is not a valid entry")
    for bucket, settings in buckets.items():
        if not isinstance(settings, dict) or not set(settings) <= BUCKET_KEYS:
            raise ValueError(f"buckets.{bucket}: a mapping of {', '.join(sorted(BUCKET_KEYS))}")
        for key in ("location", "project"):
            if key in settings and not isinstance(settings[key], str):
                raise ValueError(f"buckets.{bucket}.{key}: a string")
        readers = settings.get("readers", [])
        if not isinstance(readers, list) or not all(isinstance(m, str) for m in readers):
            raise ValueError(f"buckets.{bucket}.readers: a list of IAM members")


def parse_quota(text: str) -> tuple[str, str, int]:
    """`METRIC[@REGION]=LIMIT` (no region: every region) -> (metric, region or "*", limit)."""
    head, sep, value = text.partition("=")
    metric, _, region = head.partition("@")
    try:
        limit = int(value)
    except ValueError:
        limit = -2
    if not sep or not metric or limit < -1:
        raise ValueError(
            f"--quota {text!r}: expected METRIC[@REGION]=LIMIT, e.g. "
            "custom_model_serving_cpus@us-central1=24 (-1: unlimited)"
        )
    return metric, region or ANY_REGION, limit


def parse_bucket_location(text: str) -> tuple[str, str]:
    """`BUCKET=LOCATION` -> (bucket, location)."""
    bucket, sep, location = text.partition("=")
    if not sep or not bucket or not location:
        raise ValueError(
            f"--bucket-location {text!r}: expected BUCKET=LOCATION, e.g. b=EUROPE-WEST4"
        )
    return bucket, location.upper()


CPU_QUOTA = "custom_model_serving_cpus"


def from_flags(
    quotas: list[str],
    denied: list[str],
    disabled: list[str],
    locations: list[str],
    *,
    serving_cpus: int = 0,
    under: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The project knobs the `deployer emulator` flags set (ValueError on a malformed one).

    `serving_cpus` (`--vertex-serving-cpus`, 0: unset) is short for a `--quota` of the CPU
    metric in every region; `under` (a profile's quotas) holds where the flags set nothing."""
    if serving_cpus < 0:
        raise ValueError("--vertex-serving-cpus must be >= 0")
    table: dict[str, dict[str, int]] = {m: dict(t) for m, t in (under or {}).items()}
    if serving_cpus:
        table.setdefault(CPU_QUOTA, {})[ANY_REGION] = serving_cpus
    for text in quotas:
        metric, region, limit = parse_quota(text)
        table.setdefault(metric, {})[region] = limit
    buckets: dict[str, dict[str, Any]] = {}
    for text in locations:
        bucket, location = parse_bucket_location(text)
        buckets.setdefault(bucket, {})["location"] = location
    return {
        "quotas": table,
        "denied_permissions": list(denied),
        "disabled_services": list(disabled),
        "buckets": buckets,
    }
