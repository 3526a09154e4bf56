"""Loads a library written by `adagp-compile --target=cpu` with dlopen
(ctypes) and checks what its header promises, with numbers.

  aot_check.py forward LIB PREFIX X.npy REF.npy [--classifier W B]
      <prefix>_forward(X) equals REF (adagp-run's logits) within a
      tolerance; the parameter table is consistent; set/get by name work
      (zeroing the classifier W, B gives the expected logits, restoring it
      gives REF again); status codes; thread count; concurrent calls.
  aot_check.py train LIB PREFIX X.npy LABELS.npy REF.npy STEPS
      the first <prefix>_bp_step's loss is the cross-entropy of REF (the
      forward pass before any update); the loss falls over STEPS steps; the
      step counter and the weights change; eval_step agrees with forward.
Prints one line per check, for FileCheck; exits 1 on the first failure.
"""

import ctypes
import os
import sys
import threading

import numpy as np


class Parameter(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_char_p),
                ("rank", ctypes.c_int64),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("num_elements", ctypes.c_int64),
                ("num_bytes", ctypes.c_int64), ("data", ctypes.c_void_p)]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def ptr(array):
    assert array.flags["C_CONTIGUOUS"]
    return array.ctypes.data_as(ctypes.c_void_p)


def close(a, b, what, rtol=1e-5, atol=1e-5):
    error = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    if not np.all(np.isfinite(a)) or error > atol + rtol * scale:
        fail("%s: max |difference| %g (scale %g)" % (what, error, scale))
    return error


class Library:
    def __init__(self, path, prefix):
        self.lib = ctypes.CDLL(os.path.abspath(path), mode=os.RTLD_NOW)
        self.prefix = prefix
        f = self.fn
        f("num_parameters", ctypes.c_int64, [])
        f("parameters", ctypes.POINTER(Parameter), [])
        f("find_parameter", ctypes.POINTER(Parameter), [ctypes.c_char_p])
        for which in ("set", "get"):
            f(which + "_parameter", ctypes.c_int,
              [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t])
        f("set_num_threads", None, [ctypes.c_int])
        f("get_num_threads", ctypes.c_int, [])

    def fn(self, name, restype, argtypes):
        function = getattr(self.lib, self.prefix + "_" + name)
        function.restype = restype
        function.argtypes = argtypes
        setattr(self, name, function)
        return function

    def params(self):
        table = self.parameters()
        return [table[i] for i in range(self.num_parameters())]

    def get(self, name):
        p = self.find_parameter(name.encode())
        if not p:
            fail("no parameter " + name)
        dtype = np.dtype("<" + p.contents.dtype.decode())
        shape = [p.contents.shape[d] for d in range(p.contents.rank)]
        out = np.empty(shape, dtype)
        status = self.get_parameter(name.encode(), ptr(out), out.nbytes)
        if status != 0:
            fail("get_parameter(%s) returned %d" % (name, status))
        return out

    def set(self, name, value):
        status = self.set_parameter(name.encode(), ptr(value), value.nbytes)
        if status != 0:
            fail("set_parameter(%s) returned %d" % (name, status))


def check_table(lib):
    params = lib.params()
    names = [p.name.decode() for p in params]
    if len(set(names)) != len(names):
        fail("parameter names are not unique")
    sizes = {"f4": 4, "f8": 8, "i4": 4, "i8": 8}
    for p in params:
        shape = [p.shape[d] for d in range(p.rank)]
        if int(np.prod(shape)) != p.num_elements or \
                p.num_elements * sizes[p.dtype.decode()] != p.num_bytes:
            fail("inconsistent descriptor for " + p.name.decode())
        found = lib.find_parameter(p.name)
        if not found or found.contents.data != p.data:
            fail("find_parameter(%s) is not its table entry" % p.name)
        # get_parameter reads the memory the descriptor points at.
        direct = np.ctypeslib.as_array(
            ctypes.cast(p.data, ctypes.POINTER(ctypes.c_uint8)),
            (p.num_bytes,)).copy()
        copied = np.empty(p.num_bytes, np.uint8)
        lib.get_parameter(p.name, ptr(copied), copied.nbytes)
        if not np.array_equal(direct, copied):
            fail("get_parameter(%s) differs from its data" % p.name)
    if lib.find_parameter(b"no.such.parameter"):
        fail("find_parameter found a parameter that does not exist")
    buf = np.zeros(1, np.float32)
    codes = (lib.set_parameter(b"no.such.parameter", ptr(buf), 4),
             lib.set_parameter(params[0].name, ptr(buf), 1),
             lib.get_parameter(params[0].name, None, params[0].num_bytes))
    if codes != (-1, -2, -3):
        fail("status codes %s, expected (-1, -2, -3)" % (codes,))
    total = sum(p.num_elements for p in params)
    print("table: %d globals, %d values, names unique, sizes consistent, "
          "status codes -1 -2 -3" % (len(params), total))


