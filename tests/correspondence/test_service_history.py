"""The jobs a correspondence's steps queue: one waiting Dialogporten mirror job stands for every step taken before
it runs (a coalesce key per correspondence), and the one mirror it runs shows them all."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from felles.core.jobs import Job, JobStatus
from felles.correspondence.service_history import DIALOG_MIRROR_JOB
from felles.dialogporten import mirrors
from felles.dialogporten.models import Dialog, DialogActivity
from tests.correspondence.conftest import API, KARI, person, run_jobs, send_published


async def mirror_jobs(database, status: JobStatus) -> list[str]:
    async with database.transaction() as session:
        return [job.payload["correspondence"] for job in await session.scalars(
            select(Job).where(Job.kind == DIALOG_MIRROR_JOB, Job.status == status))]


async def test_steps_taken_before_the_mirror_runs_share_one_mirror_job(client, database, resource, sender,
                                                                       reader) -> None:
    first, second = [(await send_published(client, database, sender, person(KARI.identifier),
                                           isConfirmationNeeded=True))[0] for _ in range(2)]
    assert sorted(await mirror_jobs(database, JobStatus.SUCCEEDED)) == sorted([first, second])  # published
    kari = reader(KARI.identifier)
    for correspondence_id, actions in ((first, ("markasread", "confirm", "archive")), (second, ("markasread",))):
        for action in actions:
            done = await client.post(f"{API}/correspondence/{correspondence_id}/{action}", headers=kari)
            assert done.status_code == 200, done.text
    # Read, Confirmed and Archived wait as one job; the other correspondence's read as its own.
    assert sorted(await mirror_jobs(database, JobStatus.PENDING)) == sorted([first, second])

    await run_jobs(database)
    assert await mirror_jobs(database, JobStatus.PENDING) == []
    dialog_id = await mirrors.mirrored_dialog_id(database, "correspondence", uuid.UUID(first))
    async with database.transaction() as session:
        dialog = await session.get(Dialog, dialog_id)
        assert dialog is not None and dialog.status == "NotApplicable"  # confirmed: no longer RequiresAttention
        activities = set(await session.scalars(select(DialogActivity.type)
                                               .where(DialogActivity.dialog_id == dialog_id)))
    assert {"CorrespondenceOpened", "CorrespondenceConfirmed"} <= activities
