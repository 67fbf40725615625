import json

from sqlalchemy import select

from felles.core.audit import AuditEntry
from tests.authorization.world import REFERENCE, SKD
from tests.conftest import bearer

WRITE = "altinn:resourceregistry/resource.write"
LISTS = "altinn:resourceregistry/accesslist.write"
RESOURCE_FILE = REFERENCE / "resourceregistry" / "resources" / "ske-innrapportering-boligsameie.json"
POLICY_FILE = REFERENCE / "pdp" / "resources" / "ttd-accesspackage-resource.policy.xml"


def resource_document() -> dict:
    return json.loads(RESOURCE_FILE.read_text(encoding="utf-8"))


async def test_service_owner_registers_reads_and_updates_its_resource(client, database, token):
    owner = bearer(token(scopes=[WRITE], org=SKD))
    created = await client.post("/resourceregistry/api/v1/resource", json=resource_document(), headers=owner)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["identifier"] == "ske-innrapportering-boligsameie" and body["versionId"] == 1
    assert body["title"]["nn"].startswith("Bustadsameige") and body["resourceType"] == "GenericAccessResource"
    read = await client.get("/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie")
    assert read.json() == body
    changed = {**resource_document(), "delegable": False}
    updated = await client.put("/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie", json=changed,
                               headers={**owner, "If-Match": "1"})
    assert updated.status_code == 200 and updated.json()["delegable"] is False and updated.json()["versionId"] == 2
    stale = await client.put("/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie", json=changed,
                             headers={**owner, "If-Match": "1"})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    listed = await client.get("/resourceregistry/api/v1/resource/resourcelist")
    assert [r["identifier"] for r in listed.json()] == ["ske-innrapportering-boligsameie"]
    async with database.transaction() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.resource == "authorization.resource")))
    assert sorted(actions) == ["create", "update"]


async def test_only_the_competent_authority_may_write(client, database, token):
    other = bearer(token(scopes=[WRITE], org="991825827"))
    response = await client.post("/resourceregistry/api/v1/resource", json=resource_document(), headers=other)
    assert response.status_code == 403 and response.json()["code"] == "not_resource_owner"
    owner = bearer(token(scopes=[WRITE], org=SKD))
    assert (await client.post("/resourceregistry/api/v1/resource", json=resource_document(),
                              headers=owner)).status_code == 201
    for attempt in (
        client.put("/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie", json=resource_document(),
                   headers=other),
        client.delete("/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie", headers=other),
        client.put("/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie/policy",
                   content=POLICY_FILE.read_bytes(), headers={**other, "Content-Type": "application/xml"}),
    ):
        refused = await attempt
        assert refused.status_code == 403, refused.text
    without_scope = bearer(token(scopes=["altinn:authorization/authorize"], org=SKD))
    assert (await client.delete("/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie",
                                headers=without_scope)).status_code == 403
    # Taking over another owner's resource by naming yourself in an update is refused too.
    hijack = {**resource_document(), "hasCompetentAuthority": {"organization": "991825827", "orgcode": "ttd"}}
    assert (await client.put("/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie", json=hijack,
                             headers=owner)).status_code == 403


async def test_policy_upload_is_validated_and_served(client, database, token):
    owner = bearer(token(scopes=[WRITE], org=SKD))
    await client.post("/resourceregistry/api/v1/resource", json=resource_document(), headers=owner)
    path = "/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie/policy"
    assert (await client.get(path)).status_code == 404
    broken = await client.put(path, content=b"<Policy>", headers={**owner, "Content-Type": "application/xml"})
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_policy"
    not_xacml = await client.put(path, content=b"<Policy xmlns='urn:oasis:names:tc:xacml:3.0:core:schema:wd-17'/>",
                                 headers={**owner, "Content-Type": "application/xml"})
    assert not_xacml.status_code == 400
    stored = await client.put(path, content=POLICY_FILE.read_bytes(),
                              headers={**owner, "Content-Type": "application/xml"})
    assert stored.status_code == 200 and stored.json()["policyVersion"] == 1
    served = await client.get(path)
    assert served.headers["content-type"].startswith("application/xml") and "ansettelsesforhold" in served.text


