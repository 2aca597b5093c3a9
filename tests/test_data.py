"""Data sources: the official batches, class-folder trees and archives decode to the same uint8 tensors."""
import io
import os
import pickle
import tarfile
import time
import zipfile

import pytest
import torch
from conftest import CLASSES, class_images, write_tree

from core.data import archives, decoding, official
from core.data import sources as data
from core.data.sources import DataError, load
from core.data.store import DatasetStore


def test_python_batches_load_as_uint8_tensors(data_root, tiny_batches):
    d = load(str(tiny_batches))
    assert d.train_x.shape == (60, 3, 32, 32) and d.train_x.dtype == torch.uint8
    assert d.test_x.shape == (30, 3, 32, 32)
    assert d.train_y.dtype == torch.int64 and d.train_y.tolist()[:6] == [0] * 6
    assert d.classes == tuple(CLASSES)
    expected = torch.from_numpy(class_images(3, 6, 0)).permute(0, 3, 1, 2)
    assert torch.equal(d.train_x[18:24], expected)


def test_tree_and_archive_and_batches_agree(data_root, tiny_batches, tiny_tree, tiny_archive):
    a, b, c = load(str(tiny_batches)), load(str(tiny_tree)), load(str(tiny_archive))
    for other in (b, c):
        assert other.classes == a.classes
        assert torch.equal(other.train_x, a.train_x) and torch.equal(other.train_y, a.train_y)
        assert torch.equal(other.test_x, a.test_x)


def test_zip_archive_with_a_wrapping_folder(data_root, tiny_tree, tmp_path):
    path = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(path, "w") as z:
        for f in tiny_tree.rglob("*.png"):
            z.write(f, "cifar/" + f.relative_to(tiny_tree).as_posix())
    assert load(str(path)).class_counts("test") == [3] * 10


def test_second_load_comes_from_the_cache(data_root, tiny_tree, monkeypatch):
    first = load(str(tiny_tree))
    assert list((data_root / "cache").glob("*.safetensors"))
    monkeypatch.setattr(decoding, "decode_images", lambda *a: pytest.fail("decoded again instead of using the cache"))
    second = load(str(tiny_tree))
    assert torch.equal(first.train_x, second.train_x)


def test_a_changed_folder_is_decoded_again(data_root, tmp_path):
    tree = write_tree(tmp_path / "t", per_class=(2, 1))
    assert len(load(str(tree)).train_x) == 20
    (tree / "train" / "cat" / "extra.png").write_bytes((tree / "train" / "cat" / "0000.png").read_bytes())
    os.utime(tree / "train" / "cat", (time.time() + 5, time.time() + 5))
    assert len(load(str(tree)).train_x) == 21


def test_a_damaged_cache_is_rebuilt(data_root, tiny_tree):
    load(str(tiny_tree))
    cache = next((data_root / "cache").glob("*.safetensors"))
    cache.write_bytes(b"garbage")
    assert len(load(str(tiny_tree)).train_x) == 60


def test_environment_variable_sets_the_default_source(data_root, tiny_tree, monkeypatch):
    monkeypatch.setenv("CIFAR10_DATA", str(tiny_tree))
    assert load().source == str(tiny_tree)


def test_official_download_fails_fast_and_names_the_alternatives(data_root, monkeypatch):
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr(CIFAR10, "url", "http://10.255.255.1/cifar-10-python.tar.gz")  # unroutable: would hang
    monkeypatch.setattr(CIFAR10, "mirrors", ["http://10.255.255.1/"], raising=False)
    monkeypatch.setattr(official, "DOWNLOAD_TIMEOUT_S", 2)
    started = time.monotonic()
    with pytest.raises(DataError) as err:
        load("cifar10")
    assert time.monotonic() - started < 30
    message = str(err.value)
    assert "could not download CIFAR-10" in message and "CIFAR10_DATA" in message and "train/<class>/" in message


