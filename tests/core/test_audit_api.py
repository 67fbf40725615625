from felles.core import audit
from tests.conftest import bearer

SUBJECT = "47906701517"


async def record_reads(database, count: int, actor: str) -> None:
    async with database.transaction() as session:
        for _ in range(count):
            await audit.record(session, audit.Actor(actor), action="read", resource="krr.contact_information",
                               subjects=[SUBJECT])


async def test_pages_follow_continuation_tokens_and_ignore_inserts_made_meanwhile(client, database, token):
    await record_reads(database, 25, "organization:991825827")
    headers = bearer(token(scopes=[], person=SUBJECT))
    first = (await client.get("/audit/api/v1/me?limit=10", headers=headers)).json()
    assert len(first["items"]) == 10 and first["continuationToken"]
    await record_reads(database, 5, "organization:987464291")  # newer entries arrive while the client pages
    seen = [item["id"] for item in first["items"]]
    next_token = first["continuationToken"]
    while next_token:
        page = (await client.get(f"/audit/api/v1/me?limit=10&continuationToken={next_token}",
                                 headers=headers)).json()
        seen += [item["id"] for item in page["items"]]
        next_token = page["continuationToken"]
    assert len(seen) == len(set(seen)) == 25, "each of the original entries once, none of the newer ones"
    forged = await client.get("/audit/api/v1/me?continuationToken=abc", headers=headers)
    assert forged.status_code == 400 and forged.json()["code"] == "invalid_continuation_token"
    too_large = await client.get("/audit/api/v1/me?limit=1001", headers=headers)
    assert too_large.status_code == 422


async def test_operators_search_by_subject_and_actor_with_their_scope(client, database, token):
    await record_reads(database, 2, "organization:991825827")
    await record_reads(database, 1, "organization:987464291")
    operator = bearer(token(scopes=["felles:audit.read"], org="974760673"))
    found = await client.get("/audit/api/v1/entries?actor=organization:987464291", headers=operator)
    assert [i["actor"] for i in found.json()["items"]] == ["organization:987464291"]
    by_subject = await client.get(f"/audit/api/v1/entries?subject={SUBJECT}", headers=operator)
    assert len(by_subject.json()["items"]) == 3
    other_person = bearer(token(scopes=[], person="45840375084"))
    assert (await client.get("/audit/api/v1/me", headers=other_person)).json()["items"] == []
