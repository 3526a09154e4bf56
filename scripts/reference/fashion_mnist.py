#!/usr/bin/python3
"""Fashion-MNIST loading and preprocessing shared by the PyTorch reference and the C++ trainer.

The C++ trainer (``adagp-train``) must reproduce this module bit for bit, so every step is spelled
out here.

Files
    Debian's IDX files in ``/usr/share/datasets/fashion-mnist``: ``train-images-idx3-ubyte.gz``,
    ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``,
    each gzip-compressed. IDX layout: big-endian uint32 magic ``0x00000803`` (images, uint8, 3 dims)
    or ``0x00000801`` (labels, uint8, 1 dim), then one big-endian uint32 per dimension, then the
    uint8 data in row-major order. 60000 training and 10000 test images of 28x28, labels 0..9.

Preprocessing of one image, in this order
    1. ``x = pixel / 255`` in float32 (values in [0, 1]).
    2. Only for models whose input is 3x32x32: zero-pad the 28x28 [0, 1] image by 2 pixels on every
       side to 32x32 (the padding value is 0.0 *before* normalisation, i.e. black pixels, so the
       border looks like the image background).
    3. ``x = (x - MEAN) / STD`` over the whole (28x28 or 32x32) image, so border pixels become
       ``-MEAN / STD`` (about -0.8103).
    4. Only for 3x32x32 models: replicate the single channel to 3 identical channels.
    Models whose input is 1x28x28 (``mlp``, ``lenet5``) get steps 1 and 3 only.

Normalisation constants
    ``MEAN`` and ``STD`` are the mean and population standard deviation of ``pixel / 255`` over all
    60000 x 784 training pixels, computed in float64 by ``fashion_mnist.py --stats`` (which prints
    them). They are written out here in full so that both implementations use the same numbers.

Shuffling
    ``epoch_permutation`` defines the training order: a Fisher-Yates shuffle driven by SplitMix64,
    simple enough to re-implement in C++ exactly (NumPy's generators are not).
"""

import argparse
import gzip
import os

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN = 0.2860405969887955
STD = 0.35302424451492237
NUM_CLASSES = 10

_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_MASK64 = (1 << 64) - 1


def read_idx(path):
    """Read a gzip-compressed IDX file into a uint8 array of its declared shape."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (header {data[:4].hex()})")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(data) != offset + count:
        raise ValueError(f"{path}: expected {count} bytes of data for shape {dims}, "
                         f"got {len(data) - offset}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_raw(split, data_dir=DATA_DIR):
    """Return ``(images uint8 [n, 28, 28], labels int64 [n])`` of ``split`` ("train" or "test")."""
    image_file, label_file = _SPLIT_FILES[split]
    images = read_idx(os.path.join(data_dir, image_file))
    labels = read_idx(os.path.join(data_dir, label_file)).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def preprocess(images, input_shape):
    """Turn uint8 images [n, 28, 28] into float32 model inputs [n, *input_shape].

    ``input_shape`` is (1, 28, 28) or (3, 32, 32); see the module docstring for the exact steps.
    """
    x = images.astype(np.float32) / np.float32(255.0)
    channels, height, width = input_shape
    if (height, width) == (32, 32):
        x = np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="constant", constant_values=0.0)
    elif (height, width) != (28, 28):
        raise ValueError(f"unsupported input shape {input_shape}: expected 1x28x28 or 3x32x32")
    x = (x - np.float32(MEAN)) / np.float32(STD)
    x = np.repeat(x[:, None, :, :], channels, axis=1)
    return np.ascontiguousarray(x, dtype=np.float32)


def _splitmix64(state):
    """One SplitMix64 step: return ``(new_state, output)``, all arithmetic modulo 2**64."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def epoch_permutation(n, seed, epoch):
    """The order in which training images are visited in ``epoch`` (0-based).

    SplitMix64 seeded with ``state = (seed * 2**32 + epoch) mod 2**64`` drives a Fisher-Yates
    shuffle of ``[0, n)``: for ``i`` from ``n - 1`` down to 1, draw ``r`` (the next SplitMix64
    output), let ``j = r mod (i + 1)`` and swap elements ``i`` and ``j``.
    """
    perm = list(range(n))
    state = ((seed << 32) + epoch) & _MASK64
    for i in range(n - 1, 0, -1):
        state, r = _splitmix64(state)
        j = r % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


def compute_stats(data_dir=DATA_DIR):
    """Mean and population standard deviation of ``pixel / 255`` over the training images."""
    images, _ = load_raw("train", data_dir)
    x = images.astype(np.float64) / 255.0
    return float(x.mean()), float(x.std())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stats", action="store_true",
                        help="recompute MEAN and STD from the training images and print them")
    parser.add_argument("--data-dir", default=DATA_DIR, help="directory of the IDX .gz files")
    args = parser.parse_args()
    if args.stats:
        mean, std = compute_stats(args.data_dir)
        print(f"MEAN = {mean!r}\nSTD = {std!r}")
        if (mean, std) != (MEAN, STD):
            print("warning: differs from the constants in this module")
    else:
        for split in ("train", "test"):
            images, labels = load_raw(split, args.data_dir)
            print(f"{split}: {images.shape[0]} images {images.shape[1:]}, "
                  f"labels {np.bincount(labels, minlength=NUM_CLASSES).tolist()}")


if __name__ == "__main__":
    main()
