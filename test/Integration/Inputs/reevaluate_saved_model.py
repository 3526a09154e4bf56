"""Re-evaluate a model that adagp-train saved, with adagp-run, on the first N
Fashion-MNIST test images, and compare with the test accuracy of the last
epoch record of adagp-train's metrics file.

    reevaluate_saved_model.py MODEL.onnx METRICS.jsonl --test-images N --work DIR

The images go through scripts/reference/fashion_mnist.py's preprocessing
(the same scaling and normalisation as adagp-train). Exit status 1 if the
number of correctly classified images differs, or if the mean test
cross-entropy differs by more than 1e-5 (relative).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "reference"))
import fashion_mnist  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("metrics")
    parser.add_argument("--test-images", type=int, required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)

    dims = onnx.load(args.model).graph.input[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value for d in dims[1:])
    images, labels = fashion_mnist.load_raw("test")
    images, labels = images[:args.test_images], labels[:args.test_images]
    x_path = os.path.join(args.work, "test_images.npy")
    logits_path = os.path.join(args.work, "test_logits.npy")
    np.save(x_path, fashion_mnist.preprocess(images, shape))
    subprocess.run(["adagp-run", args.model, "--input", x_path, "-o", logits_path,
                    "--threads", "2"], check=True)
    logits = np.load(logits_path).astype(np.float64)
    correct = int((logits.argmax(axis=1) == labels).sum())
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(len(labels)), labels].mean())

    with open(args.metrics) as f:
        epochs = [r for r in map(json.loads, f) if "test_accuracy" in r]
    reported = epochs[-1]["test_accuracy"]
    reported_correct = round(reported * len(labels))
    reported_loss = epochs[-1]["test_loss"]
    print(f"adagp-run: {correct}/{len(labels)} correct, test loss {loss:.6f}; "
          f"adagp-train epoch {epochs[-1]['epoch']}: {reported_correct}/{len(labels)}, "
          f"test loss {reported_loss:.6f}")
    if correct != reported_correct:
        print("FAIL: the saved model's accuracy differs from the reported one")
        return 1
    if abs(loss - reported_loss) > 1e-5 * abs(reported_loss):
        print("FAIL: the saved model's test loss differs from the reported one")
        return 1
    print("same accuracy and test loss")
    return 0


if __name__ == "__main__":
    sys.exit(main())
