"""Keyed seals for hash chains: HMAC-SHA256 under a key held outside the database.

A chain's links are hashes of records, so anyone who can write the database and run the
application's code can recompute them. A seal cannot be recomputed without the key: each
link's MAC covers the chain it belongs to, its place, its record's hash and the previous
link's MAC, and a chain's head is sealed over its length and last MAC. The key never
enters the database; each seal names its key by ``key_id`` (a fingerprint of the key), so
a new key can take over while the old ones still verify what they sealed.

The key file holds one key per line in hex; the first line seals, every line verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKPOINT_FORMAT = "officer-competence-chain-checkpoint/1"


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(b"officer-competence chain key id\0" + key).hexdigest()[:16]


def canonical_bytes(content: Any) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Keyring:
    """The keys this installation holds: ``current`` seals, every one verifies its own seals."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def of(cls, *keys: bytes) -> "Keyring":
        if not keys:
            raise ValueError("a keyring needs at least one key")
        return cls({key_id_of(key): key for key in keys}, key_id_of(keys[0]))

    @property
    def id(self) -> str:
        return self.current

    def mac(self, purpose: str, content: Any, key_id: str | None = None) -> str:
        """HMAC-SHA256 of ``content`` for one ``purpose`` (link, head, checkpoint), under ``key_id`` or the current key."""
        key = self.keys[key_id or self.current]
        return hmac.new(key, purpose.encode("ascii") + b"\0" + canonical_bytes(content), hashlib.sha256).hexdigest()

    def check(self, purpose: str, content: Any, key_id: str | None, mac: str | None) -> str | None:
        """``None`` if ``mac`` is a valid seal, else why not: ``"unsealed"``, ``"unknown-key"`` or ``"mismatch"``."""
        if not mac or not key_id:
            return "unsealed"
        if key_id not in self.keys:
            return "unknown-key"
        return None if hmac.compare_digest(self.mac(purpose, content, key_id), mac) else "mismatch"


def link_content(chain: str, seq: int, record_hash: str, prev_mac: str) -> dict[str, Any]:
    return {"chain": chain, "seq": seq, "hash": record_hash, "prev": prev_mac}


def head_content(chain: str, length: int, last_mac: str) -> dict[str, Any]:
    return {"chain": chain, "length": length, "last": last_mac}


GENESIS_MAC = "0" * 64


def load_keyring(path: Path) -> Keyring:
    """The keys in ``path``; a new random key is written there (mode 0600) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    keys = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = bytes.fromhex(line)
        except ValueError:
            raise ValueError(f"{path}, line {number}: a chain key is written in hex") from None
        if len(key) < 32:
            raise ValueError(f"{path}, line {number}: a chain key needs at least 32 bytes (64 hex digits)")
        keys.append(key)
    if not keys:
        raise ValueError(f"{path} holds no chain key")
    return Keyring.of(*keys)
