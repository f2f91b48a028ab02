"""AES-256-GCM sealing of short secrets the read model keeps (notification target URLs)."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class PayloadDecryptionError(ValueError):
    """A payload that cannot be decrypted: unknown key id, or altered since it was written."""


class SecretBox:
    """Seals short secrets kept in the read model (notification target URLs) with the key ring.

    The sealed text names its key id, and `context` (e.g. the target's id) is bound in as
    associated data, so a sealed value copied onto another row does not open there.
    """

    def __init__(self, *, active_key_id: str, keys: Mapping[str, bytes]) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active key {active_key_id!r} is not in the key ring")
        self._active_key_id = active_key_id
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    def seal(self, secret: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        associated = f"{self._active_key_id}:{context}".encode()
        sealed = self._ciphers[self._active_key_id].encrypt(nonce, secret.encode(), associated)
        return f"{self._active_key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, *, context: str) -> str:
        key_id, _, body = sealed.rpartition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(f"secret is sealed with key {key_id!r}, not in the ring")
        raw = base64.b64decode(body)
        try:
            plain = cipher.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"{key_id}:{context}".encode()
            )
        except InvalidTag:
            raise PayloadDecryptionError(
                f"secret for {context!r} fails authentication: altered or moved"
            ) from None
        return plain.decode()
