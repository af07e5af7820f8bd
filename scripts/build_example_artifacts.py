"""Build the tiny SavedModels that the example manifests in `manifests/` point at.

The artifacts are generated, never committed: each is a small Keras model with fixed, seeded
weights, exported as a TensorFlow SavedModel with a `serving_default` signature whose input has
a leading batch dimension of None, as AI Platform Prediction requires.

Usage: python scripts/build_example_artifacts.py [OUT_DIR]   (default: export/ at the repo root)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# (model name, version directory, input width, classes, seed)
EXAMPLES: tuple[tuple[str, str, int, int, int], ...] = (
    ("iris", "1", 4, 3, 7),
    ("iris", "2", 4, 3, 8),
    ("fashion_mnist", "1", 784, 10, 1),
    ("fashion_mnist", "2", 784, 10, 2),
)


def build_savedmodel(path: Path, inputs: int, classes: int, seed: int) -> Path:
    """Export a one-layer softmax classifier with deterministic weights to `path`."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    kernel = tf.constant(rng.normal(0, 0.1, (inputs, classes)).astype("float32"))
    bias = tf.constant(rng.normal(0, 0.1, (classes,)).astype("float32"))

    class Classifier(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.kernel = tf.Variable(kernel, name="kernel")
            self.bias = tf.Variable(bias, name="bias")

        @tf.function(input_signature=[tf.TensorSpec([None, inputs], tf.float32, name="x")])
        def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"probabilities": tf.nn.softmax(tf.matmul(x, self.kernel) + self.bias)}

    module = Classifier()
    path.mkdir(parents=True, exist_ok=True)
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "export"
    for name, version, inputs, classes, seed in EXAMPLES:
        target = out / name / version
        if (target / "saved_model.pb").exists():
            continue
        build_savedmodel(target, inputs, classes, seed)
        print(f"built {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
