"""Data value imports against the emulator: dry run, commit, re-run, faults, failed chunks."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from prefect_dhis2.data_values import afetch_data_values, aimport_data_values
from prefect_dhis2.testing import FaultRule

from .conftest import fast, sample_rows, stored_values, value_key


def wrong_combo(coc: str) -> str:
    """An option combo that exists but is not part of the row's data element's combo."""
    return "pq2XI5kz2BY" if coc == "HllvX50cXC0" else "HllvX50cXC0"


def run(coroutine):
    return asyncio.run(coroutine)


async def do_import(credentials, rows, **options):
    async with credentials.get_async_client() as client:
        return await aimport_data_values(client, rows, **options)


def test_dry_run_by_default_then_commit_then_rerun_ignores_everything(make_emulator):
    emulator = make_emulator()
    credentials = fast(emulator.credentials())
    rows = sample_rows(emulator)
    before = stored_values(emulator, rows)

    checked = run(do_import(credentials, rows, chunk_size=50))
    assert checked.dry_run and checked.chunks == -(-len(rows) // 50)
    assert stored_values(emulator, rows) == before  # nothing written
    changed = sum(1 for r in rows if r["period"] == "202401" and before[value_key(r)] != r["value"])
    new = sum(1 for r in rows if r["period"] == "202408")
    assert (checked.imported, checked.updated) == (new, changed)
    assert checked.ignored == len(rows) - new - changed and checked.rejected == 0

    committed = run(do_import(credentials, rows, dry_run=False, chunk_size=50))
    assert not committed.dry_run and committed.dry_run_check is not None
    assert (committed.imported, committed.updated) == (new, changed)
    after = stored_values(emulator, rows)
    assert all(after[value_key(r)] == r["value"] for r in rows)

    again = run(do_import(credentials, rows, dry_run=False, chunk_size=50))
    assert (again.imported, again.updated, again.deleted) == (0, 0, 0)
    assert again.ignored == len(rows) and again.status == "SUCCESS"


def test_conflicts_are_mapped_to_their_input_rows(make_emulator):
    emulator = make_emulator()
    credentials = fast(emulator.credentials())
    rows = sample_rows(emulator, facilities=4)
    bad_rows = {7, len(rows) - 1}  # 0-based positions in the input
    for index in bad_rows:
        rows[index] = {
            **rows[index],
            "categoryOptionCombo": wrong_combo(rows[index]["categoryOptionCombo"]),
        }
    result = run(do_import(credentials, rows, dry_run=False, chunk_size=5))
    assert result.rejected == 2 and result.status == "WARNING"
    assert sorted(c.row for c in result.conflicts) == sorted(i + 1 for i in bad_rows)
    for conflict in result.conflicts:
        source = rows[conflict.row - 1]
        assert (conflict.data_element, conflict.org_unit, conflict.period) == (
            source["dataElement"],
            source["orgUnit"],
            source["period"],
        )
        assert conflict.error_code == "E7634" and conflict.chunk == (conflict.row - 1) // 5


def committed_bodies(emulator) -> dict[str, set[str]]:
    by_size: dict[str, set[str]] = defaultdict(set)
    for record in emulator.request_log.matching("/api/dataValueSets", method="POST"):
        if record.param("dryRun") == "false" and record.body_sha256:
            by_size["all"].add(record.body_sha256)
    return by_size


def test_faults_do_not_change_the_result_and_no_chunk_is_sent_with_other_content(make_emulator):
    clean, faulty = make_emulator(), make_emulator()
    rows = sample_rows(clean)
    expected = run(do_import(fast(clean.credentials()), rows, dry_run=False, chunk_size=20))
    faulty.set_faults(
        [
            FaultRule(path="/api/dataValueSets", kind="429", rate=0.025, retry_after=0, seed=1),
            FaultRule(path="/api/dataValueSets", kind="503", rate=0.025, retry_after=0, seed=2),
            FaultRule(path="/api/dataValueSets", kind="reset", rate=0.025, seed=3),
            FaultRule(path="/api/dataValueSets", kind="truncate", rate=0.025, seed=4),
        ]
    )
    got = run(do_import(fast(faulty.credentials()), rows, dry_run=False, chunk_size=20))
    assert [r.fault for r in faulty.request_log if r.fault], "no fault was injected"
    # Same counts as without faults: a chunk retried after a lost answer is an upsert.
    counts = ("imported", "updated", "ignored", "deleted", "rejected", "not_sent")
    assert {k: getattr(got, k) for k in counts} == {k: getattr(expected, k) for k in counts}
    assert stored_values(faulty, rows) == stored_values(clean, rows)
    # Every committed request carried the content of one of the chunks, byte for byte.
    assert committed_bodies(faulty)["all"] == committed_bodies(clean)["all"]
    assert len(committed_bodies(clean)["all"]) == got.chunks


def test_a_failed_chunk_never_hides_the_chunks_that_succeeded(make_emulator):
    emulator = make_emulator()
    credentials = fast(emulator.credentials(), max_retries=0, max_concurrency=1)
    rows = sample_rows(emulator, facilities=4)
    # The first two commit requests fail: chunk 0, sent twice, is given up.
    emulator.set_faults([FaultRule(path="/api/dataValueSets", kind="503", count=2, method="POST")])
    result = run(
        do_import(
            credentials, rows, dry_run=False, dry_run_first=False, chunk_size=10, chunk_attempts=2
        )
    )
    assert [f.chunk for f in result.failed_chunks] == [0]
    assert result.failed_chunks[0].first_row == 1 and result.not_sent == 10
    assert result.status == "ERROR"
    done = result.imported + result.updated + result.ignored
    assert done == len(rows) - 10
    written = stored_values(emulator, rows[10:])
    assert all(written[value_key(r)] == r["value"] for r in rows[10:])


def test_async_jobs_give_the_same_summary(make_emulator):
    sync_emulator, job_emulator = make_emulator(), make_emulator(version="2.43")
    rows = sample_rows(sync_emulator, facilities=3)
    plain = run(do_import(fast(sync_emulator.credentials()), rows, dry_run=False, chunk_size=30))
    jobs = run(
        do_import(
            fast(job_emulator.credentials()), rows, dry_run=False, chunk_size=30, async_job=True
        )
    )
    assert job_emulator.request_log.matching("/api/system/tasks")
    assert (jobs.imported, jobs.updated, jobs.ignored) == (
        plain.imported,
        plain.updated,
        plain.ignored,
    )


def test_chunked_reads_equal_one_request(make_emulator):
    emulator = make_emulator()
    credentials = fast(emulator.credentials())
    units = emulator.state.dataset.org_units_at_level(3)[:7]
    periods = ["202401", "202402", "202403"]

    async def read(**chunks):
        async with credentials.get_async_client() as client:
            return await afetch_data_values(
                client,
                org_units=units,
                data_sets=["BfMAe6Itzgt"],
                periods=periods,
                children=True,
                **chunks,
            )

    whole = run(read(org_units_per_request=100, periods_per_request=100))
    chunked = run(read(org_units_per_request=2, periods_per_request=1))
    assert whole.requests == 1 and chunked.requests == 12
    assert len(whole.data_values) > 100

    def key(value):
        return (*value_key(value), value["value"])

    assert sorted(map(key, chunked.data_values)) == sorted(map(key, whole.data_values))