async def test_access_lists_belong_to_their_service_owner(client, database, token):
    owner = bearer(token(scopes=[WRITE, LISTS], org=SKD))
    await client.post("/resourceregistry/api/v1/resource", json=resource_document(), headers=owner)
    base = "/resourceregistry/api/v1/access-lists/skd/godkjente-sameier"
    created = await client.put(base, json={"name": "Godkjente sameier"}, headers=owner)
    assert created.status_code == 200 and created.json()["version"] == 1
    members = await client.put(f"{base}/members", json={"data": ["910000012", "910000020"]}, headers=owner)
    assert members.json()["members"] == ["910000012", "910000020"]
    connected = await client.put(f"{base}/resource-connections/ske-innrapportering-boligsameie",
                                 json={"actionFilters": ["read"]}, headers=owner)
    assert connected.json()["resourceConnections"] == [
        {"resourceIdentifier": "ske-innrapportering-boligsameie", "actions": ["read"]}]
    stranger = bearer(token(scopes=[LISTS], org="991825827"))
    refused = await client.put(f"{base}/members", json={"data": ["910000039"]}, headers=stranger)
    assert refused.status_code == 403 and refused.json()["code"] == "not_list_owner"
    invalid = await client.put(f"{base}/members", json={"data": ["12345"]}, headers=owner)
    assert invalid.status_code == 400


async def _register_reference_resources(client, token) -> None:
    owner = bearer(token(scopes=[WRITE], org=SKD))
    consent = {**json.loads((RESOURCE_FILE.parent / "stami-samtykke-must.json").read_text(encoding="utf-8")),
               "visible": True}
    hidden = {**resource_document(), "identifier": "skd-hidden", "visible": False}
    for document in (resource_document(), hidden):
        assert (await client.post("/resourceregistry/api/v1/resource", json=document, headers=owner)).status_code == 201
    consent_owner = bearer(token(scopes=[WRITE], org=consent["hasCompetentAuthority"]["organization"]))
    created = await client.post("/resourceregistry/api/v1/resource", json=consent, headers=consent_owner)
    assert created.status_code == 201, created.text


async def test_search_matches_every_criterion_given_in_any_language_and_never_shows_hidden_resources(client, token):
    await _register_reference_resources(client, token)

    async def found(**criteria) -> list[str]:
        response = await client.get("/resourceregistry/api/v1/resource/search", params=criteria)
        assert response.status_code == 200, response.text
        return [resource["identifier"] for resource in response.json()]

    assert await found() == ["ske-innrapportering-boligsameie", "stami-samtykke-must"]
    assert await found(title="BUSTADSAMEIGE") == ["ske-innrapportering-boligsameie"]
    assert await found(resourceType="Consent") == ["stami-samtykke-must"]
    assert await found(title="bustadsameige", resourceType="Consent") == []
    assert await found(id="skd-hidden") == []
    refused = await client.get("/resourceregistry/api/v1/resource/search", params={"resourceType": "Nonsense"})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"


async def test_export_is_a_turtle_catalogue_of_the_visible_resources(client, token, settings):
    from rdflib import Graph, URIRef
    from rdflib.namespace import RDF

    from felles.authorization.dcat import CPSV

    await _register_reference_resources(client, token)
    response = await client.get("/resourceregistry/api/v1/resource/export")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    base = f"{settings.base_url}/resourceregistry/api/v1/resource/"
    assert set(graph.subjects(RDF.type, CPSV.PublicService)) == {
        URIRef(base + "ske-innrapportering-boligsameie"), URIRef(base + "stami-samtykke-must")}


