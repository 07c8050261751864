"""Tell people when a bundled flow run ends, through a Prefect notification block.

`notify_run_state` is a flow-run state hook (`on_failure`, `on_crashed`,
`on_completion`): it loads a saved notification block (a Slack webhook, an email
server, a `CustomWebhookNotificationBlock`, ...) and sends one short message with the
flow, the state, the deployment, the DHIS2 host and a link to the run in the Prefect UI.
The message is built from those fields only, never from the run's parameters, so no
password, token or credentials field can reach it. A hook never fails the run: a
notification that cannot be sent is logged as a warning.

Examples:
    ```python
    from prefect_dhis2.flows import dhis2_org_units_export
    from prefect_dhis2.notifications import with_notifications

    nightly = with_notifications(dhis2_org_units_export, block_name="moh-data-team")
    nightly.serve(name="moh-org-units-nightly", parameters={"instance": "moh-production"})
    ```
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from prefect.blocks.abstract import NotificationBlock
from prefect.blocks.core import Block
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, State
from prefect.flows import Flow
from prefect.utilities.urls import url_for
from pydantic import BaseModel

from prefect_dhis2.credentials import Dhis2Credentials

__all__ = [
    "NOTIFY_BLOCK_ENV",
    "NoticeEvent",
    "RunNotice",
    "anotify_run_state",
    "notify_run_state",
    "run_notice",
    "with_notifications",
]

_logger = logging.getLogger("prefect_dhis2.notifications")

NOTIFY_BLOCK_ENV = "PREFECT_DHIS2_NOTIFY_BLOCK"
"""The environment variable naming the notification block when no name is given."""

NoticeEvent = Literal["failure", "crashed", "completion"]
_F = TypeVar("_F", bound=Flow[Any, Any])


class RunNotice(BaseModel):
    """What a notification says about a finished flow run (and nothing else).

    Attributes:
        flow: The flow's name, e.g. `dhis2-org-units-export`.
        flow_run: The run's name.
        state: The final state's name, e.g. `Completed`, `Failed`, `Crashed`.
        deployment: The deployment's name, when the run came from one.
        instance: The DHIS2 host the run worked on, when known.
        message: The state's message (DHIS2 error messages carry no secrets).
        url: A link to the run in the Prefect UI, when a UI URL is configured.
    """

    flow: str
    flow_run: str
    state: str
    deployment: str | None = None
    instance: str | None = None
    message: str | None = None
    url: str | None = None

    @property
    def subject(self) -> str:
        """One line: `Failed: dhis2-org-units-export (moh-org-units-nightly)`."""
        where = f" ({self.deployment})" if self.deployment else ""
        return f"{self.state}: {self.flow}{where}"

    def body(self) -> str:
        """The notice as compact JSON, for webhooks and chat messages alike."""
        return json.dumps(self.model_dump(exclude_none=True), sort_keys=True)


async def _instance_host(parameters: dict[str, Any]) -> str | None:
    """The DHIS2 host of a run, from its `instance` block name (never from secrets)."""
    name = parameters.get("instance")
    if not isinstance(name, str) or not name:
        return None
    try:
        block: Any = await Dhis2Credentials.aload(name)
    except Exception:  # noqa: BLE001 - an unknown or unreadable block: name only
        return name
    base_url = getattr(block, "base_url", None)
    return (urlsplit(base_url).netloc if isinstance(base_url, str) else None) or name


async def run_notice(flow: Flow[Any, Any], flow_run: FlowRun, state: State[Any]) -> RunNotice:
    """Build the notice for a finished run from its flow, run and state.

    Examples:
        ```python
        notice = await run_notice(flow, flow_run, state)
        print(notice.subject)  # Failed: dhis2-org-units-export (moh-org-units-nightly)
        ```
    """
    deployment = None
    if flow_run.deployment_id is not None:
        try:
            async with get_client() as client:
                deployment = (await client.read_deployment(flow_run.deployment_id)).name
        except Exception:  # noqa: BLE001 - the notice goes out without it
            deployment = None
    credentials = flow_run.parameters.get("credentials")
    # A block passed as a parameter comes back as the block or as its (redacted) fields.
    base_url = (
        credentials.get("base_url")
        if isinstance(credentials, dict)
        else getattr(credentials, "base_url", None)
    )
    instance = (
        urlsplit(base_url).netloc
        if isinstance(base_url, str)
        else await _instance_host(flow_run.parameters)
    )
    return RunNotice(
        flow=flow.name,
        flow_run=flow_run.name,
        state=state.name or state.type.value.title(),
        deployment=deployment,
        instance=instance,
        message=(state.message or None) and str(state.message)[:500],
        url=url_for("flow-run", obj_id=flow_run.id),
    )


async def _load_notification_block(name: str) -> NotificationBlock:
    """A saved notification block by `type-slug/name` or by its name alone."""
    candidates = [name]
    if "/" not in name:
        async with get_client() as client:
            documents = await client.read_block_documents(include_secrets=False)
        candidates = [
            f"{doc.block_type.slug}/{doc.name}"
            for doc in documents
            if doc.name == name and doc.block_type is not None and not doc.is_anonymous
        ]
    for candidate in candidates:
        block = await Block.aload(candidate)
        if isinstance(block, NotificationBlock):
            return block
    raise LookupError(f"No notification block named {name!r}")


async def anotify_run_state(
    flow: Flow[Any, Any],
    flow_run: FlowRun,
    state: State[Any],
    *,
    block_name: str | None = None,
) -> bool:
    """Send the run's notice through the notification block `block_name`.

    Args:
        flow: The flow of the run.
        flow_run: The run.
        state: Its final state.
        block_name: A saved notification block, by name (`moh-data-team`) or with its
            type (`slack-webhook/moh-data-team`); None reads `PREFECT_DHIS2_NOTIFY_BLOCK`
            (and sends nothing when that is unset).

    Returns:
        Whether a notification was sent. Never raises.
    """
    name = block_name or os.environ.get(NOTIFY_BLOCK_ENV)
    if not name:
        return False
    try:
        notice = await run_notice(flow, flow_run, state)
        block = await _load_notification_block(name)
        # Async hooks may await the async variant; blocks built on `async_dispatch`
        # expose it as `anotify`, the abstract API as `notify`.
        send = getattr(block, "anotify", None) or getattr(block, "notify")  # noqa: B009
        await send(body=notice.body(), subject=notice.subject)
    except Exception as exc:  # noqa: BLE001 - a notification must never fail the run
        _logger.warning("Could not send the run notification through %r: %s", name, exc)
        return False
    return True


def notify_run_state(
    block_name: str | None = None,
) -> Callable[[Flow[Any, Any], FlowRun, State[Any]], Any]:
    """A state hook that sends the run's notice through `block_name` (see `anotify_run_state`).

    Examples:
        ```python
        @flow(on_failure=[notify_run_state("moh-data-team")])
        def nightly(): ...
        ```
    """

    async def hook(flow: Flow[Any, Any], flow_run: FlowRun, state: State[Any]) -> None:
        await anotify_run_state(flow, flow_run, state, block_name=block_name)

    return hook


def with_notifications(
    flow: _F,
    block_name: str | None = None,
    *,
    on: Iterable[NoticeEvent] = ("failure", "crashed"),
) -> _F:
    """The flow with notification hooks for the given events (failures by default).

    Args:
        flow: A bundled (or any) flow.
        block_name: The notification block; None reads `PREFECT_DHIS2_NOTIFY_BLOCK` when
            the run ends, so one deployment file serves every environment.
        on: `failure`, `crashed` and/or `completion`.

    Returns:
        A copy of the flow with the hooks added to its own.
    """
    hook = notify_run_state(block_name)
    events = set(on)
    unknown = events - {"failure", "crashed", "completion"}
    if unknown:
        raise ValueError(f"Unknown notification event(s) {sorted(unknown)}")
    options: dict[str, Any] = {}
    if "failure" in events:
        options["on_failure"] = [*flow.on_failure_hooks, hook]
    if "crashed" in events:
        options["on_crashed"] = [*flow.on_crashed_hooks, hook]
    if "completion" in events:
        options["on_completion"] = [*flow.on_completion_hooks, hook]
    return flow.with_options(**options)  # type: ignore[return-value]
