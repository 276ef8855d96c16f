"""The published TC3-HMAC-SHA256 worked example (DESIGN.md), all three intermediate values."""

import hashlib

from faceid_tools.client import signing

PAYLOAD = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)


def _parts() -> signing.SignedParts:
    return signing.sign(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        method="POST",
        timestamp=1551113065,
        payload=PAYLOAD,
        content_type="application/json; charset=utf-8",
    )


def test_payload_hash() -> None:
    assert (
        signing.sha256_hex(PAYLOAD)
        == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )


def test_hashed_canonical_request() -> None:
    digest = hashlib.sha256(_parts().canonical_request.encode()).hexdigest()
    assert digest == "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"


def test_signature_and_header() -> None:
    parts = _parts()
    assert parts.signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert parts.authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )
