"""Datasets from a user's files, read without pickle: MNIST IDX, CIFAR-10 binary, ``.npz``.

Every problem is one ``ParameterError`` line naming the file and what is wrong; nothing
is downloaded and nothing executes code from a file.

- **MNIST** (``data=mnist,path=DIR``): the four IDX files under their usual names
  (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``), each optionally gzipped (``.gz``). IDX: a big-endian
  header (two zero bytes, the type code 0x08 for unsigned bytes, the number of
  dimensions, then each dimension as a 32-bit integer) followed by the data.
- **CIFAR-10** (``data=cifar10,path=DIR``): the binary version's ``data_batch_1.bin`` ...
  ``data_batch_5.bin`` (those present, at least one) and ``test_batch.bin``; each record
  is one label byte and 3,072 pixel bytes (red, green, blue planes of 32x32).
- **npz** (``data=npz,path=FILE``): arrays ``X_train``, ``y_train``, ``X_test``,
  ``y_test`` (``numpy.load(allow_pickle=False)``); images ``(n, H, W)`` or
  ``(n, C, H, W)``, ``uint8`` (divided by 255) or floats in [0, 1]; labels integers
  from 0; ``classes`` is one more than the largest label.

Pixels of uint8 files become k/255 float32.
"""

from __future__ import annotations

import functools
import gzip
import os
import zipfile

import numpy as np

from ..errors import ParameterError
from .tasks import ImageTask

FORMATS = ("mnist", "cifar10", "npz")

#: Largest file read (bounds memory; the real CIFAR-10 and MNIST are far below).
MAX_BYTES = 1 << 30

