"""API models of the resource registry, access management and authorized parties (Altinn's field names)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

IDENTIFIER_PATTERN = r"^[a-z0-9][a-z0-9_-]{2,99}$"


class ResourceType(StrEnum):
    DEFAULT = "Default"
    SYSTEMRESOURCE = "Systemresource"
    MASKINPORTEN_SCHEMA = "MaskinportenSchema"
    ALTINN2_SERVICE = "Altinn2Service"
    ALTINN_APP = "AltinnApp"
    GENERIC_ACCESS_RESOURCE = "GenericAccessResource"
    BROKER_SERVICE = "BrokerService"
    CORRESPONDENCE_SERVICE = "CorrespondenceService"
    CONSENT = "Consent"
    MIGRATED_APP = "MigratedApp"


class AvailableForType(StrEnum):
    PRIVATE_PERSON = "PrivatePerson"
    LEGAL_ENTITY_ENTERPRISE = "LegalEntityEnterprise"
    COMPANY = "Company"
    BANKRUPTCY_ESTATE = "BankruptcyEstate"
    SELF_REGISTERED_USER = "SelfRegisteredUser"


class CompetentAuthority(BaseModel):
    """The service owner (tjenesteeier) of a resource."""

    organization: str = Field(pattern=r"^\d{9}$", description="Organisation number")
    orgcode: str = Field(min_length=2, max_length=20, description="Service owner code, e.g. skd")
    name: dict[str, str] | None = None


class ServiceOwnerPublic(BaseModel):
    """Tjenesteeier: an organisation in the registry of service owners, under its code."""

    orgcode: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,19}$", description="Service owner code, e.g. skd")
    organization: str = Field(pattern=r"^\d{9}$", description="Organisation number")
    name: dict[str, str] = Field(description="The owner's name by language (nb, nn, en)")


class ContactPoint(BaseModel):
    category: str = ""
    email: str = ""
    telephone: str = ""
    contactPage: str = ""


class ResourceReference(BaseModel):
    referenceSource: Literal["Default", "Altinn1", "Altinn2", "Altinn3", "ExternalPlatform"] = "Default"
    reference: str
    referenceType: Literal["Default", "Uri", "DelegationSchemeId", "MaskinportenScope", "ServiceCode",
                           "ServiceEditionCode", "ApplicationId", "ServiceEditionVersion"] = "Default"


class Keyword(BaseModel):
    word: str
    language: str = "nb"


class AuthorizationReference(BaseModel):
    id: str
    value: str


class ConsentMetadataField(BaseModel):
    optional: bool = False


class ServiceResource(BaseModel):
    """A resource of the resource registry (Altinn's ``ServiceResource``)."""

    model_config = ConfigDict(extra="ignore")

    identifier: str = Field(pattern=IDENTIFIER_PATTERN)
    version: str | None = None
    title: dict[str, str]
    description: dict[str, str] = Field(default_factory=dict)
    rightDescription: dict[str, str] = Field(default_factory=dict)
    homepage: str | None = None
    status: str | None = None
    spatial: list[str] | None = None
    produces: list[str] | None = None
    isPartOf: str | None = None
    thematicAreas: list[str] | None = None
    contactPoints: list[ContactPoint] = Field(default_factory=list)
    resourceReferences: list[ResourceReference] = Field(default_factory=list)
    delegable: bool = True
    visible: bool = True
    hasCompetentAuthority: CompetentAuthority
    keywords: list[Keyword] = Field(default_factory=list)
    accessListMode: Literal["Disabled", "Enabled"] = "Disabled"
    selfIdentifiedUserEnabled: bool = False
    enterpriseUserEnabled: bool = False
    resourceType: ResourceType = ResourceType.DEFAULT
    availableForType: list[AvailableForType] = Field(default_factory=list)
    authorizationReference: list[AuthorizationReference] = Field(default_factory=list)
    consentTemplate: str | None = None
    consentText: dict[str, str] | None = None
    consentMetadata: dict[str, ConsentMetadataField] | None = None
    isOneTimeConsent: bool = False
    versionId: int | None = Field(default=None, description="Set by the registry; bumped on every change")


class ResourceSearch(BaseModel):
    """The criteria of the registry's resource search; each given one must match."""

    id: str | None = Field(default=None, max_length=255, description="Part of the identifier")
    title: str | None = Field(default=None, max_length=255, description="Part of the title, in any language")
    description: str | None = Field(default=None, max_length=255,
                                    description="Part of the description, in any language")
    resourceType: ResourceType | None = None
    keyword: str | None = Field(default=None, max_length=255, description="Part of a keyword")



# --- what a resource's policy grants ------------------------------------------------------------------------
Item = TypeVar("Item")


class PaginatedLinks(BaseModel):
    next: str | None = Field(description="The next page, or null on the last page")


class Paginated(BaseModel, Generic[Item]):
    """Altinn's ``Paginated`` list envelope."""

    links: PaginatedLinks = Field(default_factory=lambda: PaginatedLinks(next=None))
    data: list[Item]


class UrnTypeValue(BaseModel):
    """Altinn's ``UrnJsonTypeValue``: a URN as its type (the XACML AttributeId) and its value."""

    type: str = Field(examples=["urn:altinn:rolecode"])
    value: str = Field(examples=["DAGL"])


class AccessListAuthorizationRequest(BaseModel):
    """Altinn's access-list authorization request: may this party use the resource through an access list?"""

    subject: UrnTypeValue = Field(examples=[{"type": "urn:altinn:organization:identifier-no", "value": "910459880"}])
    resource: UrnTypeValue = Field(examples=[{"type": "urn:altinn:resource", "value": "ttd-accesslist-resource"}])
    action: UrnTypeValue | None = Field(
        default=None, examples=[{"type": "urn:oasis:names:tc:xacml:1.0:action:action-id", "value": "read"}])


class AccessListAuthorizationResponse(AccessListAuthorizationRequest):
    # NotApplicable: the subject is not an organisation (access lists hold organisations only).
    result: Literal["NotApplicable", "NotDetermined", "NotAuthorized", "Authorized"]


class AttributeMatchV2(BaseModel):
    """Altinn's ``AttributeMatchV2``: an attribute as type, value and the whole URN."""

    type: str = Field(examples=["urn:altinn:rolecode"])
    value: str = Field(examples=["dagl"])
    urn: str = Field(examples=["urn:altinn:rolecode:dagl"])


class PolicyRule(BaseModel):
    """Altinn's ``PolicyRule``: one way a Permit rule applies — the subject attributes it requires together, one
    action, and the resource attributes that name the resource."""

    subject: list[UrnTypeValue]
    action: UrnTypeValue
    resource: list[UrnTypeValue]


class PolicySubject(BaseModel):
    subjectAttributes: list[UrnTypeValue]


class PolicyRight(BaseModel):
    """Altinn's ``PolicyRight`` (v1 rights): an action on a resource and the subjects the policy grants it to."""

    action: UrnTypeValue
    resource: list[UrnTypeValue]
    subjects: list[PolicySubject]
    rightKey: str = Field(description="The action value, the resource values ordered by URN and a hash of both",
                          examples=["read;ttd-accesspackage-resource;d2725084fc014bda067b63c193bc2390"])
    subjectTypes: list[str] = Field(description="The subjects' attribute types, sorted",
                                    examples=[["urn:altinn:accesspackage"]])


class SubjectResources(BaseModel):
    """Altinn's ``SubjectResources``: the resources whose policies grant a subject something."""

    subject: AttributeMatchV2
    resources: list[AttributeMatchV2]


# --- access lists --------------------------------------------------------------------------------------------
class AccessListCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)


