"""Signing: only those the app's policy lets sign may, once each; a signee list is signed by those on it before the
task is left; a signature from before a reject does not count when the form comes back; bad actions are refused
with a problem and change nothing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select

from felles.apps import signing
from felles.apps.access import Caller
from felles.apps.tasks import TaskContext
from felles.authorization import service as authorization
from felles.core.errors import Conflict, Forbidden
from felles.core.jobs import Job, JobContext
from felles.notifications.models import NotificationOrder
from felles.storage import service as storage
from tests.apps.receipt.conftest import KARI, OLA, instance_in_task, kari_caller, task_context


async def data_types(client, path: str, headers: dict[str, str]) -> list[str]:
    return sorted(element["dataType"] for element in (await client.get(path, headers=headers)).json()["data"])


async def test_only_one_the_policy_lets_sign_may_and_only_once(client, runtime, receipt_app, kari, ola) -> None:
    path = receipt_app.path(await instance_in_task(runtime, receipt_app, "Task_Signering"))
    stranger = await client.post(f"{path}/actions", headers=ola, json={"action": "sign"})
    assert stranger.status_code == 403 and stranger.headers["content-type"] == "application/problem+json"
    assert (await client.post(f"{path}/actions", headers=kari, json={"action": "sign"})).status_code == 200
    again = await client.post(f"{path}/actions", headers=kari, json={"action": "sign"})
    assert again.status_code == 409 and again.json()["code"] == "already_signed"
    assert await data_types(client, path, kari) == ["signatur", "skjema"]


async def test_bad_actions_are_refused_and_change_nothing(client, runtime, receipt_app, kari) -> None:
    path = receipt_app.path(await instance_in_task(runtime, receipt_app, "Task_1"))
    before = (await client.get(path, headers=kari)).json()
    cases = [({}, 400, "action_missing"), ({"action": "fly"}, 403, "not_permitted"),
             ({"action": "confirm"}, 404, "action_not_found"),  # permitted, but moving the process is next's
             ({"action": "sign"}, 409, "not_a_signing_task"), ({"action": "pay"}, 409, "not_a_payment_task"),
             ({"action": "sign", "onBehalfOf": "not a number"}, 422, "validation_failed"),
             ({"action": "sign", "unknown": True}, 422, "validation_failed")]
    for body, status, code in cases:
        refused = await client.post(f"{path}/actions", headers=kari, json=body)
        assert refused.status_code == status, (body, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert code is None or refused.json()["code"] == code
    assert (await client.get(path, headers=kari)).json()["lastChanged"] == before["lastChanged"]
    no_signing = await client.get(f"{path}/signing", headers=kari)
    assert no_signing.status_code == 409 and no_signing.json()["code"] == "signing_not_configured"


async def test_a_signature_from_before_a_reject_does_not_count_when_the_form_comes_back(client, runtime, receipt_app,
                                                                                       kari) -> None:
    path = receipt_app.path(await instance_in_task(runtime, receipt_app, "Task_Signering"))
    assert (await client.post(f"{path}/actions", headers=kari, json={"action": "sign"})).status_code == 200
    assert len((await client.get(f"{path}/signing", headers=kari)).json()["signeeStates"]) == 1
    back = await client.put(f"{path}/process/next", headers=kari, json={"action": "reject"})
    assert back.status_code == 200 and back.json()["currentTask"]["elementId"] == "Task_1"
    again = await client.put(f"{path}/process/next", headers=kari)
    assert again.status_code == 200 and again.json()["currentTask"]["elementId"] == "Task_Signering"
    assert (await client.get(f"{path}/signing", headers=kari)).json() == {"signeeStates": []}
    # `next` with the action sign signs first, as app-lib's does.
    done = await client.put(f"{path}/process/next", headers=kari, json={"action": "sign"})
    assert done.status_code == 200 and done.json()["currentTask"]["elementId"] == "Task_Betaling"


async def test_a_signee_list_is_signed_by_those_on_it_before_the_task_is_left(runtime, receipt_app,
                                                                              database) -> None:
    kari_party = await authorization.party_of(database, KARI)
    ola_party = await authorization.party_of(database, OLA)

    async def board(ctx) -> list[signing.Signee]:
        return [signing.Signee(kari_party.party_id, kari_party.name, KARI),
                signing.Signee(ola_party.party_id, ola_party.name, OLA)]

    signing.register_signee_provider("styret", board)
    instance_id = await instance_in_task(runtime, receipt_app, "Task_Signering")
    kari = await kari_caller(database)
    ola = Caller(OLA, None, 3, ola_party.user_id)
    stranger = Caller("15817003319", None, 3, None)

    @asynccontextmanager
    async def step(caller: Caller) -> AsyncIterator[TaskContext]:
        async with database.transaction() as session:
            instance = await storage.instance_row(session, instance_id, lock=True)
            ctx = task_context(session, runtime, receipt_app, instance, "Task_Signering", caller)
            config = ctx.task.config["signatureConfig"]
            ctx.task = dataclasses.replace(ctx.task, config={"signatureConfig": {
                **config, "signeeStatesDataTypeId": "signatur-status", "signeeProviderId": "styret"}})
            yield ctx

    async with step(kari) as ctx:
        await signing.SigningTask().on_enter(ctx)
        await signing.sign(ctx)
        issues = await signing.SigningTask().before_leave(ctx, "sign")
    assert [issue["code"] for issue in issues] == ["SigningNotComplete"] and ola_party.name in issues[0]["description"]

    with pytest.raises(Forbidden):
        async with step(stranger) as ctx:
            await signing.sign(ctx)

    async with step(ola) as ctx:
        await signing.sign(ctx)
        with pytest.raises(Conflict):
            await signing.sign(ctx)
        states = await signing.signee_states(ctx)
        assert await signing.SigningTask().before_leave(ctx, "sign") == []
    assert [(state["partyId"], state["signedTime"] is not None) for state in states] == [
        (kari_party.party_id, True), (ola_party.party_id, True)]


async def test_two_signatures_at_once_make_one(client, runtime, receipt_app, kari) -> None:
    path = receipt_app.path(await instance_in_task(runtime, receipt_app, "Task_Signering"))
    first, second = await asyncio.gather(client.post(f"{path}/actions", headers=kari, json={"action": "sign"}),
                                         client.post(f"{path}/actions", headers=kari, json={"action": "sign"}))
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    assert await data_types(client, path, kari) == ["signatur", "skjema"]


async def test_each_signee_on_a_list_is_called_to_sign_once_through_the_notifications(runtime, receipt_app,
                                                                                     job_settings, database) -> None:
    """Entering the task enqueues the call to sign; the job orders one notification per signee (as the service
    owner), once however often it runs, and the signee states say whom it reached."""
    kari_party = await authorization.party_of(database, KARI)
    ola_party = await authorization.party_of(database, OLA)
    nobody = "12345678901"  # no valid fødselsnummer: no notification can be ordered for it

    async def board(ctx) -> list[signing.Signee]:
        return [signing.Signee(kari_party.party_id, kari_party.name, KARI),
                signing.Signee(ola_party.party_id, ola_party.name, OLA, "309999908", "Fjordkraft"),
                signing.Signee(0, "Ingen", nobody)]

    signing.register_signee_provider("kalle-inn", board)
    instance_id = await instance_in_task(runtime, receipt_app, "Task_Signering")
    async with database.transaction() as session:
        instance = await storage.instance_row(session, instance_id, lock=True)
        ctx = task_context(session, runtime, receipt_app, instance, "Task_Signering", await kari_caller(database))
        ctx.task = dataclasses.replace(ctx.task, config={"signatureConfig": {
            **ctx.task.config["signatureConfig"], "signeeStatesDataTypeId": "signatur-status",
            "signeeProviderId": "kalle-inn"}})
        await signing.SigningTask().on_enter(ctx)
        assert {state["notificationStatus"] for state in await signing.signee_states(ctx)} == {"NotSent"}
    async with database.transaction() as session:
        (job,) = (await session.scalars(select(Job).where(Job.kind == signing.CALL_TO_SIGN_JOB))).all()
    for attempt in (1, 2):  # a job run again orders nothing more
        async with database.transaction() as session:
            await signing.call_signees_to_sign(job.payload, JobContext(job.id, attempt, session, database))

    async with database.transaction() as session:
        orders = (await session.scalars(select(NotificationOrder).where(
            NotificationOrder.senders_reference == str(instance_id)))).all()
        instance = await storage.instance_row(session, instance_id)
        ctx = task_context(session, runtime, receipt_app, instance, "Task_Signering", await kari_caller(database))
        ctx.task = dataclasses.replace(ctx.task, config={"signatureConfig": {
            **ctx.task.config["signatureConfig"], "signeeStatesDataTypeId": "signatur-status"}})
        states = await signing.signee_states(ctx)
    assert sorted(order.recipients[0].get("person") or order.recipients[0]["organization"] for order in orders) == [
        KARI, "309999908"]  # Ola is called for the organisation he signs for
    assert {order.creator for order in orders} == {"/org/405003309"}  # ttd's orders: the app's service owner
    assert "Oppgave til signering" in orders[0].texts["email"]["subject"]
    assert [state["notificationStatus"] for state in states] == ["Sent", "Sent", "Failed"]


async def test_next_with_sign_signs_for_the_organisation_named_as_action_on_behalf_of(client, runtime, receipt_app,
                                                                                    kari) -> None:
    """process/next's actionOnBehalfOf is the organisation the signature is for: without a signee list, only the
    instance owner may be signed for, so Kari (the owner) cannot sign her own form for a company."""
    path = receipt_app.path(await instance_in_task(runtime, receipt_app, "Task_Signering"))
    for_a_company = await client.put(f"{path}/process/next", headers=kari,
                                      json={"action": "sign", "actionOnBehalfOf": "309999908"})
    assert for_a_company.status_code == 403 and for_a_company.json()["code"] == "not_a_signee"
    assert (await client.get(f"{path}/signing", headers=kari)).json() == {"signeeStates": []}  # nothing signed
    signed = await client.put(f"{path}/process/next", headers=kari, json={"action": "sign"},
                              params={"returnInstance": "true"})
    assert signed.status_code == 200 and signed.json()["process"]["currentTask"]["elementId"] == "Task_Betaling"
    assert "signatur" in {element["dataType"] for element in signed.json()["data"]}