async def test_access_list_authorization_answers_as_altinn_for_organisations_and_persons(client, database, token):
    owner = bearer(token(scopes=[WRITE, LISTS], org=SKD))
    await client.post("/resourceregistry/api/v1/resource", json=resource_document(), headers=owner)
    base = "/resourceregistry/api/v1/access-lists/skd/lesere"
    await client.put(base, json={"name": "Lesere"}, headers=owner)
    await client.put(f"{base}/members", json={"data": ["910000012"]}, headers=owner)
    await client.put(f"{base}/resource-connections/ske-innrapportering-boligsameie",
                     json={"actionFilters": ["read"]}, headers=owner)
    url = "/authorization/api/v1/accesslist/accessmanagement/authorization"
    pdp = bearer(token(scopes=["altinn:authorization/authorize"], org="991825827"))

    async def ask(subject: dict, action: str | None = "read", resource: str = "ske-innrapportering-boligsameie"):
        body = {"subject": subject, "resource": {"type": "urn:altinn:resource", "value": resource}}
        if action is not None:
            body["action"] = {"type": "urn:oasis:names:tc:xacml:1.0:action:action-id", "value": action}
        return await client.post(url, json=body, headers=pdp)

    member = {"type": "urn:altinn:organization:identifier-no", "value": "910000012"}
    answered = await ask(member)
    assert answered.status_code == 200 and answered.json() == {
        "subject": member, "resource": {"type": "urn:altinn:resource", "value": "ske-innrapportering-boligsameie"},
        "action": {"type": "urn:oasis:names:tc:xacml:1.0:action:action-id", "value": "read"},
        "result": "Authorized"}
    assert (await ask(member, "write")).json()["result"] == "NotAuthorized"  # outside the action filter
    assert (await ask(member, None)).json()["result"] == "NotAuthorized"
    other = {"type": "urn:altinn:organization:identifier-no", "value": "910000020"}
    assert (await ask(other)).json()["result"] == "NotAuthorized"
    person = {"type": "urn:altinn:organization:identifier-no", "value": "02027210212"}
    assert (await ask(person)).json()["result"] == "NotApplicable"
    assert (await ask(member, resource="no-such-resource")).status_code == 404
    bad = await ask({"type": "urn:altinn:rolecode", "value": "dagl"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_subject"
    assert (await client.post(url, json={"subject": member, "resource": {"type": "urn:altinn:resource",
                                                                          "value": "x"}})).status_code == 401


DIGDIR = "991825827"


async def test_the_competent_authority_comes_from_the_registry_of_service_owners(client, token):
    owner = bearer(token(scopes=[WRITE], org=SKD))
    named_otherwise = {**resource_document(), "hasCompetentAuthority": {
        "organization": SKD, "orgcode": "SKD", "name": {"nb": "Falsk etat"}}}
    created = await client.post("/resourceregistry/api/v1/resource", json=named_otherwise, headers=owner)
    assert created.status_code == 201, created.text
    assert created.json()["hasCompetentAuthority"] == {
        "organization": SKD, "orgcode": "skd",
        "name": {"nb": "Skatteetaten", "nn": "Skatteetaten", "en": "Norwegian Tax Administration"}}
    # Claiming another owner's code with one's own organisation number is refused.
    digdir = bearer(token(scopes=[WRITE], org=DIGDIR))
    claim = {**resource_document(), "identifier": "digdir-as-skd",
             "hasCompetentAuthority": {"organization": DIGDIR, "orgcode": "skd"}}
    refused = await client.post("/resourceregistry/api/v1/resource", json=claim, headers=digdir)
    assert refused.status_code == 403 and refused.json()["code"] == "not_resource_owner"
    # An organisation that is no service owner owns nothing.
    stranger = bearer(token(scopes=[WRITE], org="910000012"))
    own = {**resource_document(), "identifier": "stranger-resource",
           "hasCompetentAuthority": {"organization": "910000012", "orgcode": "stranger"}}
    refused = await client.post("/resourceregistry/api/v1/resource", json=own, headers=stranger)
    assert refused.status_code == 403 and refused.json()["code"] == "not_service_owner"
    assert refused.headers["content-type"] == "application/problem+json"


async def test_another_organisation_cannot_take_over_or_read_an_owners_access_lists(client, token):
    owner = bearer(token(scopes=[WRITE, LISTS], org=SKD))
    await client.post("/resourceregistry/api/v1/resource", json=resource_document(), headers=owner)
    base = "/resourceregistry/api/v1/access-lists/skd/godkjente-sameier"
    await client.put(base, json={"name": "Godkjente sameier"}, headers=owner)
    await client.put(f"{base}/members", json={"data": ["910000012"]}, headers=owner)
    digdir = bearer(token(scopes=[WRITE, LISTS], org=DIGDIR))
    # Digdir's own resource, which once let it pass for skd by naming skd's code.
    claim = {**resource_document(), "identifier": "digdir-claims-skd",
             "hasCompetentAuthority": {"organization": DIGDIR, "orgcode": "skd"}}
    assert (await client.post("/resourceregistry/api/v1/resource", json=claim, headers=digdir)).status_code == 403
    for attempt in (client.put(base, json={"name": "Overtatt"}, headers=digdir),
                    client.put(f"{base}/members", json={"data": ["910000039"]}, headers=digdir),
                    client.put(f"{base}/resource-connections/ske-innrapportering-boligsameie", json={},
                               headers=digdir),
                    client.get(base, headers=digdir)):
        refused = await attempt
        assert refused.status_code == 403 and refused.json()["code"] == "not_list_owner", refused.text
    read = await client.get(base, headers=owner)
    assert read.status_code == 200 and read.json()["name"] == "Godkjente sameier"
    assert read.json()["members"] == ["910000012"]


async def test_an_access_list_opens_only_its_owners_resources(client, token):
    skd = bearer(token(scopes=[WRITE, LISTS], org=SKD))
    await client.post("/resourceregistry/api/v1/resource", json=resource_document(), headers=skd)
    digdir = bearer(token(scopes=[WRITE, LISTS], org=DIGDIR))
    base = "/resourceregistry/api/v1/access-lists/digdir/venner"
    assert (await client.put(base, json={"name": "Venner"}, headers=digdir)).status_code == 200
    refused = await client.put(f"{base}/resource-connections/ske-innrapportering-boligsameie", json={},
                               headers=digdir)
    assert refused.status_code == 403 and refused.json()["code"] == "not_resource_owner"


async def test_a_policy_is_uploaded_as_the_body_or_as_altinns_multipart_policy_file(client, token):
    owner = bearer(token(scopes=[WRITE], org=SKD))
    await client.post("/resourceregistry/api/v1/resource", json=resource_document(), headers=owner)
    path = "/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie/policy"
    as_form = await client.put(path, headers=owner, files={
        "policyFile": ("policy.xml", POLICY_FILE.read_bytes(), "application/xml")})
    assert as_form.status_code == 200, as_form.text
    assert as_form.json()["policyVersion"] == 1 and "ansettelsesforhold" in (await client.get(path)).text
    wrong_name = await client.put(path, headers=owner, files={"file": ("p.xml", POLICY_FILE.read_bytes())})
    assert wrong_name.status_code == 400 and wrong_name.json()["code"] == "policy_file_missing"


async def test_a_policy_larger_than_a_megabyte_is_refused(client, token):
    owner = bearer(token(scopes=[WRITE], org=SKD))
    await client.post("/resourceregistry/api/v1/resource", json=resource_document(), headers=owner)
    path = "/resourceregistry/api/v1/resource/ske-innrapportering-boligsameie/policy"
    policy = POLICY_FILE.read_bytes()
    # A valid policy blown up with a long description, as the 54 MB one that was once accepted.
    huge = policy.replace(b"<xacml:Description>", b"<xacml:Description>" + b"x" * (1024 * 1024), 1)
    for upload in ({"content": huge, "headers": {**owner, "Content-Type": "application/xml"}},
                   {"files": {"policyFile": ("policy.xml", huge, "application/xml")}, "headers": owner}):
        refused = await client.put(path, **upload)
        assert refused.status_code == 413, refused.text
        assert refused.json()["code"] == "policy_too_large"
        assert refused.headers["content-type"] == "application/problem+json"
    assert (await client.get(path)).status_code == 404
