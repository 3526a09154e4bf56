"""Imports every ONNX model of a directory with adagp-translate, runs
adagp-opt --canonicalize on it, exports it back, and checks the re-import.
Exits non-zero, naming the model, on the first failure."""
import glob
import os
import subprocess
import sys

models_dir, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
models = sorted(glob.glob(os.path.join(models_dir, "*.onnx")))
if not models:
    sys.exit(f"no models in {models_dir}")


def run(*args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(args)}\n{result.stderr}")


for model in models:
    name = os.path.splitext(os.path.basename(model))[0]
    for batch in (1, 3):
        mlir = os.path.join(work, f"{name}.{batch}.mlir")
        run("adagp-translate", "--import-onnx", model, "--batch-size", str(batch), "-o", mlir)
    run("adagp-opt", mlir, "--canonicalize", "-o", mlir + ".canon.mlir")
    exported = os.path.join(work, f"{name}.onnx")
    run("adagp-translate", "--export-onnx", mlir, "-o", exported)
    again = os.path.join(work, f"{name}.again.mlir")
    run("adagp-translate", "--import-onnx", exported, "--batch-size", "3", "-o", again)
    with open(mlir) as a, open(again) as b:
        if a.read() != b.read():
            sys.exit(f"FAILED: {name}: re-importing the exported model changes the IR")
    print(f"ok {name}")
print(f"{len(models)} models")
