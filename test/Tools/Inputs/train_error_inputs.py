"""Writes the bad (and good) inputs of adagp-train-errors.test into a directory:
.npy arrays for --inputs/--labels and small IDX files for --dataset idx:..."""
import gzip
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def save(name, array):
    np.save(os.path.join(out, name), array)


def idx(name, array, compress=False):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if compress else open
    with opener(os.path.join(out, name), "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


save("x.npy", np.zeros((4, 1, 28, 28), np.float32))
save("y.npy", np.array([0, 1, 2, 3], np.int64))
save("y-10.npy", np.array([0, 10, 1, 2], np.int64))
save("y-negative.npy", np.array([0, 1, -1, 2], np.int64))
save("y-three.npy", np.array([0, 1, 2], np.int64))
save("y-int32.npy", np.array([0, 1, 2, 3], np.int32))

rng = np.random.default_rng(0)
idx("train-images", rng.integers(0, 256, (128, 28, 28)))
idx("train-labels", np.arange(128) % 10)
idx("train-labels-11", np.concatenate([np.arange(127) % 10, [11]]))
idx("train-labels-100", np.arange(100) % 10)
idx("test-images.gz", rng.integers(0, 256, (32, 28, 28)), compress=True)
idx("test-labels.gz", np.arange(32) % 10, compress=True)
idx("test-labels-12.gz", np.concatenate([[12], np.arange(31) % 10]),
    compress=True)