class AccessListPublic(BaseModel):
    id: uuid.UUID
    owner: str
    identifier: str
    name: str
    description: str
    version: int
    members: list[str] = Field(default_factory=list)
    resourceConnections: list[dict[str, Any]] = Field(default_factory=list)


class AccessListMembers(BaseModel):
    data: list[str] = Field(description="Organisation numbers")


class ResourceConnection(BaseModel):
    actionFilters: list[str] | None = None


# --- access packages and delegations ------------------------------------------------------------------------
class AccessPackagePublic(BaseModel):
    id: uuid.UUID
    urn: str
    code: str
    name: dict[str, str]
    description: dict[str, str]
    area: str
    isDelegable: bool
    isAssignable: bool


class DelegationPublic(BaseModel):
    id: uuid.UUID
    fromParty: str
    toParty: str
    package: str | None = Field(default=None, description="Access package URN")
    resource: str | None = None
    action: str | None = None
    delegatedBy: str
    created: str
    facilitator: str | None = Field(default=None, description="Client delegation: the accountant, auditor or "
                                    "business manager organisation the package was passed on through")
    facilitatorRole: str | None = Field(default=None, description="Its role for the client, e.g. regnskapsforer")


class PackageDelegationCreate(BaseModel):
    """Give an access package: ``party`` (organisation or person) gives ``package`` to ``to``."""

    party: str = Field(description="Organisation number or fødselsnummer of the party giving access")
    to: str = Field(description="Fødselsnummer, organisation number or system user UUID receiving it")
    package: str = Field(description="Package code or URN, e.g. urn:altinn:accesspackage:skattegrunnlag")


