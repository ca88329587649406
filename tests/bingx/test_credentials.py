from __future__ import annotations

import pickle

import pytest

from adapters.bingx.credentials import BingxCredentialError, BingxSigner

# HMAC-SHA256 vectors with the official docs' secret, recomputed with Python's hmac. The first two are
# the 2023 official docs' own (BingX-API/BingX-swap-api-v2-doc); for the last two the current docs
# print one signature for both strings, a documentation error.
DOC_SECRET = "mheO6dR8ovSsxZQCOYEFCtelpuxcWGTfHw7te326y6jOwq5WpvFQ9JNljoTwBXZGv5It07m9RXSPpDQEK2w"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            "symbol=BTC-USDT&timestamp=1667872120843&side=LONG&leverage=6",
            "4f581ecdb1fa09b9d6e57886b6f70cffed17f82b93399722939e49a38edec2bf",
        ),
        (
            "symbol=BTC-USDT&timestamp=1668159715051side=LONG&leverage=6",
            "8b756b01e7a30f02e19c58a91ab01b29528694316b08a51ecb8dd072942bd47d",
        ),
        (
            "recvWindow=0&symbol=BTC-USDT&timestamp=1696751141337",
            "f8d883609dfd31c824feb4de865b071008dedb1d461451fa70847875c8e7a7a2",
        ),
        (
            "recvWindow=0&subAccountString=abc12345&timestamp=1696751141337",
            "8d0d3ea9b592be3678c33332ab13e9102e093e67255921e15a581146c87c272f",
        ),
    ],
)
def test_doc_vectors(payload: str, expected: str) -> None:
    assert BingxSigner(DOC_SECRET).sign(payload) == expected


def test_order_matters() -> None:
    signer = BingxSigner(DOC_SECRET)
    assert signer.sign("leverage=6&side=LONG&symbol=BTC-USDT&timestamp=1667872120843").startswith("feef56d6")


def test_nt_fork_golden_vector() -> None:
    payload = "price=50000&quantity=0.001&side=BUY&symbol=BTC-USDT&timestamp=1700000000000&type=LIMIT"
    assert BingxSigner("testsecret_short").sign(payload) == (
        "1d4496992901d0c59df846515d63e3cbd0b900d769371278b55585b38729aefe"
    )


def test_repr_and_pickle_never_leak() -> None:
    signer = BingxSigner(DOC_SECRET)
    assert DOC_SECRET not in repr(signer)
    assert DOC_SECRET not in str(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)


@pytest.mark.parametrize("bad", ["", "   ", "has space inside", "tab\there", "ünïcode"])
def test_rejects_bad_secret_without_echo(bad: str) -> None:
    with pytest.raises(BingxCredentialError) as err:
        BingxSigner(bad)
    if bad.strip():
        assert bad not in str(err.value)