def test_missing_source_is_named(data_root, tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load(str(tmp_path / "nowhere"))


@pytest.mark.parametrize("name", ["../../etc/evil.png", "/etc/cron.d/evil.png", "train/../../evil.png"])
def test_archive_member_escaping_the_target_is_refused(data_root, tmp_path, name):
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(DataError, match="points outside the archive"):
        load(str(path))


def test_archive_links_are_refused(data_root, tmp_path):
    path = tmp_path / "link.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("train/cat/0.png")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(DataError, match="contains a link"):
        load(str(path))


def test_archive_size_cap(data_root, tiny_archive, monkeypatch):
    monkeypatch.setattr(archives, "MAX_ARCHIVE_BYTES", 1000)
    with pytest.raises(DataError, match="unpacks to more than"):
        load(str(tiny_archive))


def test_class_sets_must_match_between_splits(data_root, tmp_path):
    tree = write_tree(tmp_path / "t", per_class=(1, 1), classes=["cat", "dog"])
    (tree / "test" / "dog").rename(tree / "test" / "wolf")
    with pytest.raises(DataError, match="only in train: dog; only in test: wolf"):
        load(str(tree))


def test_non_image_file_among_images_is_named(data_root, tmp_path):
    tree = write_tree(tmp_path / "t", per_class=(1, 1), classes=["cat", "dog"])
    (tree / "train" / "cat" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"train/cat/notes.txt is not an image"):
        load(str(tree))


def test_corrupt_image_is_named(data_root, tmp_path):
    tree = write_tree(tmp_path / "t", per_class=(1, 1), classes=["cat", "dog"])
    (tree / "train" / "dog" / "0000.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(DataError, match=r"train/dog/0000.png"):
        load(str(tree))


def test_a_malicious_batch_pickle_is_refused(data_root, tmp_path):
    folder = tmp_path / "x" / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > /tmp/pwned",))

    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": Boom()}, f)
    with pytest.raises(DataError, match="refused"):
        load(str(tmp_path / "x"))


def _official_archive(batches_root, out):
    """cifar-10-python.tar.gz as the official release packs it: one cifar-10-batches-py/ folder."""
    with tarfile.open(out, "w:gz") as tar:
        tar.add(batches_root / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return out


def test_the_official_archive_loads_as_it_is_downloaded(data_root, tiny_batches, tmp_path):
    """A hand-downloaded cifar-10-python.tar.gz is read directly, to the same tensors as its unpacked folder."""
    archive = _official_archive(tiny_batches, tmp_path / "cifar-10-python.tar.gz")
    from_archive, from_folder = load(str(archive)), load(str(tiny_batches))
    assert from_archive.classes == tuple(CLASSES)
    for split in ("train", "test"):
        assert torch.equal(from_archive.split(split)[0], from_folder.split(split)[0])
        assert torch.equal(from_archive.split(split)[1], from_folder.split(split)[1])


def test_an_official_archive_with_a_malicious_pickle_is_refused(data_root, tiny_batches, tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > /tmp/pwned-archive",))

    with open(tiny_batches / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({b"data": Boom(), b"labels": []}, f)
    with pytest.raises(DataError, match="refused"):
        load(str(_official_archive(tiny_batches, tmp_path / "evil.tar.gz")))
    assert not os.path.exists("/tmp/pwned-archive")


def test_an_official_archive_missing_its_test_batch_is_named(data_root, tiny_batches, tmp_path):
    (tiny_batches / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DataError, match="test_batch is missing from partial.tar.gz"):
        load(str(_official_archive(tiny_batches, tmp_path / "partial.tar.gz")))


def test_an_official_archive_escaping_its_folder_is_refused(data_root, tiny_batches, tmp_path):
    out = tmp_path / "escape.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(tiny_batches / "cifar-10-batches-py", arcname="cifar-10-batches-py")
        tar.add(tiny_batches / "cifar-10-batches-py" / "test_batch", arcname="../cifar-10-batches-py/test_batch")
    with pytest.raises(DataError, match="points outside the archive"):
        load(str(out))


def test_two_different_uploads_with_the_same_name_stay_apart(data_root, tmp_path):
    """Sources of uploads are keyed by content: two people's cifar.tar.gz never share a dataset."""
    from conftest import tar_of

    one = tar_of(write_tree(tmp_path / "one", per_class=(2, 1), classes=["cat", "dog"]), tmp_path / "one.tar.gz")
    two = tar_of(write_tree(tmp_path / "two", per_class=(3, 1), classes=["ant", "bee", "cow"]), tmp_path / "two.tar.gz")
    store = DatasetStore(data_root)
    a = data.load_archive_bytes(one.read_bytes(), "cifar.tar.gz", data_root)
    store.add(a)
    b = data.load_archive_bytes(two.read_bytes(), "cifar.tar.gz", data_root)
    store.add(b)
    assert a.source != b.source
    assert store.get(a.source).classes == ("cat", "dog") and store.get(b.source).classes == ("ant", "bee", "cow")
    again = data.load_archive_bytes(one.read_bytes(), "renamed.tar.gz", data_root)
    assert again.source == a.source  # same bytes, same source, whatever the file was called


def _slow_store(monkeypatch, data_root, slow_source: str):
    """A store whose `slow_source` blocks in load() until released; other sources load at once."""
    import threading

    release, started, calls = threading.Event(), threading.Event(), []
    real_load = data.load

    def load_(source, root=None, progress=None):
        calls.append(source)
        if source == slow_source:
            started.set()
            assert release.wait(10), "never released"
        return real_load(source, root, progress)

    monkeypatch.setattr(data, "load", load_)
    return DatasetStore(data_root), release, started, calls


def test_a_slow_load_holds_up_no_other_source(data_root, tiny_tree, tiny_batches, monkeypatch):
    import threading

    store, release, started, _ = _slow_store(monkeypatch, data_root, str(tiny_tree))
    waiting = threading.Thread(target=store.get, args=(str(tiny_tree),))
    waiting.start()
    assert started.wait(10)
    other = threading.Thread(target=store.get, args=(str(tiny_batches),))
    other.start()
    other.join(10)
    assert not other.is_alive(), "another source waited for the slow one"
    release.set()
    waiting.join(10)
    assert not waiting.is_alive()


def test_sessions_asking_for_the_same_source_at_once_load_it_once(data_root, tiny_tree, monkeypatch):
    import threading

    store, release, started, calls = _slow_store(monkeypatch, data_root, str(tiny_tree))
    got = []
    threads = [threading.Thread(target=lambda: got.append(store.get(str(tiny_tree)))) for _ in range(3)]
    for t in threads:
        t.start()
    assert started.wait(10)
    release.set()
    for t in threads:
        t.join(10)
    assert calls == [str(tiny_tree)] and len(got) == 3 and got[0] is got[1] is got[2]


def test_a_failed_load_is_reported_to_every_waiter_and_tried_again(data_root, tmp_path):
    store = DatasetStore(data_root)
    missing = tmp_path / "later"
    with pytest.raises(DataError, match="does not exist"):
        store.get(str(missing))
    write_tree(missing, per_class=(1, 1), classes=["cat", "dog"])
    assert store.get(str(missing)).classes == ("cat", "dog")
