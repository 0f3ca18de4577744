"""Checksum comparison names every kind of damage exactly."""
import hashlib

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.checksums import (
    compare_files,
    file_entries,
    walk_files,
)


def make_tree(root):
    (root / "db").mkdir()
    (root / "db" / "toc.dat").write_bytes(b"table of contents")
    (root / "db" / "1234.dat.gz").write_bytes(b"x" * 5000)
    (root / "manifest.json").write_text("{}")
    return file_entries(str(root), ["db/1234.dat.gz", "db/toc.dat"])


def test_entries_hold_real_sizes_and_sha256(tmp_path):
    entries = make_tree(tmp_path)
    assert entries[0] == {"path": "db/1234.dat.gz", "size": 5000,
                          "sha256": hashlib.sha256(b"x" * 5000).hexdigest()}
    assert walk_files(str(tmp_path)) == ["db/1234.dat.gz", "db/toc.dat", "manifest.json"]


def test_an_intact_tree_has_no_problems(tmp_path):
    entries = make_tree(tmp_path)
    assert compare_files(str(tmp_path), entries, ignore=("manifest.json",)) == []


def test_a_flipped_byte_is_a_sha256_mismatch(tmp_path):
    entries = make_tree(tmp_path)
    data = bytearray((tmp_path / "db" / "1234.dat.gz").read_bytes())
    data[2500] ^= 0x01
    (tmp_path / "db" / "1234.dat.gz").write_bytes(bytes(data))
    problems = compare_files(str(tmp_path), entries, ignore=("manifest.json",))
    assert len(problems) == 1
    assert problems[0].startswith("db/1234.dat.gz: sha256 mismatch")


def test_truncated_missing_and_unexpected_files_are_each_named(tmp_path):
    entries = make_tree(tmp_path)
    with open(tmp_path / "db" / "1234.dat.gz", "r+b") as handle:
        handle.truncate(100)
    (tmp_path / "db" / "toc.dat").unlink()
    (tmp_path / "db" / "stray.dat").write_bytes(b"?")
    problems = compare_files(str(tmp_path), entries, ignore=("manifest.json",))
    assert "db/1234.dat.gz: truncated, 100 bytes on disk, manifest says 5000" in problems
    assert "db/toc.dat: missing (manifest lists 17 bytes)" in problems
    assert "db/stray.dat: not in the manifest" in problems
    assert len(problems) == 3
