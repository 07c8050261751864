"""`prefect_dhis2.progress`: the progress artifact the long tasks publish, read back from
the Prefect test server."""

from __future__ import annotations

import asyncio

from prefect import flow

from prefect_dhis2.analytics import AnalyticsQuery, fetch_analytics_table
from prefect_dhis2.analytics.extract import ExtractionProgress
from prefect_dhis2.data_values.progress import ChunkProgress
from prefect_dhis2.progress import ProgressArtifact, describe_progress
from prefect_dhis2.testing import Dhis2Emulator
from tests.data_values.prefect_reads import artifacts, log_messages


def test_descriptions_read_done_of_planned_then_the_counters():
    assert describe_progress(ExtractionProgress(3, 12, 1234, 5)) == (
        "3 of 12 shards, 1,234 rows, 5 requests"
    )
    assert describe_progress(ChunkProgress("dry run", 1, 40, 5000)) == (
        "dry run, 1 of 40 chunks, 5,000 values"
    )
    assert describe_progress(ChunkProgress("", 0, 0, 0)) == "0 of 0 chunks, 0 values"


def test_the_last_update_is_always_published(prefect_server):
    @flow
    def follow() -> None:
        async def run() -> None:
            # A long interval: only the first call and the complete one are sent at once.
            progress = ProgressArtifact("test-progress", "Work", interval_s=3600)
            for done in range(1, 101):
                progress(ChunkProgress("", done, 100, done * 10))
                await asyncio.sleep(0)
            await progress.aclose()

        asyncio.run(run())

    state = follow(return_state=True)
    (artifact,) = artifacts("test-progress", state.state_details.flow_run_id)
    assert artifact.type == "progress" and float(artifact.data) == 100.0
    assert artifact.description == "Work: 100 of 100 chunks, 1,000 values"


def test_an_analytics_extraction_publishes_its_progress(
    prefect_server, dhis2_emulator: Dhis2Emulator
):
    credentials = dhis2_emulator.credentials()
    query = AnalyticsQuery(
        data_items=["fbfJHSPpUQD"], org_units=["O6uvpzGd5pu"], periods=["LAST_4_QUARTERS"]
    )

    @flow
    def extract():
        return fetch_analytics_table(
            credentials, query, max_rows=1, use_host_limit=False, cache_shards=False
        )

    state = extract(return_state=True)
    table = state.result()
    run_id = state.state_details.flow_run_id
    (artifact,) = artifacts("dhis2-analytics-progress", run_id)
    assert float(artifact.data) == 100.0
    assert f"{len(table.rows):,} rows" in artifact.description
    assert log_messages(run_id, "shards (100%)", at_least=1)


def test_a_refused_update_never_fails_the_work(monkeypatch, caplog):
    import prefect_dhis2.progress as module

    async def refuse(*args, **kwargs):
        raise RuntimeError("Prefect API unavailable")

    monkeypatch.setattr(module, "acreate_progress_artifact", refuse)

    async def run() -> None:
        progress = ProgressArtifact("test-refused", "Work", interval_s=0)
        for done in range(1, 5):
            progress(ChunkProgress("", done, 4, done))
            await asyncio.sleep(0)
        await progress.aclose()

    with caplog.at_level("WARNING", logger="prefect_dhis2"):
        asyncio.run(run())
    refused = [r for r in caplog.records if "Could not update the progress artifact" in r.message]
    assert len(refused) == 1 and "Prefect API unavailable" in refused[0].getMessage()


def test_the_bar_only_moves_forward(prefect_server):
    @flow
    def follow() -> None:
        async def run() -> None:
            progress = ProgressArtifact("test-forward", "Work", interval_s=3600)
            # Snapshots handed out in plan order: the one taken last (100 %) comes first.
            for done in (1, 2, 4, 3):
                progress(ChunkProgress("", done, 4, done))
                await asyncio.sleep(0)
            await progress.aclose()

        asyncio.run(run())

    state = follow(return_state=True)
    (artifact,) = artifacts("test-forward", state.state_details.flow_run_id)
    assert float(artifact.data) == 100.0
    assert artifact.description == "Work: 4 of 4 chunks, 4 values"
