"""The credential chain: explicit > environment > ~/.tencentcloud/credentials > tccli; never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceid_tools.client import FaceIDClient
from faceid_tools.client.credentials import Credential, resolve_credential
from faceid_tools.errors import CredentialError, FaceIDError

KEY = "kEy0123456789secretSECRET"
TOKEN = "tOkEn-0123456789-session"


def _profile(home: Path, body: str) -> Path:
    path = home / ".tencentcloud" / "credentials"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def _tccli(home: Path, data: object) -> Path:
    path = home / ".tccli" / "default.credential"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


ENV = {"TENCENTCLOUD_SECRET_ID": "AKIDenv", "TENCENTCLOUD_SECRET_KEY": "env-key"}


def test_explicit_wins(tmp_path: Path) -> None:
    explicit = Credential("AKIDexplicit", KEY)
    _profile(tmp_path, "[default]\nsecret_id = AKIDfile\nsecret_key = k\n")
    assert resolve_credential(explicit, env=ENV, home=tmp_path) is explicit


def test_environment_with_and_without_token(tmp_path: Path) -> None:
    cred = resolve_credential(env={**ENV, "TENCENTCLOUD_TOKEN": TOKEN}, home=tmp_path)
    assert (cred.secret_id, cred.secret_key, cred.token, cred.source) == (
        "AKIDenv",
        "env-key",
        TOKEN,
        "environment",
    )
    assert resolve_credential(env={**ENV, "TENCENTCLOUD_TOKEN": ""}, home=tmp_path).token is None
    assert resolve_credential(env=ENV, home=tmp_path).token is None


def test_environment_beats_the_files(tmp_path: Path) -> None:
    _profile(tmp_path, "[default]\nsecret_id = AKIDfile\nsecret_key = k\n")
    _tccli(tmp_path, {"secretId": "AKIDtccli", "secretKey": "k"})
    assert resolve_credential(env=ENV, home=tmp_path).secret_id == "AKIDenv"
    # half an environment pair is not a credential: the chain moves on
    half = {"TENCENTCLOUD_SECRET_ID": "AKIDenv"}
    assert resolve_credential(env=half, home=tmp_path).secret_id == "AKIDfile"


def test_profile_file_beats_tccli(tmp_path: Path) -> None:
    path = _profile(
        tmp_path, f"[default]\nsecret_id = AKIDfile\nsecret_key = {KEY}\ntoken = {TOKEN}\n"
    )
    _tccli(tmp_path, {"secretId": "AKIDtccli", "secretKey": "k"})
    cred = resolve_credential(env={}, home=tmp_path)
    assert (cred.secret_id, cred.secret_key, cred.token, cred.source) == (
        "AKIDfile",
        KEY,
        TOKEN,
        str(path),
    )


@pytest.mark.parametrize(
    "body",
    [
        "[other]\nsecret_id = a\nsecret_key = b\n",
        "[default]\nsecret_id = a\n",
        "not an ini file at all [[[",
    ],
)
def test_unusable_profile_files_are_skipped(tmp_path: Path, body: str) -> None:
    _profile(tmp_path, body)
    _tccli(tmp_path, {"secretId": "AKIDtccli", "secretKey": KEY, "token": TOKEN})
    cred = resolve_credential(env={}, home=tmp_path)
    assert (cred.secret_id, cred.token) == ("AKIDtccli", TOKEN)
    assert cred.source.endswith("default.credential")


@pytest.mark.parametrize(
    "data", ["{not json", [1, 2], {"secretId": "a"}, {"secretId": 1, "secretKey": 2}]
)
def test_unusable_tccli_files_are_skipped(tmp_path: Path, data: object) -> None:
    _tccli(tmp_path, data)
    with pytest.raises(CredentialError):
        resolve_credential(env={}, home=tmp_path)


def test_nothing_found_names_every_source(tmp_path: Path) -> None:
    with pytest.raises(CredentialError) as info:
        resolve_credential(env={}, home=tmp_path)
    err = info.value
    assert isinstance(err, LookupError) and isinstance(err, FaceIDError)
    message = str(err)
    for source in (
        "credential argument",
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "TENCENTCLOUD_TOKEN",
        str(tmp_path / ".tencentcloud" / "credentials"),
        str(tmp_path / ".tccli" / "default.credential"),
    ):
        assert source in message, source


def test_the_client_walks_the_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(CredentialError, match="tried"):
        FaceIDClient("ap-singapore", log=False)
    _tccli(tmp_path, {"secretId": "AKIDtccli", "secretKey": KEY})
    client = FaceIDClient("ap-singapore", log=False)
    assert client.credential.secret_id == "AKIDtccli"
    assert KEY not in repr(client)


def test_repr_and_str_never_show_the_key_or_token() -> None:
    cred = Credential("AKIDvisible", KEY, TOKEN, source="environment")
    percent = "%s %r" % (cred, cred)  # noqa: UP031  (old-style formatting must not leak either)
    for text in (repr(cred), str(cred), f"{cred}", percent, repr([cred])):
        assert KEY not in text and TOKEN not in text
        assert "AKIDvisible" in text
    assert "token=***" in repr(cred)
    assert "token" not in repr(Credential("AKIDvisible", KEY))
    assert cred.secrets == (KEY, TOKEN)


@pytest.mark.parametrize(
    ("args", "field"),
    [(("", KEY), "secret_id"), (("AKID", ""), "secret_key"), (("AKID", "  "), "secret_key")],
)
def test_empty_parts_are_refused_without_echoing_them(args: tuple[str, str], field: str) -> None:
    with pytest.raises(CredentialError, match=field) as info:
        Credential(*args)
    assert KEY not in str(info.value)
