"""Encryption at rest: round trip, and every tampering is caught, never silently restored."""
import base64
import os

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup import encryption
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.encryption import (
    Cipher,
    cipher_for_backup,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import (
    BadInput,
    VerificationFailed,
)


@pytest.fixture
def small_chunks(monkeypatch):
    # Several chunks from a small file, so chunk order and truncation are exercised.
    monkeypatch.setattr(encryption, "CHUNK", 1000)


def roundtrip(cipher, tmp_path, data):
    plain, sealed, back = tmp_path / "plain", tmp_path / "sealed", tmp_path / "back"
    plain.write_bytes(data)
    cipher.encrypt_file(str(plain), str(sealed))
    cipher.decrypt_file(str(sealed), str(back))
    return sealed, back.read_bytes()


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 4567])
def test_round_trip_of_any_size(tmp_path, small_chunks, size):
    data = os.urandom(size)
    sealed, back = roundtrip(Cipher.from_options(passphrase="correct horse"), tmp_path, data)
    assert back == data
    # The plaintext does not show through (below 16 bytes a random match in the ciphertext is chance).
    assert size < 16 or data not in sealed.read_bytes()


def test_a_flipped_byte_fails_authentication(tmp_path, small_chunks):
    cipher = Cipher.from_options(passphrase="pw")
    sealed, _ = roundtrip(cipher, tmp_path, os.urandom(3000))
    raw = bytearray(sealed.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    sealed.write_bytes(bytes(raw))
    with pytest.raises(VerificationFailed, match="fails authentication"):
        cipher.decrypt_file(str(sealed), str(tmp_path / "out"))


def test_dropping_the_last_chunk_is_detected(tmp_path, small_chunks):
    cipher = Cipher.from_options(passphrase="pw")
    sealed, _ = roundtrip(cipher, tmp_path, os.urandom(2500))
    raw = sealed.read_bytes()
    last_chunk = 4 + 500 + 16
    sealed.write_bytes(raw[:-last_chunk])
    with pytest.raises(VerificationFailed, match="truncated"):
        cipher.decrypt_file(str(sealed), str(tmp_path / "out"))


def test_the_manifest_entry_reopens_with_the_passphrase_and_rejects_another(tmp_path):
    cipher = Cipher.from_options(passphrase="s3cret")
    manifest = {"type": "database", "id": "X", "encryption": cipher.describe()}
    assert "s3cret" not in str(manifest)
    assert cipher_for_backup(manifest, passphrase="s3cret").key == cipher.key
    with pytest.raises(BadInput, match="does not open backup database/X"):
        cipher_for_backup(manifest, passphrase="wrong")
    with pytest.raises(BadInput, match="is encrypted"):
        cipher_for_backup(manifest)


def test_raw_keys_must_be_32_bytes_of_base64():
    good = base64.b64encode(os.urandom(32)).decode()
    assert len(Cipher.from_options(key=good).key) == 32
    for bad in ("short", base64.b64encode(b"x" * 16).decode(), "!!!"):
        with pytest.raises(BadInput, match="32 random bytes"):
            Cipher.from_options(key=bad)


def test_a_clear_backup_needs_no_key():
    assert cipher_for_backup({"type": "models", "id": "Y", "encryption": None}, passphrase="pw") is None
