"""Run notices: what they say, that they carry no secret, and that they never fail a run."""

from __future__ import annotations

import base64

import pytest
from prefect import flow
from prefect.blocks.notifications import CustomWebhookNotificationBlock

from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.notifications import NOTIFY_BLOCK_ENV, with_notifications

from .deployments.servers import WebhookReceiver, wait_for

SENTINEL = "Sentinel-Pa55word-notify-41"


@pytest.fixture
def receiver(prefect_server):
    hook = WebhookReceiver()
    with hook.running():
        CustomWebhookNotificationBlock(
            name="dhis2-test-notices",
            url=hook.url,
            json_data={"text": "{{body}}", "subject": "{{subject}}"},
        ).save("dhis2-test-notices", overwrite=True)
        yield hook


def _credentials() -> Dhis2Credentials:
    return Dhis2Credentials(base_url="https://dhis2.example.org", username="etl", password=SENTINEL)


@flow(name="dhis2-notice-probe")
def probe(credentials: Dhis2Credentials, fail: bool = False) -> str:
    if fail:
        raise RuntimeError("DHIS2 at https://dhis2.example.org: GET /api/system/info: HTTP 503")
    return "done"


def test_a_failed_run_sends_one_notice_without_secrets(receiver):
    notified = with_notifications(probe, block_name="dhis2-test-notices")
    with pytest.raises(RuntimeError):
        notified(credentials=_credentials(), fail=True)
    wait_for("the notice", lambda: receiver.received, timeout=60, every=0.1)
    assert len(receiver.received) == 1
    raw = str(receiver.received)
    basic = base64.b64encode(f"etl:{SENTINEL}".encode()).decode()
    assert SENTINEL not in raw and basic not in raw and "Authorization" not in raw
    (notice,) = receiver.notices()
    assert notice["flow"] == "dhis2-notice-probe"
    assert notice["state"] == "Failed"
    assert notice["instance"] == "dhis2.example.org"
    assert "HTTP 503" in notice["message"]
    assert "/runs/flow-run/" in notice["url"]
    assert "deployment" not in notice  # not run from a deployment


def test_completion_is_notified_only_when_asked_for(receiver):
    assert with_notifications(probe, block_name="dhis2-test-notices")(_credentials()) == "done"
    assert receiver.received == []
    on_completion = with_notifications(probe, block_name="dhis2-test-notices", on=["completion"])
    assert on_completion(_credentials()) == "done"
    wait_for("the completion notice", lambda: receiver.received, timeout=60, every=0.1)
    assert receiver.notices()[0]["state"] == "Completed"


def test_a_notice_that_cannot_be_sent_does_not_fail_the_run(prefect_server, monkeypatch, caplog):
    monkeypatch.setenv(NOTIFY_BLOCK_ENV, "no-such-block")
    on_completion = with_notifications(probe, on=["completion"])
    with caplog.at_level("WARNING", logger="prefect_dhis2.notifications"):
        assert on_completion(_credentials()) == "done"
    assert "no-such-block" in caplog.text


def test_unknown_events_are_refused():
    with pytest.raises(ValueError, match="Unknown notification event"):
        with_notifications(probe, on=["sometimes"])  # type: ignore[list-item]
