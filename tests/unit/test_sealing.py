"""Sealed stored answers: the plaintext is not in the sealed bytes, and a sealed value opens
only under the same server secret, purpose and associated data (its idempotency row)."""

from __future__ import annotations

import pytest

from server.security.signing import Signer

SECRET = b"s" * 32
ROW = b"principal+request+method"


def test_seal_hides_the_plaintext_and_opens_back() -> None:
    sealer = Signer(SECRET).sealer("idempotency-answers")
    plain = b"kpk_live_secret_value_0123456789"
    sealed = sealer.seal(plain, ROW)
    assert plain not in sealed and sealed != sealer.seal(plain, ROW)  # a fresh nonce each
    assert sealer.open(sealed, ROW) == plain


@pytest.mark.parametrize("other", [
    lambda s: (Signer(b"t" * 32).sealer("idempotency-answers"), s, ROW),  # another secret
    lambda s: (Signer(SECRET).sealer("other-purpose"), s, ROW),  # another purpose
    lambda s: (Signer(SECRET).sealer("idempotency-answers"), s, b"another row"),
    lambda s: (Signer(SECRET).sealer("idempotency-answers"), s[:-1] + bytes([s[-1] ^ 1]), ROW),
    lambda s: (Signer(SECRET).sealer("idempotency-answers"), b"", ROW),
])
def test_a_sealed_value_opens_nowhere_else(other) -> None:  # type: ignore[no-untyped-def]
    sealed = Signer(SECRET).sealer("idempotency-answers").seal(b"secret", ROW)
    sealer, value, row = other(sealed)
    with pytest.raises(ValueError):
        sealer.open(value, row)


def test_the_keyed_digest_depends_on_the_secret() -> None:
    one = Signer(SECRET).sealer("idempotency-answers").digest(b"request")
    assert one == Signer(SECRET).sealer("idempotency-answers").digest(b"request")
    assert one != Signer(b"t" * 32).sealer("idempotency-answers").digest(b"request")
