"""The Dhis2Credentials block: validation, client construction, save/load."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.client import ApiTokenAuth, AsyncDhis2Client, Dhis2Client
from prefect_dhis2.credentials import (
    DEMO_BASE_URL,
    get_dhis2_credentials,
    normalize_base_url,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://dhis2.example.org", "https://dhis2.example.org"),
        ("https://dhis2.example.org/", "https://dhis2.example.org"),
        ("https://dhis2.example.org/api", "https://dhis2.example.org"),
        ("https://dhis2.example.org/api/", "https://dhis2.example.org"),
        ("https://dhis2.example.org/api/40", "https://dhis2.example.org"),
        ("https://DHIS2.Example.org/hmis/api/", "https://dhis2.example.org/hmis"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("  https://play.im.dhis2.org/dev/  ", "https://play.im.dhis2.org/dev"),
    ],
)
def test_base_url_is_normalised(given: str, expected: str):
    assert normalize_base_url(given) == expected
    assert Dhis2Credentials(base_url=given, username="u", password="p").base_url == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("dhis2.example.org", "scheme"),
        ("ftp://dhis2.example.org", "scheme"),
        ("https://", "host"),
        ("https://dhis2.example.org/?x=1", "query"),
        ("https://dhis2.example.org:99999", "port"),
        ("", "required"),
    ],
)
def test_bad_base_url_is_a_clear_error(given: str, reason: str):
    with pytest.raises(ValidationError, match=reason):
        Dhis2Credentials(base_url=given, username="u", password="p")


def test_base_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(ValidationError) as caught:
        Dhis2Credentials(base_url="https://admin:TopSecret99@dhis2.example.org")
    assert "must not contain credentials" in str(caught.value)
    assert "TopSecret99" not in str(caught.value)


def test_no_arguments_means_the_public_demo():
    creds = Dhis2Credentials()
    assert creds.base_url == DEMO_BASE_URL
    assert creds.username == "admin"
    assert creds.password is not None and creds.password.get_secret_value() == "district"
    assert creds.auth_method == "basic"


def test_token_alone_means_token_auth():
    creds = Dhis2Credentials(base_url="https://x.org", token="d2pat_abc")
    assert creds.auth_method == "token"
    assert creds.username is None and creds.password is None
    assert isinstance(creds.client_settings().auth, ApiTokenAuth)


def test_token_with_the_demo_url_does_not_add_demo_password():
    creds = Dhis2Credentials(token="d2p_xyz")
    assert creds.auth_method == "token" and creds.password is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token": "t", "username": "a", "password": "b"}, "not both"),
        ({"token": "t", "username": "a"}, "not both"),
        ({"username": "a"}, "password is missing"),
        ({"password": "b"}, "username is missing"),
        ({"base_url": "https://x.org"}, "No credentials"),
    ],
)
def test_ambiguous_or_half_credentials_are_refused(kwargs: dict[str, str], message: str):
    with pytest.raises(ValidationError, match=message) as caught:
        Dhis2Credentials(**kwargs)
    for secret in ("t", "b"):
        assert f"'{secret}'" not in str(caught.value)  # input is not echoed


def test_settings_carry_timeouts_tls_retries_and_budget(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    creds = Dhis2Credentials(
        base_url="https://x.org",
        username="u",
        password="p",
        connect_timeout=3,
        read_timeout=20,
        analytics_read_timeout=900,
        ca_bundle=str(bundle),
        max_retries=7,
        retry_backoff=2,
        retry_backoff_max=40,
        max_concurrency=9,
    )
    settings = creds.client_settings()
    assert settings.timeout == httpx.Timeout(20, connect=3)
    assert settings.analytics_timeout == httpx.Timeout(900, connect=3)
    assert settings.verify == str(bundle)
    assert (settings.retry.max_retries, settings.retry.backoff_base) == (7, 2)
    assert settings.retry.backoff_max == 40
    assert settings.max_concurrency == 9
    assert settings.principal == "user 'u'"
    insecure = Dhis2Credentials(base_url="https://x.org", token="t", verify_tls=False)
    assert insecure.client_settings().verify is False


def test_tls_verification_is_on_by_default():
    assert Dhis2Credentials().client_settings().verify is True


@pytest.mark.parametrize("field", ["max_concurrency", "max_retries"])
def test_numeric_settings_are_bounded(field: str):
    with pytest.raises(ValidationError):
        Dhis2Credentials(**{field: -1})


async def test_get_client_and_async_client():
    creds = Dhis2Credentials(base_url="https://x.org/api", username="u", password="p")
    with creds.get_client() as client:
        assert isinstance(client, Dhis2Client)
        assert client.base_url == "https://x.org"
    async with creds.get_async_client() as aclient:
        assert isinstance(aclient, AsyncDhis2Client)
        assert aclient.base_url == "https://x.org"


def test_reprs_hide_secrets():
    creds = Dhis2Credentials(base_url="https://x.org", username="u", password="Pw-123456")
    token = Dhis2Credentials(base_url="https://x.org", token="d2p_Token-987654")
    for text in (repr(creds), str(creds), repr(token), str(token), repr(creds.get_client())):
        assert "Pw-123456" not in text and "d2p_Token-987654" not in text
    assert "Pw-123456" not in creds.model_dump_json()
    assert "d2p_Token-987654" not in token.model_dump_json()


def test_block_metadata():
    assert Dhis2Credentials.get_block_type_name() == "DHIS2 Credentials"
    assert Dhis2Credentials.get_block_type_slug() == "dhis2-credentials"
    assert Dhis2Credentials._documentation_url
    example = Dhis2Credentials.get_code_example() or ""
    assert 'Dhis2Credentials.load("BLOCK_NAME")' in example
    schema = Dhis2Credentials.model_json_schema()
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name
    assert set(Dhis2Credentials._to_block_schema().fields["secret_fields"]) == {
        "password",
        "token",
    }


def test_blocks_pickle_without_losing_secrets():
    creds = Dhis2Credentials(base_url="https://x.org", token="d2p_pickled")
    again = pickle.loads(pickle.dumps(creds))
    assert again.token == SecretStr("d2p_pickled")


def test_saved_block_round_trips_with_secret(prefect_server: str):
    Dhis2Credentials(
        base_url="https://moh.example.org/api", username="etl", password="R0und-Trip!"
    ).save("round-trip", overwrite=True)
    loaded = Dhis2Credentials.load("round-trip")
    assert loaded.base_url == "https://moh.example.org"
    assert loaded.password is not None
    assert loaded.password.get_secret_value() == "R0und-Trip!"
    Dhis2Credentials(base_url="https://moh.example.org", token="d2p_saved").save(
        "round-trip-token", overwrite=True
    )
    token = Dhis2Credentials.load("round-trip-token")
    assert token.auth_method == "token"
    assert token.token is not None and token.token.get_secret_value() == "d2p_saved"


def test_get_dhis2_credentials_loads_a_saved_block(prefect_server: str):
    Dhis2Credentials(base_url="https://moh.example.org", token="d2p_named").save(
        "named-instance", overwrite=True
    )
    loaded = get_dhis2_credentials("named-instance")
    assert loaded.base_url == "https://moh.example.org"


def test_get_dhis2_credentials_falls_back_to_demo_with_warning(
    prefect_server: str, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.WARNING, logger="prefect_dhis2.credentials"):
        creds = get_dhis2_credentials("no-such-block-anywhere")
    assert creds.base_url == DEMO_BASE_URL
    assert any("no-such-block-anywhere" in r.getMessage() for r in caplog.records)


def test_get_dhis2_credentials_does_not_hide_other_errors(monkeypatch: pytest.MonkeyPatch):
    def unreachable(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Failed to reach API at http://127.0.0.1:1/api/")

    monkeypatch.setattr(Dhis2Credentials, "load", unreachable)
    with pytest.raises(RuntimeError, match="Failed to reach API"):
        get_dhis2_credentials("dhis2")

    def corrupt(*args: object, **kwargs: object) -> None:
        raise ValueError("Invalid block document")

    monkeypatch.setattr(Dhis2Credentials, "load", corrupt)
    with pytest.raises(ValueError, match="Invalid block document"):
        get_dhis2_credentials("dhis2")
