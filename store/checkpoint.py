"""Signed tree heads as C2SP signed-note checkpoints, and checking an inclusion proof offline.

Only the standard library and `cryptography`: an oversight body can check a proof with this
module and the log's public key alone, or with any signed-note tool (Go's golang.org/x/mod
sumdb/note reads the same text).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from store.merkle import leaf_hash, root_from_inclusion_proof

ED25519 = b"\x01"
SIGNATURE_DASH = "\u2014 "
SEED_BYTES = 32


@dataclass(frozen=True)
class Checkpoint:
    """What a signature vouches for: the tree's size and root, when, and whether it was guarded.

    `guarded` says the database's append-only triggers were in place when the head was signed.
    """

    origin: str
    size: int
    root: bytes
    signed_at: datetime
    guarded: bool

    def body(self) -> bytes:
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            f"timestamp {self.signed_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
            f"guard {'on' if self.guarded else 'off'}",
        ]
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        lines = body.decode().split("\n")
        if len(lines) != 6 or lines[-1] != "":
            raise ValueError("a checkpoint has five lines, each ending in a newline")
        origin, size, root, timestamp, guard, _ = lines
        stamp = timestamp.removeprefix("timestamp ")
        if stamp == timestamp or guard not in ("guard on", "guard off") or not size.isdigit():
            raise ValueError("not a checkpoint of this log's format")
        return cls(
            origin=origin,
            size=int(size),
            root=base64.b64decode(root, validate=True),
            signed_at=datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            guarded=guard == "guard on",
        )


def key_id(origin: str, public_key: bytes) -> bytes:
    """The signed-note key id: SHA-256(name || 0x0A || 0x01 || key), first four bytes."""
    return hashlib.sha256(origin.encode() + b"\n" + ED25519 + public_key).digest()[:4]


class LogVerifier:
    """The log's public key: checks signed heads; anyone may hold it."""

    def __init__(self, *, origin: str, public_key: bytes) -> None:
        self.origin = origin
        self.public_key = public_key
        self.key_id = key_id(origin, public_key)
        self._key = Ed25519PublicKey.from_public_bytes(public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> LogVerifier:
        """Reads `name+keyid+base64(0x01 || key)`, the signed-note verifier key text."""
        try:
            origin, hex_id, encoded = vkey.strip().split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as error:
            raise ValueError("not a verifier key (name+keyid+base64 key)") from error
        if raw[:1] != ED25519 or len(raw) != 33:
            raise ValueError("the verifier key is not an Ed25519 key")
        verifier = cls(origin=origin, public_key=raw[1:])
        if verifier.key_id.hex() != hex_id:
            raise ValueError("the verifier key's id does not match its key")
        return verifier

    def vkey(self) -> str:
        encoded = base64.b64encode(ED25519 + self.public_key).decode()
        return f"{self.origin}+{self.key_id.hex()}+{encoded}"

    def pem(self) -> str:
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def verify(self, checkpoint: Checkpoint, signature: bytes) -> bool:
        if checkpoint.origin != self.origin:
            return False
        try:
            self._key.verify(signature, checkpoint.body())
        except InvalidSignature:
            return False
        return True

    def open_note(self, note: str) -> Checkpoint | None:
        """The checkpoint a signed note carries, if this key signed it; None otherwise."""
        body, separator, signatures = note.rpartition("\n\n")
        if not separator:
            return None
        for line in signatures.splitlines():
            name, _, encoded = line.removeprefix(SIGNATURE_DASH).partition(" ")
            if not line.startswith(SIGNATURE_DASH) or name != self.origin:
                continue
            try:
                raw = base64.b64decode(encoded, validate=True)
                checkpoint = Checkpoint.parse((body + "\n").encode())
            except (ValueError, binascii.Error):
                return None
            if raw[:4] == self.key_id and self.verify(checkpoint, raw[4:]):
                return checkpoint
            return None
        return None


class LogSigner:
    """The log's private key; it lives in the settings or a key file, never in the database."""

    def __init__(self, *, origin: str, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError(f"an Ed25519 signing key is {SEED_BYTES} bytes, got {len(seed)}")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        public_key = self._key.public_key().public_bytes_raw()
        self.verifier = LogVerifier(origin=origin, public_key=public_key)

    @property
    def origin(self) -> str:
        return self.verifier.origin

    def sign(self, checkpoint: Checkpoint) -> bytes:
        return self._key.sign(checkpoint.body())


def note_text(checkpoint: Checkpoint, *, key: bytes, signature: bytes) -> str:
    """The checkpoint as a signed note: body, a blank line, one signature line."""
    encoded = base64.b64encode(key + signature).decode()
    return f"{checkpoint.body().decode()}\n{SIGNATURE_DASH}{checkpoint.origin} {encoded}\n"


def canonical_entry_bytes(fields: Mapping[str, Any]) -> bytes:
    """The bytes a leaf hashes: the entry's fields as JSON, keys sorted, no spaces."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def check_inclusion_proof(proof: Mapping[str, Any], *, vkey: str) -> bool:
    """Whether a proof printed by `cdtrack audit prove` holds, with the public key alone.

    The signed note must carry this key's signature; the entry's canonical bytes (the JSON text
    in `entry`), hashed as a leaf, must lead along the audit path to the root that note signs.
    """
    try:
        verifier = LogVerifier.from_vkey(vkey)
        checkpoint = verifier.open_note(str(proof["checkpoint"]))
        if checkpoint is None or checkpoint.size != int(proof["tree_size"]):
            return False
        entry = str(proof["entry"]).encode()
        if base64.b64decode(proof["leaf_hash"], validate=True) != leaf_hash(entry):
            return False
        root = root_from_inclusion_proof(
            index=int(proof["leaf_index"]),
            size=checkpoint.size,
            leaf=leaf_hash(entry),
            proof=[base64.b64decode(step, validate=True) for step in proof["audit_path"]],
        )
    except (KeyError, TypeError, ValueError, binascii.Error):
        return False
    return root == checkpoint.root
