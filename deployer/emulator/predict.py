"""Online prediction: runs a version's SavedModel with TensorFlow, imported lazily.

Loaded models are cached per artifact directory (each version has its own copy).
"""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path
from typing import Any

from deployer import catalog
from deployer.emulator.apierrors import PredictError
from deployer.emulator.artifacts import ArtifactError

MAX_PAYLOAD_BYTES = catalog.MAX_PREDICT_BYTES
"""Online prediction requests are at most 1.5 MiB as sent (the service's own figure)."""

_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()
_load_locks: dict[str, threading.Lock] = {}


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def load(path: Path) -> Any:
    """The loaded SavedModel at `path` (cached); raises whatever TensorFlow raises."""
    key = str(path)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        lock = _load_locks.setdefault(key, threading.Lock())
    with lock:
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        tf = _tf()
        loaded = tf.saved_model.load(key, tags=["serve"])
        with _cache_lock:
            _cache[key] = loaded
        return loaded


def forget(path: Path) -> None:
    with _cache_lock:
        _cache.pop(str(path), None)


def _signature(loaded: Any, name: str | None) -> tuple[str, Any]:
    signatures = dict(loaded.signatures)
    if name:
        if name not in signatures:
            raise PredictError(
                f'Prediction failed: signature_name "{name}" not found; the model has: '
                f"{', '.join(sorted(signatures)) or 'none'}."
            )
        return name, signatures[name]
    if len(signatures) == 1:
        return next(iter(signatures.items()))
    if "serving_default" in signatures:
        return "serving_default", signatures["serving_default"]
    raise PredictError(
        "Prediction failed: the model has several signatures and none is serving_default; "
        "give signature_name."
    )


def _inputs(signature: Any) -> dict[str, Any]:
    return dict(signature.structured_input_signature[1])


def check_loadable(path: Path, uri: str) -> None:
    """ArtifactError unless the SavedModel at `path` loads and has a servable signature."""
    try:
        loaded = load(path)
    except Exception as exc:
        forget(path)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(
            f"Create Version failed. Model validation failed: The SavedModel at {uri} could "
            f"not be loaded with tag 'serve': {first}"
        ) from None
    try:
        _, signature = _signature(loaded, None)
    except PredictError as exc:
        raise ArtifactError(f"Create Version failed. Model validation failed: {exc}") from None
    for alias, spec in _inputs(signature).items():
        shape = spec.shape
        if shape.rank is None or shape.rank == 0 or shape[0] is not None:
            raise ArtifactError(
                "Create Version failed. Model validation failed: input "
                f"{alias!r} must have a leading batch dimension of -1 (None); got {shape}."
            )


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            try:
                return base64.b64decode(value["b64"], validate=True)
            except (ValueError, TypeError):
                raise PredictError("Prediction failed: invalid base64 in a b64 object.") from None
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _encode(alias: str, value: Any) -> Any:
    if isinstance(value, list):
        return [_encode(alias, v) for v in value]
    if isinstance(value, bytes):
        if alias.endswith("_bytes"):
            return {"b64": base64.b64encode(value).decode("ascii")}
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode("ascii")}
    return value


def predict(path: Path, body: Any) -> dict[str, Any]:
    """Answer a :predict body for the SavedModel at `path`; PredictError on a bad request."""
    if not isinstance(body, dict) or "instances" not in body:
        raise PredictError('Prediction failed: the request must be a JSON object with "instances".')
    unknown = set(body) - {"instances", "signature_name", "signatureName"}
    if unknown:
        raise PredictError(
            f"Prediction failed: unknown request fields: {', '.join(sorted(unknown))}."
        )
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise PredictError('Prediction failed: "instances" must be a non-empty list.')
    tf = _tf()
    try:
        loaded = load(path)
    except Exception as exc:
        raise PredictError(f"Prediction failed: the model could not be loaded: {exc}") from None
    _, signature = _signature(loaded, body.get("signature_name") or body.get("signatureName"))
    specs = _inputs(signature)
    instances = _decode(instances)
    columns: dict[str, list[Any]] = {alias: [] for alias in specs}
    for index, instance in enumerate(instances):
        if len(specs) == 1:
            (alias,) = specs
            if isinstance(instance, dict) and set(instance) == {alias}:
                instance = instance[alias]
            columns[alias].append(instance)
            continue
        if not isinstance(instance, dict):
            raise PredictError(
                f"Prediction failed: instance {index} must be an object with the inputs "
                f"{', '.join(sorted(specs))}; the model has several inputs."
            )
        missing = set(specs) - set(instance)
        extra = set(instance) - set(specs)
        if missing or extra:
            raise PredictError(
                f"Prediction failed: instance {index} has inputs {sorted(instance)}; the model "
                f"expects {sorted(specs)}."
            )
        for alias in specs:
            columns[alias].append(instance[alias])
    feeds: dict[str, Any] = {}
    for alias, spec in specs.items():
        try:
            tensor = tf.constant(columns[alias], dtype=spec.dtype)
        except (ValueError, TypeError) as exc:
            raise PredictError(
                f"Prediction failed: input {alias!r} cannot be converted to {spec.dtype.name}: "
                f"{exc}"
            ) from None
        if not spec.shape.is_compatible_with(tensor.shape):
            raise PredictError(
                f"Prediction failed: input {alias!r} has shape {tensor.shape.as_list()}; the "
                f"model expects {spec.shape.as_list()} (with the batch dimension first)."
            )
        feeds[alias] = tensor
    try:
        outputs = signature(**feeds)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PredictError(f"Prediction failed: {first}") from None
    values = {alias: tensor.numpy().tolist() for alias, tensor in outputs.items()}
    count = len(instances)
    for alias, value in values.items():
        if not isinstance(value, list) or len(value) != count:
            raise PredictError(
                f"Prediction failed: output {alias!r} has no leading batch dimension of size "
                f"{count}."
            )
    if len(values) == 1:
        ((alias, value),) = values.items()
        return {"predictions": [_encode(alias, v) for v in value]}
    return {
        "predictions": [
            {alias: _encode(alias, value[i]) for alias, value in values.items()}
            for i in range(count)
        ]
    }
