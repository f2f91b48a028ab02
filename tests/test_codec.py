"""The payload codec: round trips, keeps plaintext off the wire, rotates keys, rejects tampering."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload

from cdtrack.codec import (
    ENCRYPTED_ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadDecryptionError,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))


def json_payload(value: object) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def encode(codec: EncryptionCodec, payload: Payload) -> Payload:
    (encoded,) = asyncio.run(codec.encode([payload]))
    return encoded


def decode(codec: EncryptionCodec, payload: Payload) -> Payload:
    (decoded,) = asyncio.run(codec.decode([payload]))
    return decoded


metadata = st.dictionaries(st.text(min_size=1, max_size=20), st.binary(max_size=64), max_size=4)


@given(data=st.binary(max_size=4096), extra=metadata)
def test_any_payload_round_trips(data: bytes, extra: dict[str, bytes]) -> None:
    codec = EncryptionCodec(active_key_id="a", keys={"a": KEY_A})
    payload = Payload(metadata=extra, data=data)
    encoded = encode(codec, payload)
    assert encoded.metadata["encoding"] == ENCRYPTED_ENCODING
    assert encoded.metadata[KEY_ID_METADATA] == b"a"
    assert decode(codec, encoded) == payload


async def test_many_payloads_round_trip_in_order() -> None:
    codec = EncryptionCodec(active_key_id="a", keys={"a": KEY_A})
    payloads = [json_payload({"leg": leg}) for leg in range(5)]
    assert await codec.decode(await codec.encode(payloads)) == payloads


def test_the_encoded_payload_does_not_carry_the_plaintext() -> None:
    codec = EncryptionCodec(active_key_id="a", keys={"a": KEY_A})
    payload = json_payload({"substance": "mephedrone", "quantity_kg": 12})
    encoded = encode(codec, payload)
    assert b"mephedrone" not in encoded.SerializeToString()
    assert b"json/plain" not in encoded.SerializeToString()


def test_equal_payloads_encrypt_differently() -> None:
    codec = EncryptionCodec(active_key_id="a", keys={"a": KEY_A})
    payload = json_payload("same")
    assert encode(codec, payload).data != encode(codec, payload).data


def test_a_rotated_ring_reads_the_old_key_and_writes_the_new_one() -> None:
    before = EncryptionCodec(active_key_id="a", keys={"a": KEY_A})
    written_before = encode(before, json_payload("handover at Khorgos"))

    after = EncryptionCodec(active_key_id="b", keys={"a": KEY_A, "b": KEY_B})
    assert decode(after, written_before) == json_payload("handover at Khorgos")
    written_after = encode(after, json_payload("handover at Brest"))
    assert written_after.metadata[KEY_ID_METADATA] == b"b"
    with pytest.raises(PayloadDecryptionError, match="'b'"):
        decode(before, written_after)


def test_an_unknown_key_id_is_named_in_the_error() -> None:
    writer = EncryptionCodec(active_key_id="retired-2023", keys={"retired-2023": KEY_A})
    reader = EncryptionCodec(active_key_id="a", keys={"a": KEY_B})
    with pytest.raises(PayloadDecryptionError, match=r"'retired-2023'.*not in the codec key ring"):
        decode(reader, encode(writer, json_payload("x")))


@pytest.mark.parametrize("position", [0, 11, 12, -1])
def test_a_flipped_byte_is_detected(position: int) -> None:
    codec = EncryptionCodec(active_key_id="a", keys={"a": KEY_A})
    encoded = encode(codec, json_payload({"container": "MSKU 123456 7"}))
    altered = bytearray(encoded.data)
    altered[position] ^= 0x01
    tampered = Payload(metadata=dict(encoded.metadata), data=bytes(altered))
    with pytest.raises(PayloadDecryptionError, match="altered"):
        decode(codec, tampered)


def test_relabelling_a_payload_to_another_key_is_detected() -> None:
    # Both keys equal, so only the key id bound as associated data can tell the labels apart.
    codec = EncryptionCodec(active_key_id="a", keys={"a": KEY_A, "b": KEY_A})
    encoded = encode(codec, json_payload("x"))
    relabelled = Payload(metadata={**encoded.metadata, KEY_ID_METADATA: b"b"}, data=encoded.data)
    with pytest.raises(PayloadDecryptionError, match="altered or relabelled"):
        decode(codec, relabelled)


def test_a_truncated_payload_is_rejected() -> None:
    codec = EncryptionCodec(active_key_id="a", keys={"a": KEY_A})
    truncated = Payload(
        metadata={"encoding": ENCRYPTED_ENCODING, KEY_ID_METADATA: b"a"}, data=b"short"
    )
    with pytest.raises(PayloadDecryptionError, match="truncated"):
        decode(codec, truncated)


def test_an_unencrypted_payload_passes_through() -> None:
    codec = EncryptionCodec(active_key_id="a", keys={"a": KEY_A})
    plain = json_payload({"written": "before encryption was switched on"})
    assert decode(codec, plain) == plain
    assert decode(codec, Payload()) == Payload()


def test_the_active_key_must_be_in_the_ring() -> None:
    with pytest.raises(ValueError, match="'c'"):
        EncryptionCodec(active_key_id="c", keys={"a": KEY_A})


def test_keys_must_be_aes_256() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        EncryptionCodec(active_key_id="a", keys={"a": bytes(16)})
