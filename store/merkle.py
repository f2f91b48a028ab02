"""RFC 9162 Merkle tree hashing: leaf and node hashes, compact ranges and inclusion proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


@dataclass(frozen=True)
class CompactRange:
    """The roots of the perfect subtrees that make up a tree of `size` leaves, largest first.

    One hash per set bit of `size`, so at most 64; this is all a sequencer needs to extend the
    tree and compute its next root, without reading a single stored leaf again.
    """

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.hashes) != self.size.bit_count():
            raise ValueError(f"a tree of {self.size} leaves has {self.size.bit_count()} subtrees")

    def append(self, leaf: bytes) -> CompactRange:
        """The range after one more leaf hash: equal-sized subtrees merge, as binary carries."""
        hashes = list(self.hashes)
        carried, size = leaf, self.size
        while size & 1:
            carried = node_hash(hashes.pop(), carried)
            size >>= 1
        hashes.append(carried)
        return CompactRange(self.size + 1, tuple(hashes))

    def extend(self, leaves: Sequence[bytes]) -> CompactRange:
        extended = self
        for leaf in leaves:
            extended = extended.append(leaf)
        return extended

    def root(self) -> bytes:
        """RFC 9162's MTH: the subtrees folded right to left, the smallest innermost."""
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for subtree in reversed(self.hashes[:-1]):
            root = node_hash(subtree, root)
        return root


def tree_root(leaves: Sequence[bytes]) -> bytes:
    return CompactRange().extend(leaves).root()


def _split(size: int) -> int:
    """The largest power of two below `size` (RFC 9162 section 2.1.1's k)."""
    return 1 << ((size - 1).bit_length() - 1)


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 section 2.1.3.1's PATH(m, D[n]): the audit path of leaf `index` among `leaves`."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), tree_root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), tree_root(leaves[:k])]


def root_from_inclusion_proof(
    *, index: int, size: int, leaf: bytes, proof: Sequence[bytes]
) -> bytes | None:
    """RFC 9162 section 2.1.3.2: the root an audit path leads to, or None if it cannot fit."""
    if not 0 <= index < size:
        return None
    fn, sn, root = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            root = node_hash(sibling, root)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            root = node_hash(root, sibling)
        fn >>= 1
        sn >>= 1
    return root if sn == 0 else None
