"""Running a deployed model's artifact for `endpoints.predict`, per prebuilt framework.

TensorFlow goes through the same code as `ml` v1 (b64, signatures). scikit-learn and XGBoost
artifacts are loaded with their libraries when installed; every library is imported lazily.
"""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import Any

from deployer.emulator.apierrors import PredictError

_cache: dict[str, Any] = {}
_lock = threading.Lock()


def serve(framework: str | None, path: Path, body: Any) -> list[Any]:
    """The `predictions` for a PredictRequest body; PredictError on a bad request or model."""
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list):
        raise PredictError('Prediction failed: the request needs "instances", a list.')
    parameters = body.get("parameters") or {}
    if framework == "tensorflow":
        from deployer.emulator import predict

        request: dict[str, Any] = {"instances": body["instances"]}
        if isinstance(parameters, dict) and parameters.get("signature_name"):
            request["signature_name"] = parameters["signature_name"]
        return list(predict.predict(path, request)["predictions"])
    if framework in ("scikit-learn", "xgboost"):
        model = _load(framework, path)
        try:
            import numpy as np

            result = model.predict(np.asarray(body["instances"]))
        except PredictError:
            raise
        except Exception as exc:
            raise PredictError(f"Prediction failed: {exc}") from None
        return [v.item() if hasattr(v, "item") else v for v in list(result)]
    raise PredictError(
        "Prediction failed: the emulator runs only prebuilt TensorFlow, scikit-learn and XGBoost "
        "images; this model uses a custom container."
    )


def _load(framework: str, path: Path) -> Any:
    key = str(path)
    with _lock:
        if key in _cache:
            return _cache[key]
    library = "xgboost" if framework == "xgboost" else "sklearn"
    try:
        __import__(library)
    except ImportError:
        raise PredictError(
            f"Prediction failed: serving a {framework} model needs the {library} package, which "
            "is not installed next to the emulator (pip install "
            f"{'xgboost' if library == 'xgboost' else 'scikit-learn'})."
        ) from None
    model = _read(framework, path)
    with _lock:
        _cache[key] = model
    return model


def _read(framework: str, path: Path) -> Any:
    if framework == "xgboost" and (path / "model.bst").is_file():
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(str(path / "model.bst"))
        return _BoosterModel(booster)
    if (path / "model.joblib").is_file():
        import joblib

        return joblib.load(path / "model.joblib")
    with open(path / "model.pkl", "rb") as handle:
        return pickle.load(handle)


class _BoosterModel:
    """A raw Booster answers `predict` on a DMatrix; wrap it to take a plain matrix."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict(self, matrix: Any) -> Any:
        import xgboost

        return self.booster.predict(xgboost.DMatrix(matrix))


def forget(path: Path) -> None:
    with _lock:
        _cache.pop(str(path), None)