class RightDelegationCreate(BaseModel):
    """Give single rights (resource + actions)."""

    party: str
    to: str
    resource: str
    actions: list[str] = Field(min_length=1)


# --- client delegation (klientdelegering) -------------------------------------------------------------------
class ClientRolePackages(BaseModel):
    """The packages an accountant (regnskapsforer), auditor (revisor) or business manager (forretningsforer)
    role gives for a client."""

    role: str = Field(description="regnskapsforer, revisor or forretningsforer")
    packages: list[str] = Field(description="Access package URNs (or codes, as input)")


class ClientDelegationInput(BaseModel):
    """Altinn's ``DelegationBatchInputDto``: client packages to pass on, per role."""

    values: list[ClientRolePackages] = Field(min_length=1)


class AgentCreate(BaseModel):
    """Altinn's ``PersonInput``: the person to register as the firm's agent, named by fødselsnummer and last
    name together, so a mistyped number cannot make a stranger an agent."""

    # Altinn reads JSON names case-insensitively, and its own guide writes "personidentifier".
    personIdentifier: str = Field(validation_alias=AliasChoices("personIdentifier", "personidentifier"),
                                  description="Fødselsnummer or D-nummer", examples=["01038712345"])
    lastName: str = Field(min_length=1, max_length=200, examples=["Salt"])


class AgentAssignmentPublic(BaseModel):
    """Altinn's ``AssignmentDto`` for the role agent: ``fromParty`` (the firm) has registered ``toParty`` as its
    agent."""

    id: uuid.UUID
    role: str = Field(description="Always urn:altinn:role:agent")
    fromParty: str = Field(description="The firm's organisation number")
    toParty: str = Field(description="The agent's fødselsnummer")
    agentAddedAt: str


class AgentPublic(BaseModel):
    """Altinn's ``AgentDto``: a person registered as the firm's agent (medarbeider), with the client packages
    the firm has passed on to them."""

    personIdentifier: str
    name: str | None = None
    agentAddedAt: str
    delegations: list[DelegationPublic] = Field(default_factory=list)


class ClientPublic(BaseModel):
    """A client of an accountant, auditor or business manager, with what the firm holds for it and what it
    has passed on to its employees."""

    organizationNumber: str
    name: str | None = None
    unitType: str | None = None
    access: list[ClientRolePackages]
    delegations: list[DelegationPublic] = Field(default_factory=list)


class ClientProviderPublic(BaseModel):
    """For a client: an organisation holding an accountant, auditor or business manager role for it."""

    organizationNumber: str
    name: str | None = None
    access: list[ClientRolePackages]
    delegations: list[DelegationPublic] = Field(default_factory=list)


class MyClientPublic(BaseModel):
    """For an employee: a client a firm has passed packages on to them for."""

    provider: str = Field(description="The firm's organisation number")
    providerName: str | None = None
    client: str
    clientName: str | None = None
    packages: list[str]


# --- access requests ----------------------------------------------------------------------------------------
class AccessRequestStatus(StrEnum):
    DRAFT = "Draft"
    PENDING = "Pending"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    WITHDRAWN = "Withdrawn"


class PackageRequestCreate(BaseModel):
    """Ask ``party`` for an access package."""

    party: str = Field(description="Organisation number or fødselsnummer of the party asked")
    package: str = Field(description="Package code or URN")
    message: str | None = Field(default=None, max_length=500)


class ResourceRequestCreate(BaseModel):
    """Ask ``party`` for one right: an action on a resource."""

    party: str = Field(description="Organisation number or fødselsnummer of the party asked")
    resource: str
    action: str = Field(min_length=1, max_length=50)
    message: str | None = Field(default=None, max_length=500)


