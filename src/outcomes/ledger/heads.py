"""The audit chain's head, kept by a party outside the workspace: what makes truncation and rewrites visible.

Like a Certificate Transparency log's signed tree head, a head is one short line, `SEQ HASH`: the sequence
number and hash of the chain's last entry. A party that keeps the line (the invoice prints it; `outcomes
audit head` prints it any time) can later prove that the chain it sees now *extends* that head
(`audit verify --against LINE`): the entry SEQ still exists and still has HASH, and the chain from the first
entry up to now is intact. Removing the last entries, or rewriting any entry and re-hashing the chain after it,
fails that check, however consistent the rewritten chain is on its own.

A party may sign a head with its own Ed25519 key (`outcomes audit keygen`, `outcomes audit sign`): the line
then reads `SEQ HASH ed25519:PUBLIC SIGNATURE` (hex), and the signature is over
`outcomes.audit.head/v1\\nSEQ\\nHASH\\n`. `audit sign` also records the signed head in the chain (entry
`audit.sign`), so the other party sees it and `audit verify` checks every recorded signature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from outcomes.ledger.errors import LedgerError

FORMAT = "outcomes.audit.head/v1"
_HASH = r"sha256:[0-9a-f]{64}"
_LINE = re.compile(
    rf"^\s*(?P<seq>\d{{1,18}})[\s:]+(?P<hash>{_HASH})"
    r"(?:\s+ed25519:(?P<key>[0-9a-f]{64})\s+(?P<sig>[0-9a-f]{128}))?\s*$"
)


class HeadError(LedgerError):
    code = "audit_head"


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    key: str | None = None  # the signer's Ed25519 public key, hex
    signature: str | None = None  # hex

    @property
    def signed(self) -> bool:
        return self.signature is not None

    def message(self) -> bytes:
        return f"{FORMAT}\n{self.seq}\n{self.hash}\n".encode()

    def line(self) -> str:
        text = f"{self.seq} {self.hash}"
        return text + (f" ed25519:{self.key} {self.signature}" if self.signed else "")

    def signature_ok(self) -> bool:
        if not self.signed:
            return False
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.key or "")).verify(
                bytes.fromhex(self.signature or ""), self.message()
            )
        except (InvalidSignature, ValueError):
            return False
        return True


def parse(text: str) -> Head:
    m = _LINE.match(text or "")
    if m is None:
        raise HeadError(
            f"{(text or '')[:120]!r} is not an audit head",
            hint="give the line `outcomes audit head` printed: `SEQ sha256:HEX`, optionally followed by "
            "`ed25519:KEY SIGNATURE` when it was signed",
        )
    return Head(int(m["seq"]), m["hash"], m["key"], m["sig"])


# keys ----------------------------------------------------------------------------------------------------
def generate_key(path: Path) -> tuple[Path, str]:
    """A new Ed25519 key: the private key at `path` (PEM, readable by its owner only), the public key at
    `path.pub`; returns the public file and the key in hex."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public_path = path.with_name(path.name + ".pub")
    for p in (path, public_path):
        if p.exists():
            raise HeadError(f"{p} already exists; a key is never overwritten", hint="choose another path")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path.touch(mode=0o600, exist_ok=False)
    path.write_bytes(private)
    public_path.write_bytes(public)
    return public_path, public_hex(key.public_key())


def public_hex(public_key) -> str:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise HeadError(f"{path}: no such key file", hint="make one with `outcomes audit keygen PATH`")
    data = path.read_bytes()
    if len(data) > 16_384:
        raise HeadError(f"{path}: not a key file (too large)")
    return data


def load_private(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise HeadError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise HeadError(f"{path}: not an Ed25519 key", hint="make one with `outcomes audit keygen PATH`")
    return key


def load_public_hex(path: Path) -> str:
    """A public key file (PEM, or the hex `ed25519:…` form) as hex; a private key file gives its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    data = _read(path)
    text = data.decode("ascii", errors="replace").strip()
    m = re.fullmatch(r"(?:ed25519:)?([0-9a-f]{64})", text)
    if m:
        return m[1]
    try:
        if b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None)
            key = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise HeadError(f"{path}: not a PEM key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise HeadError(f"{path}: not an Ed25519 key")
    return public_hex(key)


def sign(head: Head, private_key) -> Head:
    signature = private_key.sign(Head(head.seq, head.hash).message()).hex()
    return Head(head.seq, head.hash, public_hex(private_key.public_key()), signature)
