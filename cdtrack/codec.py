"""AES-256-GCM payload codec: what the workflow carries reaches the Temporal server encrypted."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32


class PayloadDecryptionError(ValueError):
    """A payload that cannot be decrypted: unknown key id, or altered since it was written."""


class EncryptionCodec(PayloadCodec):
    """Encrypts with the active key; decrypts with whichever key of the ring a payload names.

    The key id is bound into the ciphertext as associated data, so a payload cannot be relabelled
    to be read under another key.
    """

    def __init__(self, *, active_key_id: str, keys: Mapping[str, bytes]) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active codec key {active_key_id!r} is not in the key ring")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(
                    f"codec key {key_id!r} must be {KEY_BYTES} bytes (AES-256), got {len(key)}"
                )
        self._active_key_id = active_key_id
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    @property
    def active_key_id(self) -> str:
        return self._active_key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(payload) for payload in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        key_id = self._active_key_id.encode()
        # A fresh random nonce per payload: GCM loses confidentiality if one is ever reused.
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._active_key_id].encrypt(
            nonce, payload.SerializeToString(), key_id
        )
        return Payload(
            metadata={"encoding": ENCRYPTED_ENCODING, KEY_ID_METADATA: key_id},
            data=nonce + sealed,
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
            # Written before encryption was switched on, or by a component that never encrypts.
            return payload
        raw_key_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_key_id is None:
            raise PayloadDecryptionError("encrypted payload names no key id")
        key_id = raw_key_id.decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload is encrypted with key {key_id!r}, which is not in the codec key ring"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        if len(nonce) != NONCE_BYTES:
            raise PayloadDecryptionError(f"encrypted payload under key {key_id!r} is truncated")
        try:
            plain = cipher.decrypt(nonce, sealed, raw_key_id)
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload under key {key_id!r} fails authentication: it was altered or relabelled"
            ) from None
        return Payload.FromString(plain)


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
