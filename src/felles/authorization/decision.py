"""Altinn's decision point: the context handler around the XACML engine.

For each individual request (MultiRequests are split first):

1. Context: an instance id gives the app, task and party (``InstanceSource``); the subject (user id, person
   or organisation number, party UUID, system user) and the party acted for are resolved to identifiers.
2. The resource's one policy is taken from a per-process cache of compiled policies (keyed by resource id;
   ``app_{org}_{app}`` for apps), dropped in every process when a resource changes (``POLICY_TOPIC``, see
   ``core.cache_invalidation``) and re-read after ``POLICY_CACHE_SECONDS`` at the latest.
3. The engine evaluates it; the information point (``pip``) supplies roles, access packages, access lists and
   digitalt dødsbo roles when the policy asks for them.
4. NotApplicable → delegations: a single right delegated for (resource, action) permits, with the
   resource policy's obligations.
5. Permit on a resource with ``accessListMode`` Enabled → the party must be an organisation on an access list
   connected to the resource (for this action, when the connection filters actions), else Deny. A request
   without a party (a consumer asking to request consent) is about the subject: it must be on the list.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import select

from felles.authorization import pip
from felles.authorization.models import Resource
from felles.authorization.parties import PartyRef, kind_of, party_by, party_details
from felles.authorization.xacml import (
    Attribute,
    AttributeKey,
    Attributes,
    Decision,
    EvaluationContext,
    PolicyDecisionPoint,
    PolicyStore,
    Request,
    Response,
    Result,
    Status,
    XacmlSyntaxError,
)
from felles.authorization.xacml.combining import PERMIT
from felles.authorization.xacml.engine import individual_requests
from felles.authorization.xacml.model import (
    ACCESS_SUBJECT,
    ACTION,
    ACTION_ID,
    RESOURCE,
    STATUS_PROCESSING_ERROR,
    Obligation,
)
from felles.authorization.xacml.policies import Policy
from felles.core import cache_invalidation
from felles.core.db import Database

STRING = "http://www.w3.org/2001/XMLSchema#string"
USER_ID = "urn:altinn:userid"
PARTY_ID = "urn:altinn:partyid"
PARTY_UUID = "urn:altinn:party:uuid"
PERSON_UUID = "urn:altinn:person:uuid"
PERSON_ID = "urn:altinn:person:identifier-no"
ORGANIZATION_ID = "urn:altinn:organization:identifier-no"
LEGACY_ORGANIZATION_ID = "urn:altinn:organizationnumber"
SYSTEM_USER = "urn:altinn:systemuser:uuid"
ORG = "urn:altinn:org"
APP = "urn:altinn:app"
TASK = "urn:altinn:task"
END_EVENT = "urn:altinn:end-event"
RESOURCE_ID = "urn:altinn:resource"
INSTANCE_ID = "urn:altinn:instance-id"
ROLECODE = "urn:altinn:rolecode"
ACCESS_PACKAGE = "urn:altinn:accesspackage"
CCR_ROLE = "urn:altinn:external-role:ccr"
CRA_ROLE = "urn:altinn:external-role:cra"
PARTY_TYPE = "urn:altinn:partytype"
ACCESS_LIST = "urn:altinn:access-list"
ESTATE_ROLE = "urn:digitaltdodsbo:rolecode"
POLICY_CACHE_SECONDS = 30.0
POLICY_TOPIC = "authorization.policy"  # announced with every resource change


class InstanceMetadata(NamedTuple):
    org: str
    app: str
    task: str | None = None
    end_event: str | None = None


class InstanceSource(Protocol):
    """Where an app instance's app and current task are found (Altinn Storage)."""

    async def instance(self, instance_id: str) -> InstanceMetadata | None: ...


class NoInstances:
    """No instance storage: requests must name org and app themselves."""

    async def instance(self, instance_id: str) -> InstanceMetadata | None:
        return None


class InMemoryInstances:
    """A local instance source (tests, demos) until the apps component stores instances."""

    def __init__(self, instances: dict[str, InstanceMetadata] | None = None) -> None:
        self.instances = dict(instances or {})

    async def instance(self, instance_id: str) -> InstanceMetadata | None:
        return self.instances.get(instance_id)


