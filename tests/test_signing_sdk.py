"""Our TC3-HMAC-SHA256 signer against the official SDK's, on many generated requests.

Two angles: (1) the SDK builds a whole request (``AbstractClient._build_req_with_tc3_signature``:
its own JSON body or query string, Host, timestamp, token) and our signer, fed what the SDK put on
the wire, must produce a byte-identical ``Authorization``; (2) the SDK's signing function
(``AbstractClient._get_tc3_signature``) and ours on arbitrary timestamps (any UTC date), hosts,
services, bodies and query strings.  Plus what our client really sends, re-signed by the SDK.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common import credential as sdk_credential
from tencentcloud.common.abstract_client import AbstractClient
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.faceid.v20180301.faceid_client import FaceidClient

from faceid_tools.client import FaceIDClient, signing
from tests.fixtures.servers import FIXTURE_CREDENTIAL, FaultServer

ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

secret_ids = st.text(alphabet=ID_CHARS, min_size=1, max_size=40)
secret_keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=48
).filter(lambda k: k.strip() == k and k != "")
tokens = st.none() | st.text(alphabet=ID_CHARS + "-_.", min_size=1, max_size=60)
hosts = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,30}[a-z0-9])?(:[1-9][0-9]{0,4})?", fullmatch=True)
names = st.text(alphabet=ID_CHARS, min_size=1, max_size=16)
scalars = st.one_of(
    st.text(max_size=40),
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
params_st = st.dictionaries(
    names,
    st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(names, scalars, max_size=3)),
    max_size=6,
)
actions = st.sampled_from(["GenerateReflectSequence", "CreateUploadUrl", "DetectAuth"])
methods = st.sampled_from(["POST", "GET"])


def _sdk_client(host: str, secret_id: str, secret_key: str, token: str | None) -> FaceidClient:
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=host))
    return FaceidClient(
        sdk_credential.Credential(secret_id, secret_key, token), "ap-singapore", profile
    )


@settings(max_examples=300, deadline=None)
@given(
    secret_id=secret_ids,
    secret_key=secret_keys,
    token=tokens,
    host=hosts,
    action=actions,
    method=methods,
    params=params_st,
)
def test_same_authorization_as_the_sdk_for_whole_requests(
    secret_id: str,
    secret_key: str,
    token: str | None,
    host: str,
    action: str,
    method: str,
    params: dict[str, Any],
) -> None:
    sdk = _sdk_client(host, secret_id, secret_key, token)
    req = RequestInternal(host, method, "/", header={})
    sdk._build_req_with_tc3_signature(action, copy.deepcopy(params), req)
    data: str = req.data
    ours = signing.sign(
        secret_id=secret_id,
        secret_key=secret_key,
        service="faceid",
        host=req.header["Host"],
        method=method,
        timestamp=int(req.header["X-TC-Timestamp"]),
        payload=data.encode("utf-8") if method == "POST" else b"",
        query=data if method == "GET" else "",
    )
    assert req.header["Content-Type"] == (
        signing.POST_CONTENT_TYPE if method == "POST" else signing.GET_CONTENT_TYPE
    )
    assert ours.authorization == req.header["Authorization"]
    assert req.header.get("X-TC-Token") == token


@settings(max_examples=300, deadline=None)
@given(
    secret_id=secret_ids,
    secret_key=secret_keys,
    host=hosts,
    service=st.sampled_from(["faceid", "cvm", "cos"]),
    method=methods,
    timestamp=st.integers(min_value=0, max_value=2**32),
    body=st.binary(max_size=200),
    query=st.text(alphabet=ID_CHARS + "=&%.-_~+", max_size=80),
    content_type=st.none() | st.sampled_from(["application/json; charset=utf-8", "text/plain"]),
)
def test_same_signature_as_the_sdk_signing_function(
    secret_id: str,
    secret_key: str,
    host: str,
    service: str,
    method: str,
    timestamp: int,
    body: bytes,
    query: str,
    content_type: str | None,
) -> None:
    ct = content_type or (
        signing.POST_CONTENT_TYPE if method == "POST" else signing.GET_CONTENT_TYPE
    )
    data: bytes | str = body if method == "POST" else query
    req = RequestInternal(host, method, "/", header={
        "Content-Type": ct, "Host": host, "X-TC-Timestamp": str(timestamp)
    })  # fmt: skip
    req.data = data
    date = datetime.utcfromtimestamp(timestamp).strftime("%Y-%m-%d")  # the SDK's own way
    sdk_sig = AbstractClient._get_tc3_signature(None, {}, req, date, service, secret_key)  # type: ignore[arg-type]
    ours = signing.sign(
        secret_id=secret_id,
        secret_key=secret_key,
        service=service,
        host=host,
        method=method,
        timestamp=timestamp,
        payload=body if method == "POST" else b"",
        query=query if method == "GET" else "",
        content_type=ct,
    )
    assert ours.signature == sdk_sig
    assert ours.authorization == (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={sdk_sig}"
    )


def test_what_our_client_sends_is_signed_as_the_sdk_would(fault_server: FaultServer) -> None:
    client = FaceIDClient(
        "ap-singapore",
        endpoint=fault_server.endpoint,
        credential=FIXTURE_CREDENTIAL,
        log=False,
        rate_limit=None,
    )
    client.generate_reflect_sequence(
        "https://faceid-1250000000.cos.ap-singapore.myqcloud.com/\u672a\u547d\u540d.bin",
        "d41d8cd98f00b204e9800998ecf8427e",
        "2",
    )
    client.create_upload_url()
    for sent in fault_server.requests:
        h = sent.headers
        req = RequestInternal(h["Host"], "POST", "/", header=dict(h))
        req.data = sent.body
        ts = int(h["X-TC-Timestamp"])
        date = datetime.utcfromtimestamp(ts).strftime("%Y-%m-%d")
        sdk_sig = AbstractClient._get_tc3_signature(  # type: ignore[arg-type]
            None, {}, req, date, "faceid", client.credential.secret_key
        )
        assert h["Authorization"].endswith(f"Signature={sdk_sig}")
    assert len(fault_server.requests) == 2
    client.close()
