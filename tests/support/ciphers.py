"""Toy encryption for tests: sessions the inspector cannot read without a key."""

from __future__ import annotations

from typing import Any

from langgraph_redis_saver import SafeMsgpackSerializer

__all__ = ["XorCipher", "XorSerializer"]


class XorCipher:
    """A toy `CipherProtocol`: enough to exercise `EncryptedSerializer`'s wiring."""

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return "xor", bytes(b ^ 0x5A for b in plaintext)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        assert ciphername == "xor"
        return bytes(b ^ 0x5A for b in ciphertext)


class XorSerializer:
    """Stands in for LangGraph's EncryptedSerializer: same type suffix, opaque bytes."""

    def __init__(self) -> None:
        self.inner = SafeMsgpackSerializer()

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        typ, data = self.inner.dumps_typed(obj)
        return f"{typ}+aes", bytes(b ^ 0x5A for b in data)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        typ, raw = data
        return self.inner.loads_typed((typ.removesuffix("+aes"), bytes(b ^ 0x5A for b in raw)))
