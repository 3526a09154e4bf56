#!/usr/bin/python3
"""PyTorch reference for adagp: inputs, forward, gradients, training and array comparison.

Every model is run through ``onnx_torch.OnnxModule`` (an ONNX interpreter on PyTorch), so this
works for any ONNX model the importer accepts, not only the zoo. Arrays are NumPy ``.npy`` files.

  ref.py gen-input MODEL --batch N --seed S -o x.npy [--labels y.npy]
  ref.py forward   MODEL --input x.npy -o logits.npy
  ref.py grads     MODEL --inputs x.npy --labels y.npy -o DIR [--dtype float32|float64]
  ref.py train     MODEL --dataset fashion-mnist --epochs E --batch-size B --lr LR ...
  ref.py compare   A.npy B.npy [--tol T]
  ref.py compare-dir DIR_A DIR_B [--tol T] [--floor F]

``forward`` and ``grads`` use the training-mode forward (BatchNorm with batch statistics) with
Dropout disabled, because the two implementations' random numbers differ. They also turn off
PyTorch's oneDNN (mkldnn) CPU kernels: in Debian's torch 1.13 their float32 parameter gradients of
BatchNorm networks are only 1e-4..1e-2 accurate (resnet20, batch 8), against ~1e-6 for the native
kernels. ``train`` keeps PyTorch's defaults (oneDNN on, about twice as fast), since it is the speed
and accuracy baseline rather than a bit-level reference.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402
import onnx_torch  # noqa: E402

EVAL_BATCH = 1000


def _input_shape(module):
    """The per-image input shape (batch dimension dropped); every other dim must be static."""
    shape = module.input_shapes[0][1:]
    if any(d is None for d in shape):
        raise SystemExit(f"input {module.input_names[0]} has symbolic non-batch dims: {shape}")
    return shape


def _num_classes(module):
    """Logits width: from the graph's output shape, else from an inference run on zeros."""
    width = module.output_shapes[0][-1] if module.output_shapes[0] else None
    if width is None:
        module.eval()
        with torch.no_grad():
            width = module(torch.zeros(2, *_input_shape(module))).shape[-1]
    return width


def _array_file(directory, name):
    """``DIR/<initializer name>.npy``; a path separator in the name is written as %2F."""
    return os.path.join(directory, name.replace(os.sep, "%2F") + ".npy")


def cmd_gen_input(args):
    module = onnx_torch.OnnxModule(args.model)
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.batch, *_input_shape(module)), dtype=np.float32)
    np.save(args.output, x)
    print(f"{args.output}: {x.shape} float32")
    if args.labels:
        y = rng.integers(0, _num_classes(module), size=args.batch, dtype=np.int64)
        np.save(args.labels, y)
        print(f"{args.labels}: {y.shape} int64")


def cmd_forward(args):
    torch.backends.mkldnn.enabled = False  # see the module docstring
    module = onnx_torch.OnnxModule(args.model, dropout=False).train()
    x = torch.from_numpy(np.load(args.input).astype(np.float32))
    with torch.no_grad():
        logits = module(x)
    np.save(args.output, logits.numpy().astype(np.float32))
    print(f"{args.output}: {tuple(logits.shape)} float32")


def cmd_grads(args):
    torch.backends.mkldnn.enabled = False  # see the module docstring
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
    module = onnx_torch.OnnxModule(args.model, dropout=False).to(dtype).train()
    x = torch.from_numpy(np.load(args.inputs)).to(dtype)
    y = torch.from_numpy(np.load(args.labels)).long()
    loss = F.cross_entropy(module(x), y)
    loss.backward()
    os.makedirs(args.output, exist_ok=True)
    params = module.onnx_parameters()
    for name, param in params.items():
        np.save(_array_file(args.output, name), param.grad.numpy().astype(np.float32))
    print(f"loss {loss.item():.10g}; {len(params)} gradients in {args.output}")
    if args.running_stats:
        os.makedirs(args.running_stats, exist_ok=True)
        for name, value in module.onnx_buffers().items():
            np.save(_array_file(args.running_stats, name), value.numpy().astype(np.float32))
        print(f"{len(module.onnx_buffers())} updated running statistics in {args.running_stats}")


