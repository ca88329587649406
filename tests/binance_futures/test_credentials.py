from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.binance_futures.credentials import BinanceSigner, CredentialError, KeyType

HMAC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
HMAC_PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
    "&timestamp=1499827319559"
)
HMAC_EXPECTED = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"

# Deterministic test key (seed is 32 fixed bytes; never a real credential)
SEED = bytes(range(1, 33))
ED_KEY = Ed25519PrivateKey.from_private_bytes(SEED)
PEM = ED_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
DER_B64 = base64.b64encode(
    ED_KEY.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
).decode()
SEED_B64 = base64.b64encode(SEED).decode()


def test_hmac_matches_binance_documented_example() -> None:
    signer = BinanceSigner(HMAC_SECRET)
    assert signer.key_type is KeyType.HMAC
    assert signer.sign(HMAC_PAYLOAD) == HMAC_EXPECTED


@pytest.mark.parametrize("secret", [PEM, DER_B64, SEED_B64], ids=["pem", "pkcs8_der_b64", "raw_seed_b64"])
def test_ed25519_all_encodings_verify_with_public_key(secret: str) -> None:
    signer = BinanceSigner(secret)
    assert signer.key_type is KeyType.ED25519
    sig_b64 = signer.sign(HMAC_PAYLOAD)
    sig = base64.b64decode(sig_b64)
    assert len(sig) == 64
    # raises InvalidSignature on mismatch
    ED_KEY.public_key().verify(sig, HMAC_PAYLOAD.encode())
    pub = signer.public_key()
    assert pub is not None
    assert pub.public_bytes_raw() == ED_KEY.public_key().public_bytes_raw()
    # Ed25519 is deterministic: all three encodings sign identically
    assert sig_b64 == BinanceSigner(PEM).sign(HMAC_PAYLOAD)


def test_ed25519_signature_fails_for_other_payload() -> None:
    from cryptography.exceptions import InvalidSignature

    sig = base64.b64decode(BinanceSigner(SEED_B64).sign("a=1"))
    with pytest.raises(InvalidSignature):
        ED_KEY.public_key().verify(sig, b"a=2")


def test_repr_masks_secret() -> None:
    for secret in (HMAC_SECRET, PEM, SEED_B64):
        signer = BinanceSigner(secret)
        text = repr(signer) + str(signer)
        assert "***" in text
        assert secret not in text
        assert secret[:12] not in text


def test_rejects_non_ed25519_pem_without_echo() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    with pytest.raises(CredentialError) as exc:
        BinanceSigner(pem)
    assert "Ed25519" in str(exc.value)
    body = pem.splitlines()[1]
    assert body not in str(exc.value)


@pytest.mark.parametrize("bad", ["", "   ", "has space inside", "ünïcode-secret"])
def test_rejects_garbage_without_echo(bad: str) -> None:
    with pytest.raises(CredentialError) as exc:
        BinanceSigner(bad)
    if bad.strip():
        assert bad not in str(exc.value)


def test_broken_pem_is_clear_error() -> None:
    with pytest.raises(CredentialError, match="PEM"):
        BinanceSigner("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_not_picklable() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(BinanceSigner(HMAC_SECRET))
