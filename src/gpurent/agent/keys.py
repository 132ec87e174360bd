"""The provider's secrets key: the X25519 key renters seal secrets to.

``<agent home>/keys/secrets.key`` (0600) is made on first use and published on chain
(``setEncryptionKey``) whenever the chain's differs. ``rotate`` moves the current key to
``secrets.key.N`` (the next free N) and makes a new one: jobs sealed to an older key still
open with it, new definitions are sealed to the new one once it is published. A definition
sealed to a key this agent does not hold is declined.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from gpurent.workload.seal import KeyPair

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

KEY_FILE = "secrets.key"
_OLD = re.compile(re.escape(KEY_FILE) + r"\.(\d{1,6})")


class ProviderKeys:
    def __init__(self, home: Path):
        self.folder = home / "keys"
        self.current = KeyPair.load_or_create(self.folder / KEY_FILE)

    def _old_files(self) -> list[tuple[int, Path]]:
        if not self.folder.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.folder.iterdir() if (m := _OLD.fullmatch(p.name))]
        return sorted(found)

    def all(self) -> list[KeyPair]:
        """The current key, then the kept older ones (newest first). Read from the folder each
        time: a key rotated by ``gpurent-provider rotate-key`` while the agent runs opens the
        secrets sealed to it at once (rotating keeps the old current key as a numbered file
        before it writes the new one, so nothing this process held is lost)."""
        self.current = KeyPair.load(self.folder / KEY_FILE)
        return [self.current, *(KeyPair.load(p) for _, p in reversed(self._old_files()))]

    def for_public(self, public_b64: str) -> KeyPair | None:
        """The key pair whose public half is ``public_b64``, or None."""
        return next((k for k in self.all() if k.public_b64 == public_b64), None)

    def rotate(self) -> KeyPair:
        """Keeps the current key as ``secrets.key.N`` and makes a new current one."""
        number = max((n for n, _ in self._old_files()), default=0) + 1
        self.current.save(self.folder / f"{KEY_FILE}.{number}")
        self.current = KeyPair.generate()
        self.current.save(self.folder / KEY_FILE)
        return self.current

    def publish(self, gp: Gpurent) -> bool:
        """Publishes the current public key unless the chain already has it; True if it sent."""
        if gp.encryption_key_of(gp.address) == self.current.public_bytes:
            return False
        gp.set_encryption_key(self.current.public_bytes)
        return True