def _evaluate(module, images, labels, shape):
    """(mean loss, accuracy) with inference-mode BatchNorm and no Dropout."""
    module.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(labels), EVAL_BATCH):
            x = torch.from_numpy(fashion_mnist.preprocess(images[start:start + EVAL_BATCH], shape))
            y = torch.from_numpy(labels[start:start + EVAL_BATCH])
            logits = module(x)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(dim=1) == y).sum().item()
    return total_loss / len(labels), correct / len(labels)


def cmd_train(args):
    """SGD training on Fashion-MNIST; see fashion_mnist.py for the data pipeline.

    Each epoch visits the training images in ``fashion_mnist.epoch_permutation(n, seed, epoch)``
    order in full batches (an incomplete last batch is dropped, as a compiled static-shape trainer
    does). ``train_loss`` is the mean of the batch losses; ``seconds`` and ``images_per_second``
    cover the training part of the epoch only, not the test evaluation.
    """
    torch.manual_seed(args.seed)  # Dropout masks
    module = onnx_torch.OnnxModule(args.model)
    shape = _input_shape(module)
    # Raw uint8 images are kept and preprocessed per batch (the 3x32x32 float32 training set
    # would take 737 MB).
    train_x, train_y = fashion_mnist.load_raw("train", args.data_dir)
    test_x, test_y = fashion_mnist.load_raw("test", args.data_dir)
    if args.train_images:
        train_x, train_y = train_x[:args.train_images], train_y[:args.train_images]
    if args.test_images:
        test_x, test_y = test_x[:args.test_images], test_y[:args.test_images]
    optimizer = torch.optim.SGD(module.onnx_parameters().values(), lr=args.lr,
                                momentum=args.momentum, weight_decay=args.weight_decay)
    batches = len(train_y) // args.batch_size
    if batches == 0:
        raise SystemExit(f"batch size {args.batch_size} exceeds the {len(train_y)} training images")
    metrics = open(args.metrics, "w") if args.metrics else None
    print(f"{args.model}: {len(train_y)} training images, {batches} batches of "
          f"{args.batch_size}, {len(test_y)} test images, input {shape}")
    for epoch in range(args.epochs):
        order = fashion_mnist.epoch_permutation(len(train_y), args.seed, epoch)
        module.train()
        start = time.perf_counter()
        loss_sum = 0.0
        for b in range(batches):
            index = order[b * args.batch_size:(b + 1) * args.batch_size]
            x = torch.from_numpy(fashion_mnist.preprocess(train_x[index], shape))
            y = torch.from_numpy(train_y[index])
            loss = F.cross_entropy(module(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item()
        seconds = time.perf_counter() - start
        test_loss, test_accuracy = _evaluate(module, test_x, test_y, shape)
        record = {"epoch": epoch + 1, "train_loss": loss_sum / batches, "test_loss": test_loss,
                  "test_accuracy": test_accuracy, "seconds": seconds,
                  "images_per_second": batches * args.batch_size / seconds}
        print(f"epoch {epoch + 1}/{args.epochs}  train_loss {record['train_loss']:.4f}  "
              f"test_loss {test_loss:.4f}  test_accuracy {test_accuracy:.4f}  "
              f"{seconds:.1f} s  {record['images_per_second']:.0f} images/s", flush=True)
        if metrics:
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
    if metrics:
        metrics.close()


def relative_error(a, b, floor=0.0):
    """||a - b|| / max(||b||, floor) in float64 (b is the reference)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denominator = max(float(np.linalg.norm(b)), floor)
    difference = float(np.linalg.norm(a - b))
    return difference / denominator if denominator > 0 else difference


def cmd_compare(args):
    a, b = np.load(args.a), np.load(args.b)
    if a.shape != b.shape:
        print(f"shape mismatch: {args.a} {a.shape} vs {args.b} {b.shape}")
        return 1
    error = relative_error(a, b)
    status = "ok" if error <= args.tol else "FAIL"
    print(f"relative L2 error {error:.3e} (tol {args.tol:g}) {status}")
    return 0 if error <= args.tol else 1


def cmd_compare_dir(args):
    """Per-array relative L2 error of DIR_A against DIR_B (the reference).

    Denominators are floored at ``--floor`` times the largest reference norm in the directory:
    gradients that are zero in exact arithmetic (a bias feeding a BatchNorm) come out as rounding
    noise, whose plain relative error is meaningless.
    """
    names_a = {f for f in os.listdir(args.dir_a) if f.endswith(".npy")}
    names_b = {f for f in os.listdir(args.dir_b) if f.endswith(".npy")}
    failed = False
    for label, missing in ((args.dir_b, names_a - names_b), (args.dir_a, names_b - names_a)):
        for name in sorted(missing):
            print(f"missing from {label}: {name}")
            failed = True
    arrays = {n: (np.load(os.path.join(args.dir_a, n)), np.load(os.path.join(args.dir_b, n)))
              for n in sorted(names_a & names_b)}
    largest = max((float(np.linalg.norm(b.astype(np.float64))) for _, b in arrays.values()),
                  default=0.0)
    floor = args.floor * largest
    width = max((len(n) for n in arrays), default=4) - 4
    print(f"{'name':{width}s}  {'shape':>18s}  {'|a|':>10s}  {'|b|':>10s}  {'rel err':>9s}")
    worst = 0.0
    for name, (a, b) in arrays.items():
        if a.shape != b.shape:
            print(f"{name[:-4]:{width}s}  shape mismatch {a.shape} vs {b.shape}")
            failed = True
            continue
        error = relative_error(a, b, floor)
        worst = max(worst, error)
        flag = "" if error <= args.tol else "  FAIL"
        print(f"{name[:-4]:{width}s}  {str(a.shape):>18s}  {np.linalg.norm(a):10.3e}  "
              f"{np.linalg.norm(b):10.3e}  {error:9.2e}{flag}")
        failed |= error > args.tol
    print(f"{len(arrays)} arrays, worst relative error {worst:.3e} (tol {args.tol:g}, floor "
          f"{args.floor:g} x largest norm): {'FAIL' if failed else 'ok'}")
    return 1 if failed else 0


def main():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=1,
                        help="PyTorch intra-op threads (default 1: the machine is shared)")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("gen-input", parents=[common],
                       help="deterministic N(0,1) float32 inputs and int64 labels")
    p.add_argument("model")
    p.add_argument("--batch", type=int, required=True, help="value bound to the batch dimension")
    p.add_argument("--seed", type=int, default=0, help="NumPy PCG64 seed")
    p.add_argument("-o", "--output", required=True, help="inputs .npy")
    p.add_argument("--labels", help="also write labels in [0, classes) to this .npy")
    p.set_defaults(run=cmd_gen_input)

    p = sub.add_parser("forward", parents=[common],
                       help="training-mode forward (batch statistics, no Dropout), float32")
    p.add_argument("model")
    p.add_argument("--input", required=True, help="inputs .npy")
    p.add_argument("-o", "--output", required=True, help="logits .npy")
    p.set_defaults(run=cmd_forward)

    p = sub.add_parser("grads", parents=[common],
                       help="gradients of the mean softmax cross-entropy w.r.t. every parameter")
    p.add_argument("model")
    p.add_argument("--inputs", required=True, help="inputs .npy")
    p.add_argument("--labels", required=True, help="int labels .npy")
    p.add_argument("-o", "--output", required=True, help="directory for <initializer>.npy files")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64",
                   help="compute precision (default float64; files are float32)")
    p.add_argument("--running-stats", metavar="DIR",
                   help="also write the BatchNorm running statistics after the forward here")
    p.set_defaults(run=cmd_grads)

    p = sub.add_parser("train", parents=[common], help="SGD training on Fashion-MNIST")
    p.add_argument("model")
    p.add_argument("--dataset", choices=["fashion-mnist"], default="fashion-mnist")
    p.add_argument("--data-dir", default=fashion_mnist.DATA_DIR)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0, help="shuffling and Dropout seed")
    p.add_argument("--metrics", help="JSON Lines file, one record per epoch")
    p.add_argument("--train-images", type=int, help="use only the first N training images")
    p.add_argument("--test-images", type=int, help="use only the first N test images")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("compare", help="relative L2 error of A against reference B")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tol", type=float, default=1e-3)
    p.set_defaults(run=cmd_compare, threads=None)

    p = sub.add_parser("compare-dir", help="relative L2 error per .npy of DIR_A against DIR_B")
    p.add_argument("dir_a")
    p.add_argument("dir_b")
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--floor", type=float, default=1e-3,
                   help="denominator floor, as a fraction of the largest reference norm")
    p.set_defaults(run=cmd_compare_dir, threads=None)

    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