def forward_check(args):
    lib = Library(args[0], args[1])
    x, ref = np.load(args[2]), np.load(args[3])
    forward = lib.fn("forward", None, [ctypes.c_void_p, ctypes.c_void_p])
    lib.set_num_threads(2)
    if lib.get_num_threads() != 2:
        fail("get_num_threads() = %d after set_num_threads(2)" %
             lib.get_num_threads())
    out = np.full(ref.shape, np.nan, np.float32)
    forward(ptr(x), ptr(out))
    error = close(out, ref, "forward vs adagp-run")
    print("forward: %s matches adagp-run, max error %.3g" %
          (list(out.shape), error))
    check_table(lib)

    if "--classifier" in args:
        i = args.index("--classifier")
        weight, bias = args[i + 1], args[i + 2]
        w0, b0 = lib.get(weight), lib.get(bias)
        lib.set(weight, np.zeros_like(w0))
        lib.set(bias, np.arange(b0.size, dtype=np.float32))
        forward(ptr(x), ptr(out))
        expected = np.broadcast_to(np.arange(b0.size, dtype=np.float32),
                                   out.shape)
        close(out, expected, "forward with the classifier replaced", 0, 0)
        lib.set(weight, w0)
        lib.set(bias, b0)
        forward(ptr(x), ptr(out))
        close(out, ref, "forward with the classifier restored")
        print("set_parameter: replaced classifier gives the bias as logits; "
              "restored gives adagp-run's logits")

    # Calls from two threads at once are serialised by the library's lock;
    # both must see the model as it is.
    outs = [np.zeros_like(ref) for _ in range(4)]

    def worker(k):
        for _ in range(3):
            forward(ptr(x), ptr(outs[k]))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        close(outs[k], ref, "concurrent forward #%d" % k)
    print("concurrent calls from 4 threads: all match")


def cross_entropy(logits, labels):
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def train_check(args):
    lib = Library(args[0], args[1])
    x, labels, ref = np.load(args[2]), np.load(args[3]), np.load(args[4])
    steps = int(args[5])
    vp = ctypes.c_void_p
    bp_step = lib.fn("bp_step", None, [vp, vp, vp])
    eval_step = lib.fn("eval_step", None, [vp, vp])
    forward = lib.fn("forward", None, [vp, vp])
    check_table(lib)
    names = [p.name.decode() for p in lib.params()]
    trained = [n for n in names if n.endswith(".weight")][-1]
    w0 = lib.get(trained)
    loss = np.zeros((), np.float32)
    losses = []
    for _ in range(steps):
        bp_step(ptr(x), ptr(labels), ptr(loss))
        losses.append(float(loss))
    expected = cross_entropy(ref, labels)
    if abs(losses[0] - expected) > 1e-4 * max(1.0, abs(expected)):
        fail("first loss %.6f, cross-entropy of adagp-run's logits %.6f" %
             (losses[0], expected))
    print("bp_step: first loss %.4f = cross-entropy of adagp-run's logits" %
          losses[0])
    if not all(np.isfinite(losses)) or not losses[-1] < 0.5 * losses[0]:
        fail("the loss did not fall: %s" % losses)
    print("bp_step: loss falls from %.4f to %.4f in %d steps" %
          (losses[0], losses[-1], steps))
    step = lib.get("train.step")
    if int(step) != steps:
        fail("train.step is %d after %d steps" % (int(step), steps))
    if np.array_equal(lib.get(trained), w0):
        fail(trained + " did not change")
    print("state: train.step = %d, %s updated" % (int(step), trained))
    a = np.zeros_like(ref)
    b = np.zeros_like(ref)
    eval_step(ptr(x), ptr(a))
    forward(ptr(x), ptr(b))
    close(a, b, "eval_step vs forward")
    print("eval_step: equals forward with the trained weights, loss %.4f" %
          cross_entropy(a, labels))


if __name__ == "__main__":
    modes = {"forward": forward_check, "train": train_check}
    if len(sys.argv) < 2 or sys.argv[1] not in modes:
        fail(__doc__)
    modes[sys.argv[1]](sys.argv[2:])