# --- compiled policies, cached per process ---------------------------------------------------------------------
@dataclass(frozen=True)
class CompiledResource:
    identifier: str
    pdp: PolicyDecisionPoint
    policy: Any
    access_list_mode: str
    # The subject attributes the policy refers to: the information point loads only what it may be asked for.
    subject_attributes: frozenset[str] = frozenset()

    def permit_obligations(self, attributes: list[Attributes]) -> list[Obligation]:
        """The policy's own obligations on Permit (a delegation inherits them, as in Altinn)."""
        if not isinstance(self.policy, Policy):
            return []
        ctx = EvaluationContext(attributes)
        return [o.evaluate(ctx) for o in self.policy.obligations if o.applies_to == PERMIT]  # type: ignore[misc]


_policies: dict[tuple[str, str], tuple[float, CompiledResource | None]] = {}


def invalidate_policy(resource_identifier: str | None = None) -> None:
    """Drop a resource's compiled policy (or all of them) from this process's cache."""
    if resource_identifier is None:
        _policies.clear()
        return
    for key in [k for k in _policies if k[1] == resource_identifier]:
        _policies.pop(key, None)


cache_invalidation.on_change(POLICY_TOPIC, invalidate_policy)
_loading: dict[tuple[str, str], asyncio.Future[CompiledResource | None]] = {}


async def compiled_resource(database: Database, identifier: str) -> CompiledResource | None:
    """The resource's compiled policy, from the cache; concurrent misses share one load."""
    await cache_invalidation.check(database)
    key = (database.url, identifier)
    hit = _policies.get(key)
    if hit is not None and time.monotonic() - hit[0] < POLICY_CACHE_SECONDS:
        return hit[1]
    running = _loading.get(key)
    if running is None:
        running = _loading[key] = asyncio.ensure_future(_load_resource(database, identifier))
        running.add_done_callback(lambda _: _loading.pop(key, None))
    return await asyncio.shield(running)


async def _load_resource(database: Database, identifier: str) -> CompiledResource | None:
    key = (database.url, identifier)
    async with database.transaction() as session:
        row = (await session.execute(
            select(Resource.policy_xml, Resource.access_list_mode).where(Resource.identifier == identifier)
        )).first()
    compiled = None
    if row is not None and row.policy_xml:
        store = PolicyStore()
        policy = store.add(row.policy_xml.encode())
        subject_attributes = frozenset(key.attribute_id for key in store.referenced(policy)
                                       if key.category == ACCESS_SUBJECT)
        compiled = CompiledResource(identifier, PolicyDecisionPoint(store), policy, row.access_list_mode,
                                    subject_attributes)
    if len(_policies) > 50_000:
        _policies.clear()
    _policies[key] = (time.monotonic(), compiled)
    return compiled