class AccessRequestPublic(BaseModel):
    """Altinn's ``RequestDto``."""

    id: uuid.UUID
    type: Literal["package", "resource"]
    party: str = Field(description="The party asked to give access")
    requester: str = Field(description="The person asking (and receiving the access)")
    package: str | None = Field(default=None, description="Access package URN")
    resource: str | None = None
    action: str | None = None
    status: AccessRequestStatus
    message: str | None = None
    handledBy: str | None = None
    delegationId: uuid.UUID | None = None
    created: str
    lastChanged: str


# --- authorized parties -------------------------------------------------------------------------------------
class AuthorizedParty(BaseModel):
    """One party the user can act for (Altinn's ``AuthorizedPartyDto``)."""

    partyUuid: uuid.UUID
    name: str
    organizationNumber: str | None = None
    parentId: int | None = None
    personId: str | None = None
    dateOfBirth: str | None = None
    partyId: int
    type: Literal["Person", "Organization", "SystemUser"]
    unitType: str | None = None
    isDeleted: bool = False
    onlyHierarchyElementWithNoAccess: bool = False
    authorizedAccessPackages: list[str] = Field(default_factory=list)
    authorizedResources: list[str] = Field(default_factory=list)
    authorizedRoles: list[str] = Field(default_factory=list)
    authorizedInstances: list[dict[str, str]] = Field(default_factory=list)
    subunits: list[AuthorizedParty] = Field(default_factory=list)


class AuthorizedPartiesQuery(BaseModel):
    """Service owners' query: the parties one person or organisation can act for."""

    type: Literal["urn:altinn:person:identifier-no", "urn:altinn:organization:identifier-no",
                  "urn:altinn:party:uuid", "urn:altinn:partyid", "urn:altinn:userid",
                  "urn:altinn:systemuser:uuid"]
    value: str


# --- digitalt dødsbo (OED) roles, as oed-authz ------------------------------------------------------------------
NATIONAL_IDENTITY_NUMBER = r"^\d{11}$"


class HeirRole(BaseModel):
    nin: str = Field(pattern=NATIONAL_IDENTITY_NUMBER, description="The heir's fødselsnummer or D-nummer")
    role: str = Field(max_length=200, examples=["urn:domstolene:digitaltdodsbo:formuesfullmakt"])


class EstateRolesData(BaseModel):
    caseId: str = Field(default="", max_length=200, description="Digitalt dødsbo's case id")
    heirRoles: list[HeirRole] = Field(default_factory=list, max_length=1000)


class EstateCloudEvent(BaseModel):
    """The CloudEvent Digitalt dødsbo sends when the probate court's roles in an estate change: ``data`` holds
    every court role of the estate as it now is."""

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500)
    type: str = Field(min_length=1, max_length=200, examples=["no.altinn.events.digitalt-dodsbo.v1.heir-roles-updated"])
    subject: str | None = Field(default=None, max_length=200, description="/person/{the deceased's fødselsnummer}")
    time: AwareDatetime
    data: EstateRolesData | None = None


class EstateRolesUpdated(BaseModel):
    estateSsn: str | None = None
    added: int = 0
    removed: int = 0
    outdated: bool = Field(default=False, description="An older event than the roles stored; nothing changed")


class PipRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str | None = Field(default=None, alias="from", pattern=NATIONAL_IDENTITY_NUMBER,
                              description="The deceased (the estate)")
    to: str | None = Field(default=None, pattern=NATIONAL_IDENTITY_NUMBER, description="The heir (the recipient)")


class PipRoleAssignment(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    role: str = Field(alias="urn:digitaltdodsbo:rolecode")
    from_: str = Field(alias="from")
    to: str
    created: AwareDatetime


class PipResponse(BaseModel):
    roleAssignments: list[PipRoleAssignment]


class RolesSearchRequest(BaseModel):
    estateSsn: str | None = Field(default=None, pattern=NATIONAL_IDENTITY_NUMBER)
    recipientSsn: str | None = Field(default=None, pattern=NATIONAL_IDENTITY_NUMBER)


class RoleAssignment(BaseModel):
    estateSsn: str
    recipientSsn: str
    role: str
    created: AwareDatetime


class RolesSearchResponse(BaseModel):
    roleAssignments: list[RoleAssignment]