MNIST_FILES = {"X_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
               "X_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
CIFAR_RECORD = 1 + 3 * 32 * 32


def _fail(path: str, message: str) -> ParameterError:
    return ParameterError(f"{path}: {message}")


def _read(path: str) -> bytes:
    if not os.path.isfile(path):
        raise _fail(path, "no such file")
    if os.path.getsize(path) > MAX_BYTES:
        raise _fail(path, f"larger than {MAX_BYTES >> 20} MiB")
    with open(path, "rb") as handle:
        raw = handle.read()
    if path.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise _fail(path, f"not a readable gzip file ({err})") from None
    return raw


def read_idx(path: str) -> np.ndarray:
    """The unsigned-byte array of an IDX file (optionally gzipped)."""
    raw = _read(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise _fail(path, "not an IDX file (the first two bytes must be zero)")
    if raw[2] != 0x08:
        raise _fail(path, f"IDX type code {raw[2]:#04x} is not 0x08 (unsigned bytes), the only type MNIST uses")
    ndim = raw[3]
    if ndim < 1 or len(raw) < 4 + 4 * ndim:
        raise _fail(path, f"truncated IDX header ({ndim} dimensions)")
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    body = raw[4 + 4 * ndim:]
    expected = int(np.prod(dims, dtype=np.int64))
    if len(body) != expected:
        raise _fail(path, f"IDX header says {dims} = {expected:,} bytes of data, the file has {len(body):,}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _idx_file(directory: str, name: str) -> str:
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise _fail(os.path.join(directory, name), "no such file (nor .gz)")


def load_mnist(directory: str) -> ImageTask:
    """MNIST (or Fashion-MNIST, same format) from a directory of IDX files."""
    arrays = {key: read_idx(_idx_file(directory, name)) for key, name in MNIST_FILES.items()}
    for split in ("train", "test"):
        X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        where = os.path.join(directory, MNIST_FILES[f"X_{split}"])
        if X.ndim != 3:
            raise _fail(where, f"images must have 3 dimensions (n, H, W), got {X.ndim}")
        if y.shape != (len(X),):
            raise _fail(os.path.join(directory, MNIST_FILES[f"y_{split}"]),
                        f"{y.shape[0] if y.ndim else 0} labels for {len(X)} images")
        if y.max() > 9:
            raise _fail(os.path.join(directory, MNIST_FILES[f"y_{split}"]), f"label {int(y.max())} outside 0..9")
    return ImageTask(arrays["X_train"][:, None] / np.float32(255.0), arrays["y_train"],
                     arrays["X_test"][:, None] / np.float32(255.0), arrays["y_test"], 10, f"mnist from {directory}")


def read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 3, 32, 32)`` uint8 and labels ``(n,)`` of one CIFAR-10 binary batch."""
    raw = _read(path)
    if len(raw) == 0 or len(raw) % CIFAR_RECORD:
        raise _fail(path, f"{len(raw):,} bytes is not a whole number of {CIFAR_RECORD}-byte CIFAR-10 records")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        raise _fail(path, f"label {int(labels.max())} outside 0..9 (is this CIFAR-100?)")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def load_cifar10(directory: str) -> ImageTask:
    """CIFAR-10 from a directory of its binary batches (the training batches present)."""
    train = [os.path.join(directory, f"data_batch_{i}.bin") for i in range(1, 6)]
    train = [p for p in train if os.path.isfile(p)]
    if not train:
        raise _fail(os.path.join(directory, "data_batch_1.bin"), "no such file (no training batch found)")
    parts = [read_cifar_batch(p) for p in train]
    X_test, y_test = read_cifar_batch(os.path.join(directory, "test_batch.bin"))
    X_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return ImageTask(X_train / np.float32(255.0), y_train, X_test / np.float32(255.0), y_test, 10,
                     f"cifar10 from {directory}")


def _images(path: str, name: str, X: np.ndarray) -> np.ndarray:
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4:
        raise _fail(path, f"array {name!r} must be images (n, H, W) or (n, C, H, W), got shape {X.shape}")
    if X.dtype == np.uint8:
        return X / np.float32(255.0)
    if not np.issubdtype(X.dtype, np.floating):
        raise _fail(path, f"array {name!r} must be uint8 or floats in [0, 1], got dtype {X.dtype}")
    bad = np.count_nonzero(~np.isfinite(X))
    if bad:
        raise _fail(path, f"array {name!r} has {bad} non-finite values (nan or inf)")
    if X.min() < 0 or X.max() > 1:
        raise _fail(path, f"array {name!r} has values in [{X.min():g}, {X.max():g}]; floats must lie in [0, 1]")
    return X


def load_npz(path: str) -> ImageTask:
    """A task from an ``.npz`` of plain arrays (see the module docstring)."""
    if not os.path.isfile(path):
        raise _fail(path, "no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise _fail(path, f"not a readable .npz of plain arrays ({err})") from None
    missing = [n for n in ("X_train", "y_train", "X_test", "y_test") if n not in arrays]
    if missing:
        raise _fail(path, f"missing array(s) {', '.join(missing)} (has {', '.join(sorted(arrays)) or 'none'})")
    X = {s: _images(path, f"X_{s}", arrays[f"X_{s}"]) for s in ("train", "test")}
    y = {}
    for s in ("train", "test"):
        labels = arrays[f"y_{s}"]
        if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (len(X[s]),):
            raise _fail(path, f"array 'y_{s}' must be ({len(X[s])},) integers, got {labels.shape} {labels.dtype}")
        if len(labels) and labels.min() < 0:
            raise _fail(path, f"array 'y_{s}' has a negative label")
        y[s] = labels
    classes = int(max(y["train"].max(), y["test"].max())) + 1
    if classes < 2 or classes > 255:
        raise _fail(path, f"labels must span 2 to 255 classes, got {classes}")
    return ImageTask(X["train"], y["train"], X["test"], y["test"], classes, f"npz {os.path.basename(path)}")


@functools.lru_cache(maxsize=4)
def load_task(format: str, path: str) -> ImageTask:
    """A user's task: ``format`` one of :data:`FORMATS`, ``path`` a directory (mnist,
    cifar10) or a file (npz). Cached per (format, path) within a process."""
    if format not in FORMATS:
        raise ParameterError(f"data format must be one of {', '.join(FORMATS)}, got {format!r}")
    return {"mnist": load_mnist, "cifar10": load_cifar10, "npz": load_npz}[format](path)
