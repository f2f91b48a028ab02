"""RFC 9162 hashing against Certificate Transparency's vectors, proofs, and signed checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from store.checkpoint import Checkpoint, LogSigner, LogVerifier, note_text
from store.merkle import (
    EMPTY_ROOT,
    CompactRange,
    inclusion_proof,
    leaf_hash,
    root_from_inclusion_proof,
    tree_root,
)

# The leaves and roots of certificate-transparency's merkle_tree_test (RFC 6962 hashing).
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657"]
CT_LEAVES.append("606162636465666768696a6b6c6d6e6f")
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_roots_match_certificate_transparency() -> None:
    leaves = [leaf_hash(bytes.fromhex(leaf)) for leaf in CT_LEAVES]
    assert tree_root([]) == EMPTY_ROOT
    for size, expected in enumerate(CT_ROOTS, start=1):
        assert tree_root(leaves[:size]).hex() == expected


def test_a_compact_range_holds_one_hash_per_set_bit_and_extends_like_the_whole_tree() -> None:
    leaves = [leaf_hash(bytes([n])) for n in range(70)]
    compact = CompactRange()
    for size, leaf in enumerate(leaves, start=1):
        compact = compact.append(leaf)
        assert len(compact.hashes) == size.bit_count()
        assert compact.root() == tree_root(leaves[:size])
    with pytest.raises(ValueError, match="subtrees"):
        CompactRange(3, compact.hashes[:1])


def test_every_inclusion_proof_leads_to_the_root_and_no_other_does() -> None:
    for size in range(1, 34):
        leaves = [leaf_hash(bytes([n])) for n in range(size)]
        root = tree_root(leaves)
        for index in range(size):
            proof = inclusion_proof(index, leaves)
            assert (
                root_from_inclusion_proof(index=index, size=size, leaf=leaves[index], proof=proof)
                == root
            )
            if size > 1:
                wrong = (index + 1) % size
                assert (
                    root_from_inclusion_proof(
                        index=wrong, size=size, leaf=leaves[index], proof=proof
                    )
                    != root
                )
        assert root_from_inclusion_proof(index=size, size=size, leaf=leaves[0], proof=[]) is None


def test_a_signed_note_opens_with_its_key_only_and_not_once_altered() -> None:
    signer = LogSigner(origin="test/access-log", seed=bytes(range(32)))
    checkpoint = Checkpoint(
        origin="test/access-log",
        size=8,
        root=bytes.fromhex(CT_ROOTS[-1]),
        signed_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        guarded=True,
    )
    note = note_text(checkpoint, key=signer.verifier.key_id, signature=signer.sign(checkpoint))
    verifier = LogVerifier.from_vkey(signer.verifier.vkey())
    assert verifier.open_note(note) == checkpoint
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    assert verifier.open_note(note.replace("\n8\n", "\n9\n")) is None
    assert verifier.open_note(note.replace("guard on", "guard off")) is None
    other = LogSigner(origin="test/access-log", seed=bytes(32)).verifier
    assert other.open_note(note) is None
    with pytest.raises(ValueError, match="does not match"):
        LogVerifier.from_vkey(signer.verifier.vkey().replace("+", "+0", 1))
