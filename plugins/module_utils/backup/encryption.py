# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encryption at rest: AES-256-GCM in authenticated 1 MiB chunks, key from a passphrase by scrypt.

File layout: MAGIC, an 8-byte random nonce prefix, then chunks of (4-byte length, ciphertext+tag).
Chunk n uses nonce prefix||n and the associated data says whether it is the last chunk, so a
reordered, truncated or altered file fails to decrypt instead of restoring wrong data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import os
import struct

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported through missing_required_lib
    HAS_CRYPTOGRAPHY = False

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import (
    BadInput,
    VerificationFailed,
)

MAGIC = b"PYNBAK1\n"
SUFFIX = ".enc"
CHUNK = 1024 * 1024
SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}
_KEY_CHECK = b"pynomaly.incident_response backup key check"


class Cipher(object):
    """A 256-bit key and the manifest entry that lets a later run check it has the same key."""

    def __init__(self, key, kdf):
        self.key = key
        self.kdf = kdf
        self._aead = AESGCM(key)

    @classmethod
    def from_options(cls, passphrase=None, key=None, kdf=None):
        """New cipher (kdf None: fresh salt) or the one a manifest describes; None when no secret is given."""
        if not passphrase and not key:
            return None
        if key:
            try:
                raw = base64.b64decode(key, validate=True)
            except (ValueError, TypeError):
                raw = b""
            if len(raw) != 32:
                raise BadInput("encryption_key must be 32 random bytes in base64 (e.g. openssl rand -base64 32)")
            return cls(raw, {"kdf": "none"})
        if not kdf or kdf.get("kdf") != "scrypt":
            kdf = dict(SCRYPT, kdf="scrypt", salt=base64.b64encode(os.urandom(16)).decode())
        derived = Scrypt(salt=base64.b64decode(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"],
                         p=kdf["p"]).derive(passphrase.encode("utf-8"))
        return cls(derived, kdf)

    @property
    def key_id(self):
        return hmac.new(self.key, _KEY_CHECK, hashlib.sha256).hexdigest()[:16]

    def describe(self):
        return dict(self.kdf, cipher="AES-256-GCM", chunk_bytes=CHUNK, key_id=self.key_id)

    def encrypt_file(self, source, target):
        prefix = os.urandom(8)
        with open(source, "rb") as src, open(target, "wb") as dst:
            dst.write(MAGIC + prefix)
            counter = 0
            block = src.read(CHUNK)
            while True:
                following = src.read(CHUNK) if block else b""
                last = not following
                sealed = self._aead.encrypt(prefix + struct.pack(">I", counter), block, b"\x01" if last else b"\x00")
                dst.write(struct.pack(">I", len(sealed)) + sealed)
                if last:
                    break
                block, counter = following, counter + 1
            dst.flush()
            os.fsync(dst.fileno())

    def decrypt_stream(self, source):
        """Yield the plaintext chunks of an encrypted file; raise VerificationFailed on any tampering."""
        with open(source, "rb") as src:
            head = src.read(len(MAGIC) + 8)
            if head[:len(MAGIC)] != MAGIC:
                raise VerificationFailed("%s: not an encrypted backup file" % os.path.basename(source))
            prefix, counter = head[len(MAGIC):], 0
            while True:
                size = src.read(4)
                if len(size) != 4:
                    raise VerificationFailed("%s: encrypted file is truncated" % os.path.basename(source))
                sealed = src.read(struct.unpack(">I", size)[0])
                nonce = prefix + struct.pack(">I", counter)
                try:
                    try:
                        yield self._aead.decrypt(nonce, sealed, b"\x00")
                    except InvalidTag:
                        yield self._aead.decrypt(nonce, sealed, b"\x01")
                        if src.read(1):
                            raise VerificationFailed("%s: data after the last encrypted chunk"
                                                     % os.path.basename(source)) from None
                        return
                except InvalidTag:
                    raise VerificationFailed("%s: chunk %d fails authentication (corrupt or wrong key)"
                                             % (os.path.basename(source), counter)) from None
                counter += 1

    def decrypt_file(self, source, target):
        with open(target, "wb") as dst:
            for block in self.decrypt_stream(source):
                dst.write(block)


def cipher_for_backup(manifest, passphrase=None, key=None):
    """The cipher that opens an existing backup; None for a clear backup; BadInput when the key is absent or wrong."""
    described = manifest.get("encryption")
    if not described:
        return None
    if not passphrase and not key:
        raise BadInput("backup %s/%s is encrypted: give encryption_passphrase or encryption_key"
                       % (manifest["type"], manifest["id"]))
    if described.get("kdf") == "none" and not key:
        raise BadInput("backup %s/%s was encrypted with a raw key: give encryption_key"
                       % (manifest["type"], manifest["id"]))
    cipher = Cipher.from_options(passphrase=None if key else passphrase, key=key, kdf=described)
    if cipher.key_id != described.get("key_id"):
        raise BadInput("the encryption key or passphrase given does not open backup %s/%s"
                       % (manifest["type"], manifest["id"]))
    return cipher
