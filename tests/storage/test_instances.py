"""Storage's instances: created with their process, their events and the process history read from those events,
Altinn's JSON shape, and the service owner's query paged stably by last change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from felles.apps.definition import load_app
from felles.apps.process import ProcessEngine
from felles.core.clock import clock, utcnow
from felles.core.db import Database
from felles.core.errors import NotFound
from felles.core.paging import ContinuationTokens
from felles.storage import service as storage
from felles.storage.schemas import PlatformUser
from tests.conftest import REFERENCE

KARI = storage.Owner(party_id=50001, identifier="12838404268")
COMPANY = storage.Owner(party_id=50002, identifier="309999908")
USER = PlatformUser(userId=1337, authenticationLevel=3, nationalIdentityNumber="12838404268")
ENGINE = ProcessEngine(load_app(REFERENCE / "altinn-apps" / "altinn-studio-signing-test").process)  # type: ignore[arg-type]


def no_conditions(expression, data_type, action):  # the signing app's gateway reads only the gateway action
    return action == "reject" if expression == ["equals", ["gatewayAction"], "reject"] else action != "reject"


async def new_instance(database: Database, owner: storage.Owner, app_id: str = "ttd/signing-test"):
    started = ENGINE.start(utcnow(), no_conditions)
    async with database.transaction() as session:
        instance = await storage.create_instance_in_transaction(
            session, app_id=app_id, app_version=1, owner=owner, process=started.state, actor="1337")
        await storage.record_event_in_transaction(session, instance, "Created", USER)
        for kind, snapshot in started.events:
            await storage.record_event_in_transaction(session, instance, kind, USER, process_info=snapshot)
    return instance


async def test_an_instance_has_altinns_shape(database: Database) -> None:
    instance = await new_instance(database, KARI)
    async with database.transaction() as session:
        row = await storage.instance_row(session, instance.id, party_id=KARI.party_id)
        elements = (await storage.data_elements_of(session, [row.id]))[row.id]
    public = storage.public_instance(row, elements, KARI, "http://felles.test").model_dump(mode="json",
                                                                                             exclude_none=True)
    assert public["id"] == f"50001/{instance.id}"
    assert public["instanceOwner"] == {"partyId": "50001", "personNumber": "12838404268"}
    assert public["appId"] == "ttd/signing-test" and public["org"] == "ttd"
    assert public["selfLinks"]["platform"] == f"http://felles.test/storage/api/v1/instances/50001/{instance.id}"
    assert public["process"]["currentTask"]["elementId"] == "Task_1"
    assert public["status"] == {"isArchived": False, "isSoftDeleted": False, "isHardDeleted": False,
                                "readStatus": "Read"}
    assert "completeConfirmations" not in public  # none yet: left out, as Altinn does


async def test_another_partys_path_does_not_find_the_instance(database: Database) -> None:
    instance = await new_instance(database, KARI)
    async with database.transaction() as session:
        with pytest.raises(NotFound) as missing:
            await storage.instance_row(session, instance.id, party_id=COMPANY.party_id)
    assert missing.value.code == "instance_not_found"


async def test_the_process_history_is_read_from_the_process_events(database: Database) -> None:
    instance = await new_instance(database, KARI)
    state = instance.process
    async with database.transaction() as session:
        row = await storage.instance_row(session, instance.id, lock=True)
        for action in (None, None, "sign", "sign"):
            clock.advance(timedelta(minutes=1))
            change = ENGINE.next(state, utcnow(), no_conditions, action=action)
            state = change.state
            storage.set_process_in_transaction(row, state, "1337")
            for kind, snapshot in change.events:
                await storage.record_event_in_transaction(session, row, kind, USER, process_info=snapshot)
    history = (await storage.process_history(database, instance.id, party_id=KARI.party_id)).processHistory
    steps = [(item.eventType, item.elementId) for item in history]
    assert steps[:3] == [("StartEvent", "StartEvent_1"), ("StartTask", "Task_1"), ("EndTask", "Task_1")]
    assert steps[-2:] == [("EndTask", "Task_3"), ("EndEvent", "EndEvent_1")]  # Submited is no process event
    assert all(item.performedBy == "12838404268" for item in history)
    events = await storage.events_of(database, instance.id, party_id=KARI.party_id, event_types=["Created"])
    assert [event.eventType for event in events.instanceEvents] == ["Created"]
    async with database.transaction() as session:
        ended = await storage.instance_row(session, instance.id)
    assert ended.process_ended_at is not None and ended.current_task is None and ended.revision == 5


async def test_the_service_owners_query_pages_stably_by_last_change(database: Database) -> None:
    created = []
    for _ in range(5):
        created.append(await new_instance(database, COMPANY))
        clock.advance(timedelta(seconds=1))
    await new_instance(database, KARI, app_id="skd/other")
    tokens = ContinuationTokens("test")
    seen = []
    continuation = None
    async with database.transaction() as session:
        while True:
            page, continuation = await storage.query_instances(
                session, tokens, storage.InstanceQuery(org="ttd", size=2), continuation)
            seen.extend(row.id for row in page)
            if continuation is None:
                break
    assert seen == [instance.id for instance in created]
    async with database.transaction() as session:
        task_1, _ = await storage.query_instances(
            session, tokens, storage.InstanceQuery(org="ttd", current_task="Task_1", process_is_complete=False), None)
        assert len(task_1) == 5
        done, _ = await storage.query_instances(
            session, tokens, storage.InstanceQuery(org="ttd", process_is_complete=True), None)
        assert done == []