# --- the decision point ---------------------------------------------------------------------------------------
def _values(attributes: list[Attributes], category: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for entity in attributes:
        if entity.category == category:
            for attribute in entity.attributes:
                found.setdefault(attribute.attribute_id, []).extend(str(v) for v in attribute.values)
    return found


def _first(values: dict[str, list[Any]], *ids: str) -> str | None:
    for attribute_id in ids:
        if values.get(attribute_id):
            return str(values[attribute_id][0])
    return None


def _with_resource_attributes(attributes: list[Attributes], added: list[Attribute]) -> list[Attributes]:
    """The same request with ``added`` in its resource entity (a second entity would be a second request)."""
    result, done = [], False
    for entity in attributes:
        if entity.category == RESOURCE and not done:
            entity = Attributes(RESOURCE, [*entity.attributes, *added], entity.content, entity.id)
            done = True
        result.append(entity)
    return result


def _indeterminate(message: str) -> Result:
    return Result(Decision.INDETERMINATE, Status(STATUS_PROCESSING_ERROR, message))


class AltinnDecisionPoint:
    """Answers Altinn decision requests against the resource registry's policies and the information point."""

    def __init__(self, database: Database, instances: InstanceSource | None = None) -> None:
        self.database = database
        self.instances = instances or NoInstances()

    async def decide(self, request: Request) -> Response:
        try:
            individual = individual_requests(request)
        except XacmlSyntaxError as exc:
            return Response([_indeterminate(str(exc))])
        if len(individual) == 1:  # the usual case: no task to schedule
            return Response([await self._decide_one(individual[0], request.return_policy_id_list)])
        results = await asyncio.gather(*(self._decide_one(attributes, request.return_policy_id_list)
                                         for attributes in individual))
        return Response(list(results))

    async def _decide_one(self, attributes: list[Attributes], return_policy_ids: bool) -> Result:
        subject = _values(attributes, ACCESS_SUBJECT)
        resource = _values(attributes, RESOURCE)
        if not subject:
            return _indeterminate("The request has no subject attributes.")
        if not resource:
            return _indeterminate("The request has no resource attributes.")
        if SYSTEM_USER in subject and len(subject) > 1:
            return _indeterminate("A system user must be the request's only subject attribute.")
        added: list[Attribute] = []
        instance_id = _first(resource, INSTANCE_ID)
        if instance_id and not (resource.get(ORG) and resource.get(APP)):
            metadata = await self.instances.instance(instance_id)
            if metadata is None:
                return _indeterminate(f"Unknown instance {instance_id}.")
            for attribute_id, value in ((ORG, metadata.org), (APP, metadata.app), (TASK, metadata.task),
                                        (END_EVENT, metadata.end_event)):
                if value and attribute_id not in resource:
                    added.append(Attribute(attribute_id, STRING, (value,)))
                    resource[attribute_id] = [value]
        if instance_id and not resource.get(PARTY_ID) and "/" in instance_id:
            # Altinn echoes the party it took from the instance id.
            added.append(Attribute(PARTY_ID, STRING, (instance_id.split("/", 1)[0],), include_in_result=True))
            resource[PARTY_ID] = [instance_id.split("/", 1)[0]]
        identifier = _first(resource, RESOURCE_ID)
        if identifier is None and resource.get(ORG) and resource.get(APP):
            identifier = f"app_{resource[ORG][0]}_{resource[APP][0]}"
        if identifier is None:
            return _indeterminate("The request names no resource (urn:altinn:resource, or org and app).")
        compiled = await compiled_resource(self.database, identifier)
        if compiled is None:
            return _indeterminate(f"No policy for resource {identifier}.")
        try:
            subject_party = await self._subject(subject)
            party = await self._party(resource)
        except ValueError as exc:
            return _indeterminate(str(exc))
        if added:
            attributes = _with_resource_attributes(attributes, added)
        provider = InformationPoint(self.database, subject_party, party)
        # Everything the policy may ask the information point for is loaded first; the engine then evaluates
        # without awaiting (an awaited provider costs a task per attribute).
        await provider.load(compiled.subject_attributes)
        response = compiled.pdp.decide(Request(attributes=attributes, return_policy_id_list=return_policy_ids),
                                       provider)
        result = response.results[0]
        if result.decision == Decision.NOT_APPLICABLE and subject_party and party:
            action = _first(_values(attributes, ACTION), ACTION_ID)
            access = await provider.access()
            if action and (identifier, action) in access.rights:
                result = Result(Decision.PERMIT, Status(), obligations=compiled.permit_obligations(attributes),
                                attributes=result.attributes,
                                policy_identifiers=[] if return_policy_ids else None)
        if result.decision == Decision.PERMIT and compiled.access_list_mode == "Enabled":
            action = _first(_values(attributes, ACTION), ACTION_ID) or ""
            # The organisation acted for; in a decision about the subject itself (a consent consumer asking
            # to request consent), the subject.
            organization = party if party is not None else subject_party
            if organization is None or kind_of(organization) != "organization" or not await pip.on_access_list(
                    self.database, identifier, organization, action):
                result = Result(Decision.DENY, Status(), attributes=result.attributes)
        return result

    async def _subject(self, subject: dict[str, list[Any]]) -> str | None:
        """The subject's identifier: fødselsnummer, organisation number or system user UUID."""
        if value := _first(subject, SYSTEM_USER):
            return value
        if value := _first(subject, PERSON_ID):
            return value
        if value := _first(subject, USER_ID):
            return await self._lookup(user_id=value)
        if value := _first(subject, PARTY_UUID, PERSON_UUID):
            return await self._lookup(party_uuid=value)
        if value := _first(subject, ORGANIZATION_ID, LEGACY_ORGANIZATION_ID):
            return value
        if value := _first(subject, PARTY_ID):
            return await self._lookup(party_id=value)
        return None

    async def _party(self, resource: dict[str, list[Any]]) -> str | None:
        if value := _first(resource, ORGANIZATION_ID, PERSON_ID):
            return value
        if value := _first(resource, PARTY_ID):
            return await self._lookup(party_id=value)
        if value := _first(resource, PARTY_UUID):
            return await self._lookup(party_uuid=value)
        return None

    async def _lookup(self, *, user_id: str | None = None, party_id: str | None = None,
                      party_uuid: str | None = None) -> str | None:
        try:
            async with self.database.transaction() as session:
                ref: PartyRef | None = await party_by(
                    session, user_id=int(user_id) if user_id else None,
                    party_id=int(party_id) if party_id else None,
                    party_uuid=uuid.UUID(party_uuid) if party_uuid else None)
        except ValueError:
            raise ValueError(f"Not a valid party reference: {user_id or party_id or party_uuid}") from None
        return ref.identifier if ref is not None else None


class InformationPoint:
    """The ``AttributeProvider`` of one decision: the subject's roles and packages for the party, and the access
    lists of an organisation acting for itself, loaded before evaluation (``load``)."""

    def __init__(self, database: Database, subject: str | None, party: str | None) -> None:
        self.database, self.subject, self.party = database, subject, party
        self._access: pip.PartyAccess | None = None
        self._access_lists: list[str] = []
        self._estate_roles: list[str] = []

    async def load(self, attribute_ids: frozenset[str]) -> None:
        """Load what answering these subject attributes needs."""
        if not attribute_ids.isdisjoint(_ACCESS_ATTRIBUTES):
            await self.access()
        if ACCESS_LIST in attribute_ids and self._acts_for_itself_as_organization:
            self._access_lists = await pip.access_list_memberships(self.database, self.subject or "")
        if ESTATE_ROLE in attribute_ids and self._acts_for_a_person_as_a_person:
            # The party is a deceased's estate when the probate court has given the subject roles in it.
            self._estate_roles = [row.role_code for row in await pip.estate_roles(
                self.database, estate=self.party, recipient=self.subject)]

    @property
    def _acts_for_a_person_as_a_person(self) -> bool:
        return (self.subject is not None and self.party is not None and kind_of(self.subject) == "person"
                and kind_of(self.party) == "person")

    @property
    def _acts_for_itself_as_organization(self) -> bool:
        return self.subject is not None and self.party is None and kind_of(self.subject) == "organization"

    async def access(self) -> pip.PartyAccess:
        if self._access is None:
            self._access = await self._load_access()
        return self._access

    async def _load_access(self) -> pip.PartyAccess:
        if self.subject is None or self.party is None:
            return pip.PartyAccess()
        with_persons = kind_of(self.party) == "person"
        access = await pip.subject_access(self.database, self.subject, with_persons=with_persons)
        if self.party not in access.details:
            access.details.update(await party_details(self.database, [self.party]))
        return access.for_party(self.party)

    def find_attribute(self, key: AttributeKey, context: EvaluationContext) -> list[str]:
        if key.category != ACCESS_SUBJECT:
            return []
        attribute = key.attribute_id
        access = self._access or _NO_ACCESS
        if attribute == ROLECODE:
            return sorted(access.rolecodes)
        if attribute == ACCESS_PACKAGE:
            return sorted(access.packages)
        if attribute in (CCR_ROLE, CRA_ROLE):
            return sorted(access.roles)
        if attribute == PARTY_TYPE and self.subject is not None and self.party is None:
            return [kind_of(self.subject)]
        if attribute == ACCESS_LIST and self._acts_for_itself_as_organization:
            return self._access_lists
        if attribute == ESTATE_ROLE:
            return self._estate_roles
        return []


_ACCESS_ATTRIBUTES = frozenset({ROLECODE, ACCESS_PACKAGE, CCR_ROLE, CRA_ROLE})
_NO_ACCESS = pip.PartyAccess()
