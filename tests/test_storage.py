"""Atomic writes: a failure at any point leaves the old file and no stray temp file."""
import pytest

from core.storage import write_atomic, write_bytes_atomic


def test_a_failed_rename_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "x.json"
    write_bytes_atomic(target, b"old")
    monkeypatch.setattr("os.replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_a_writer_that_fails_halfway_leaves_the_old_file(tmp_path):
    target = tmp_path / "w.safetensors"
    write_bytes_atomic(target, b"old")

    def half(tmp):
        tmp.write_bytes(b"ne")
        raise RuntimeError("crashed mid-write")

    with pytest.raises(RuntimeError):
        write_atomic(target, half)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]
