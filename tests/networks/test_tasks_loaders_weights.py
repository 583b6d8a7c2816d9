"""Tasks, the file loaders (written here in each format) and weights on disk."""

import gzip
import struct

import numpy as np
import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.networks
pytest.importorskip("safetensors")

from defendability.errors import ParameterError  # noqa: E402
from defendability.networks.architecture import Architecture  # noqa: E402
from defendability.networks.loaders import load_cifar10, load_mnist, load_npz, read_idx  # noqa: E402
from defendability.networks.tasks import ImageTask, digits_task, synthetic_task  # noqa: E402
from defendability.networks.weights import load_weights, save_weights  # noqa: E402


def test_digits_task_is_ten_classes_on_the_8bit_grid():
    task = digits_task()
    assert task.X_train.shape == (1347, 1, 8, 8) and task.X_test.shape == (450, 1, 8, 8)
    assert task.classes == 10 and set(np.unique(task.y_test)) == set(range(10))
    assert task.X_train.dtype == np.float32 and not task.X_train.flags.writeable
    codes = task.X_train * 255.0
    assert np.allclose(codes, np.rint(codes), atol=1e-4)
    assert digits_task(upsample=3).X_train.shape == (1347, 1, 24, 24)


def test_task_validation_names_the_problem():
    X, y = np.zeros((4, 1, 4, 4)), np.arange(4) % 2
    with pytest.raises(ParameterError, match=r"X_train has values in \[2, 2\], outside \[0, 1\]"):
        ImageTask(X + 2, y, X, y, 2, "t")
    with pytest.raises(ParameterError, match="labels outside"):
        ImageTask(X, y + 5, X, y, 2, "t")
    with pytest.raises(ParameterError, match="non-finite"):
        ImageTask(np.full((4, 1, 4, 4), np.nan), y, X, y, 2, "t")
    with pytest.raises(ParameterError, match="shape"):
        ImageTask(X[:, 0], y, X, y, 2, "t")


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape) + array.tobytes()


def _write_mnist(tmp_path, gz: bool):
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": (np.arange(12) % 10).astype(np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": (np.arange(5) % 10).astype(np.uint8)}
    for name, array in arrays.items():
        raw = _idx(array)
        (tmp_path / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files_load_exactly(tmp_path, gz):
    arrays = _write_mnist(tmp_path, gz)
    task = load_mnist(str(tmp_path))
    assert task.X_train.shape == (12, 1, 28, 28) and task.classes == 10
    np.testing.assert_array_equal(np.rint(task.X_train[:, 0] * 255).astype(np.uint8), arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(task.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_damaged_idx_files_are_refused_in_one_line(tmp_path):
    _write_mnist(tmp_path, gz=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    raw = path.read_bytes()
    path.write_bytes(raw[:-7])
    with pytest.raises(ParameterError, match="IDX header says"):
        load_mnist(str(tmp_path))
    path.write_bytes(b"\x01" + raw[1:])
    with pytest.raises(ParameterError, match="not an IDX file"):
        read_idx(str(path))
    path.write_bytes(raw[:2] + b"\x0d" + raw[3:])
    with pytest.raises(ParameterError, match="type code 0x0d"):
        read_idx(str(path))
    path.write_bytes(raw)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ParameterError, match="t10k-labels-idx1-ubyte: no such file"):
        load_mnist(str(tmp_path))


def test_cifar10_binary_batches_load_exactly(tmp_path):
    rng = np.random.default_rng(1)
    def batch(name, n):
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        pixels = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
        (tmp_path / name).write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
        return labels, pixels
    l1, p1 = batch("data_batch_1.bin", 4)
    l2, p2 = batch("data_batch_2.bin", 3)
    lt, pt = batch("test_batch.bin", 2)
    task = load_cifar10(str(tmp_path))
    assert task.X_train.shape == (7, 3, 32, 32) and task.X_test.shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(task.y_train, np.concatenate([l1, l2]))
    # channel planes: red first, row-major within a plane
    np.testing.assert_array_equal(np.rint(task.X_train[4] * 255).astype(np.uint8).reshape(-1), p2[0])
    (tmp_path / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ParameterError, match="not a whole number of 3073-byte"):
        load_cifar10(str(tmp_path))


def test_npz_tasks_load_and_refuse_pickles(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "task.npz"
    np.savez(path, X_train=rng.integers(0, 256, (6, 5, 5), dtype=np.uint8), y_train=np.arange(6) % 3,
             X_test=rng.random((4, 1, 5, 5)), y_test=np.arange(4) % 3)
    task = load_npz(str(path))
    assert task.classes == 3 and task.X_train.shape == (6, 1, 5, 5) and task.X_test.dtype == np.float32
    objects = tmp_path / "objects.npz"
    np.savez(objects, X_train=np.array([{"a": 1}], dtype=object), y_train=np.arange(1), X_test=np.zeros((1, 2, 2)),
             y_test=np.arange(1))
    with pytest.raises(ParameterError, match="not a readable .npz of plain arrays"):
        load_npz(str(objects))
    missing = tmp_path / "missing.npz"
    np.savez(missing, X_train=np.zeros((2, 3, 3)))
    with pytest.raises(ParameterError, match="missing array"):
        load_npz(str(missing))
    loud = tmp_path / "loud.npz"
    np.savez(loud, X_train=np.full((2, 3, 3), 3.0), y_train=np.arange(2), X_test=np.zeros((1, 3, 3)),
             y_test=np.arange(1))
    with pytest.raises(ParameterError, match=r"floats must lie in \[0, 1\]"):
        load_npz(str(loud))


def test_weights_round_trip_bit_identical_and_damage_is_refused(tmp_path):
    arch = Architecture("cnn", (1, 8, 8), 4, (12,), (4, 8))
    weights = {n: t.numpy() for n, t in arch.initial(5).items()}
    path = tmp_path / "net.safetensors"
    save_weights(path, arch, weights)
    back_arch, back = load_weights(path)
    assert back_arch == arch and list(back) == list(weights)
    assert all(np.array_equal(back[n], weights[n]) and back[n].dtype == np.float32 for n in weights)
    with pytest.raises(ParameterError, match="do not fit"):
        save_weights(tmp_path / "x.safetensors", arch, {**weights, "logits.bias": np.zeros(3, np.float32)})
    # a file whose tensors do not match the architecture it declares
    from safetensors.numpy import save_file
    bad = tmp_path / "bad.safetensors"
    forged = dict(weights, **{"logits.bias": np.zeros(5, np.float32)})
    save_file(forged, str(bad), metadata={"format": "defendability-network/1",
                                           "architecture": __import__("json").dumps(arch.describe())})
    with pytest.raises(ParameterError, match="do not match the declared"):
        load_weights(bad)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ParameterError, match="not a readable safetensors file"):
        load_weights(junk)
    with pytest.raises(ParameterError, match="no such file"):
        load_weights(tmp_path / "absent.safetensors")


def test_synthetic_task_is_reproducible():
    a = synthetic_task(seed=3)
    c = synthetic_task.__wrapped__(seed=3)
    assert a is not c
    assert np.array_equal(a.X_train, c.X_train) and np.array_equal(a.y_test, c.y_test)
