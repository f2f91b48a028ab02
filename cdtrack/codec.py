"""AES-256-GCM payload codec: what the workflow carries reaches the Temporal server encrypted."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from store.sealing import NONCE_BYTES
from store.sealing import PayloadDecryptionError as PayloadDecryptionError

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32


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
