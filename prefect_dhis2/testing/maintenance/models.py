"""Maintenance state of the DHIS2 emulator: asynchronous jobs and the analytics tables.

A job (`async=true` imports, analytics table runs) runs in a background thread after a short
delay; while it runs, and after, clients poll its notifications (newest first as DHIS2's
notifier keeps them; the newest has `completed: true` once the job is done) and its summary
(the job's ImportSummary or ImportReport).

`AnalyticsTables` says whether analytics tables exist: `analyticsTableClear` drops them (and
analytics queries then fail with E7144) until an `ANALYTICS_TABLE` job generates them again,
which also moves `lastAnalyticsTableSuccess` of system info to now.

Example:
    >>> registry = JobRegistry(delay_s=0.0)
    >>> job = registry.submit("DATAVALUE_IMPORT", lambda: {"status": "SUCCESS"})
    >>> registry.wait(job.id)
    True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect_dhis2.testing.core.timestamps import format_timestamp
from prefect_dhis2.uids import generate_uid

__all__ = [
    "AnalyticsTables",
    "Job",
    "JobRegistry",
    "job_configuration",
    "start_analytics_table_job",
]

_JOB_LABELS = {
    "DATAVALUE_IMPORT": "Import data values",
    "METADATA_IMPORT": "Import metadata",
    "ANALYTICS_TABLE": "Analytics table generation",
}


@dataclass
class Job:
    """One asynchronous job and what it reported."""

    id: str
    job_type: str
    name: str
    created: str
    notifications: list[dict[str, Any]] = field(default_factory=list)
    summary: Any = None
    done: threading.Event = field(default_factory=threading.Event)


class JobRegistry:
    """Runs jobs in background threads and keeps their notifications and summaries.

    Args:
        delay_s: Time a job waits before it starts (so a client sees it running).
    """

    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def _notify(self, job: Job, message: str, *, completed: bool, level: str = "INFO") -> None:
        note = {
            "uid": generate_uid(),
            "level": level,
            "category": job.job_type,
            "time": format_timestamp(datetime.now()),
            "message": message,
            "completed": completed,
        }
        with self._lock:
            job.notifications.insert(0, note)

    def submit(self, job_type: str, work: Callable[[], Any]) -> Job:
        """Start `work` in the background and return its job.

        `work` returns the job summary (an ImportSummary or ImportReport dict).
        """
        now = datetime.now()
        job = Job(
            id=generate_uid(),
            job_type=job_type,
            name=f"{job_type} ({int(now.timestamp() * 1000)})",
            created=format_timestamp(now),
        )
        with self._lock:
            self._jobs[job.id] = job
        self._notify(job, f"{_JOB_LABELS.get(job_type, job_type)} started", completed=False)

        def run() -> None:
            if self.delay_s:
                time.sleep(self.delay_s)
            try:
                job.summary = work()
                self._notify(job, "Import done" if "IMPORT" in job_type else "Done", completed=True)
            except Exception as error:  # noqa: BLE001 - a failed job is reported, not raised
                self._notify(job, f"Process failed: {error}", completed=True, level="ERROR")
            finally:
                job.done.set()

        threading.Thread(target=run, name=f"dhis2-job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if any."""
        with self._lock:
            return self._jobs.get(job_id)

    def of_type(self, job_type: str) -> list[Job]:
        """Jobs of one type, oldest first."""
        with self._lock:
            return [j for j in self._jobs.values() if j.job_type == job_type]

    def wait(self, job_id: str, timeout: float = 10.0) -> bool:
        """Block until a job finished; False on timeout or unknown id."""
        job = self.get(job_id)
        return job is not None and job.done.wait(timeout)


def job_configuration(job: Job, user_id: str | None = None) -> dict[str, Any]:
    """The `JobConfiguration` response object DHIS2 returns when it starts a job."""
    body: dict[str, Any] = {
        "responseType": "JobConfiguration",
        "name": job.name,
        "id": job.id,
        "created": job.created,
        "jobType": job.job_type,
        "jobStatus": "SCHEDULED",
        "jobParameters": {},
        "relativeNotifierEndpoint": f"/api/system/tasks/{job.job_type}/{job.id}",
    }
    if user_id:
        body["userUid"] = user_id
    return body


@dataclass
class AnalyticsTables:
    """Whether analytics tables exist, and when they were last generated.

    Attributes:
        cleared: True after `analyticsTableClear` until the tables are generated again.
        last_success: When the tables were last generated (None: the day before "today").

    Example:
        >>> tables = AnalyticsTables()
        >>> tables.clear()
        >>> tables.cleared
        True
        >>> tables.generated()
        >>> tables.cleared, tables.last_success is not None
        (False, True)
    """

    cleared: bool = False
    last_success: datetime | None = None

    def clear(self) -> None:
        """Drop the tables (analytics queries fail until they are generated again)."""
        self.cleared = True

    def generated(self, moment: datetime | None = None) -> None:
        """Record a finished generation: the tables exist again, as of `moment` (now)."""
        self.last_success = moment or datetime.now()
        self.cleared = False


def start_analytics_table_job(
    registry: JobRegistry, tables: AnalyticsTables, lock: threading.RLock
) -> Job:
    """Start an `ANALYTICS_TABLE` job that regenerates the analytics tables.

    Args:
        registry: The job registry that runs the job.
        tables: The analytics tables the job regenerates.
        lock: The state's write lock, held while the tables change.

    Returns:
        The started job (its summary is an ImportSummary).
    """

    def work() -> dict[str, Any]:
        with lock:
            tables.generated()
        return {
            "responseType": "ImportSummary",
            "status": "SUCCESS",
            "description": "Analytics tables updated",
        }

    return registry.submit("ANALYTICS_TABLE", work)
