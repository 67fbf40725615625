"""The next-move message API's JSON, as eFormidling's integrasjonspunkt (eFormidling 2) writes and reads it: the
StandardBusinessDocument (SBD) with one business message (`digital`, `print`, `digital_dpv`, `arkivmelding`),
capabilities, conversations with their statuses, and Spring's page of results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ORGANIZATION_PREFIX = "0192:"
AUTHORITY = "iso6523-actorid-upis"
# documentIdentification.standard of each message type eFormidling knows, for those Felles takes.
STANDARDS = {
    "digital": "urn:no:difi:digitalpost:xsd:digital::digital",
    "print": "urn:no:difi:digitalpost:xsd:fysisk::print",
    "digital_dpv": "urn:no:difi:digitalpost:xsd:digital::digital_dpv",
    "arkivmelding": "urn:no:difi:arkivmelding:xsd::arkivmelding",
}
MessageType = Literal["digital", "print", "digital_dpv", "arkivmelding"]
# The CorrespondenceService resources (Digdir's) messages are sent through, one per channel; the resource registry
# and the PDP decide who may send through each. A message may name another in its channel's settings
# (`dpi`, `dpo` or `dpv`, as `resourceId`).
DPI_RESOURCE = "eformidling-dpi-meldingstjeneste"
DPO_RESOURCE = "eformidling-dpo-meldingstjeneste"
DPV_RESOURCE = "eformidling-dpv-meldingstjeneste"
CHANNEL_OF_TYPE = {"digital": "dpi", "print": "dpi", "arkivmelding": "dpo", "digital_dpv": "dpv"}
RESOURCE_OF_CHANNEL = {"dpi": DPI_RESOURCE, "dpo": DPO_RESOURCE, "dpv": DPV_RESOURCE}
# A channel's settings in a business message (eFormidling's `dpv`; Felles's `dpi` and `dpo`).
ChannelSettings = Annotated[dict[str, Any] | None, Field(
    description="The channel's settings; Felles reads `resourceId`, the service resource the message is sent "
                "through")]
# A date and time as sent, read where it is used (the OpenAPI description still says date-time).
DateTimeText = Annotated[str, Field(max_length=64, json_schema_extra={"format": "date-time"})]


class _Open(BaseModel):
    """eFormidling's documents carry more than Felles reads; the rest is kept and handed back as sent."""

    model_config = ConfigDict(extra="allow")


class Identifier(_Open):
    value: str = Field(min_length=1, max_length=20)
    authority: str = AUTHORITY


class Partner(_Open):
    identifier: Identifier


class DocumentIdentification(_Open):
    standard: str
    typeVersion: str = "2.0"
    instanceIdentifier: str | None = Field(default=None, max_length=36, description="The messageId")
    type: MessageType
    creationDateAndTime: datetime | None = None


class ScopeInformation(_Open):
    # Read by the service (`nextmove._expected_response`), so an unreadable one is a problem with its own code.
    expectedResponseDateTime: DateTimeText | None = Field(
        default=None, description="When the message's lifetime ends (ISO 8601 with its UTC offset); 24 hours after "
                                  "its creation when not given")


class Scope(_Open):
    type: str
    instanceIdentifier: str | None = Field(default=None, max_length=36)
    identifier: str | None = Field(default=None, max_length=100, description="The process")
    scopeInformation: list[ScopeInformation] = Field(default_factory=list)


class BusinessScope(_Open):
    scope: list[Scope] = Field(min_length=1)


class StandardBusinessDocumentHeader(_Open):
    headerVersion: str = "1.0"
    sender: list[Partner] = Field(min_length=1, max_length=1)
    receiver: list[Partner] = Field(min_length=1, max_length=1)
    documentIdentification: DocumentIdentification
    businessScope: BusinessScope


class DigitalPostInfo(_Open):
    virkningsdato: date
    aapningskvittering: bool = False


class Notices(_Open):
    """varsler: the e-mail and SMS texts the mailbox provider sends."""

    epostTekst: str | None = Field(default=None, max_length=500)
    smsTekst: str | None = Field(default=None, max_length=160)


class DigitalMessage(_Open):
    """DPI digital: a letter to a citizen's digital mailbox (Felles sends it on the channel that reaches them)."""

    hoveddokument: str = Field(min_length=1, max_length=255)
    sikkerhetsnivaa: int | None = Field(default=None, ge=3, le=4)
    avsenderId: str | None = None
    fakturaReferanse: str | None = None
    tittel: str = Field(min_length=1, max_length=255)
    spraak: str = "NO"
    digitalPostInfo: DigitalPostInfo
    varsler: Notices | None = None
    metadataFiler: dict[str, str] = Field(default_factory=dict)
    dpi: ChannelSettings = None


class PostAddress(_Open):
    navn: str = Field(min_length=1, max_length=200)
    adresselinje1: str = Field(min_length=1, max_length=200)
    adresselinje2: str | None = Field(default=None, max_length=200)
    adresselinje3: str | None = Field(default=None, max_length=200)
    adresselinje4: str | None = Field(default=None, max_length=200)
    postnummer: str = Field(min_length=1, max_length=20)
    poststed: str = Field(min_length=1, max_length=100)
    land: str = Field(min_length=1, max_length=100)


class MailReturn(_Open):
    mottaker: PostAddress
    returhaandtering: Literal["DIREKTE_RETUR", "MAKULERING_MED_MELDING"]


class PrintMessage(_Open):
    """DPI print: a paper letter to the address given."""

    hoveddokument: str = Field(min_length=1, max_length=255)
    avsenderId: str | None = None
    fakturaReferanse: str | None = None
    mottaker: PostAddress
    utskriftsfarge: Literal["SORT_HVIT", "FARGE"] | None = None
    posttype: Literal["A_PRIORITERT", "B_OEKONOMI"] | None = None
    retur: MailReturn
    printinstruksjoner: dict[str, str] = Field(default_factory=dict)
    dpi: ChannelSettings = None


class DigitalDpvMessage(_Open):
    """digital_dpv: a message read in Altinn (DPV)."""

    hoveddokument: str | None = Field(default=None, max_length=255)
    tittel: str = Field(min_length=1, max_length=255)
    sammendrag: str = Field(min_length=1, max_length=255)
    innhold: str = Field(min_length=1, max_length=10_000)
    dpv: ChannelSettings = None


class ArkivmeldingMessage(_Open):
    """arkivmelding: a Noark 5 archive message to an organisation's case system. Its files hold the Noark 5
    `arkivmelding.xml` and the documents that file names."""

    hoveddokument: str | None = Field(default=None, max_length=255)
    sikkerhetsnivaa: int | None = Field(default=None, ge=3, le=4)
    dpo: ChannelSettings = None
    dpv: dict[str, Any] | None = None
    dpf: dict[str, Any] | None = None


class StandardBusinessDocument(BaseModel):
    """A next-move message: the header, and the one business message its document type names."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    standardBusinessDocumentHeader: StandardBusinessDocumentHeader
    digital: DigitalMessage | None = None
    print_: PrintMessage | None = Field(default=None, alias="print")
    digital_dpv: DigitalDpvMessage | None = None
    arkivmelding: ArkivmeldingMessage | None = None

    @model_validator(mode="after")
    def _one_business_message_of_the_type(self) -> StandardBusinessDocument:
        identification = self.standardBusinessDocumentHeader.documentIdentification
        present = [name for name in STANDARDS if self.business_message_named(name) is not None]
        if present != [identification.type]:
            raise ValueError(f"the document must hold exactly the business message its type names "
                             f"({identification.type!r}); it holds {present or 'none'}")
        if identification.standard != STANDARDS[identification.type]:
            raise ValueError(f"documentIdentification.standard of a {identification.type!r} message is "
                             f"{STANDARDS[identification.type]!r}")
        return self

    def business_message_named(self, name: str) -> BaseModel | None:
        value: BaseModel | None = self.print_ if name == "print" else getattr(self, name)
        return value

    @property
    def message_type(self) -> MessageType:
        return self.standardBusinessDocumentHeader.documentIdentification.type

    @property
    def business_message(self) -> BaseModel:
        message = self.business_message_named(self.message_type)
        assert message is not None  # the validator saw to it
        return message

    @property
    def service_resource(self) -> str:
        """The resource the message is sent through: the one its channel's settings name, else the channel's."""
        channel = CHANNEL_OF_TYPE[self.message_type]
        settings = getattr(self.business_message, channel, None) or {}
        return str(settings.get("resourceId") or RESOURCE_OF_CHANNEL[channel])

    @property
    def conversation_scope(self) -> Scope | None:
        return next((scope for scope in self.standardBusinessDocumentHeader.businessScope.scope
                     if scope.type == "ConversationId"), None)


# --- capabilities -------------------------------------------------------------------------------------------
class DocumentType(BaseModel):
    type: str
    standard: str


class PostalAddress(BaseModel):
    name: str = ""
    street: str = ""
    postalCode: str = ""
    postalArea: str = ""
    country: str = ""


class DigitalPostAddress(BaseModel):
    supplier: str
    address: str


ServiceIdentifier = Literal["DPI", "DPV", "DPO"]


class Capability(BaseModel):
    process: str
    serviceIdentifier: ServiceIdentifier
    postAddress: PostalAddress | None = None
    returnAddress: PostalAddress | None = None
    documentTypes: list[DocumentType]
    digitalPostAddress: DigitalPostAddress | None = None


class Capabilities(BaseModel):
    capabilities: list[Capability]


# --- conversations and statuses -----------------------------------------------------------------------------
class ConversationStatus(BaseModel):
    id: int
    lastUpdate: datetime
    status: str
    description: str | None = None


class Conversation(BaseModel):
    id: str
    conversationId: str
    messageId: str
    sender: str
    senderIdentifier: str
    receiver: str
    receiverIdentifier: str
    processIdentifier: str
    documentIdentifier: str
    messageReference: str
    messageTitle: str
    lastUpdate: datetime
    finished: bool
    expiry: datetime | None = None
    direction: Literal["OUTGOING", "INCOMING"] = "OUTGOING"
    serviceIdentifier: ServiceIdentifier
    messageStatuses: list[ConversationStatus]


class MessageStatus(BaseModel):
    id: int
    lastUpdate: datetime
    status: str
    description: str | None = None
    convId: str
    messageId: str
    conversationId: str


class Sort(BaseModel):
    sorted: bool = True
    unsorted: bool = False
    empty: bool = False


class Pageable(BaseModel):
    pageNumber: int
    pageSize: int
    offset: int
    sort: Sort = Field(default_factory=Sort)
    paged: bool = True
    unpaged: bool = False


class Page(BaseModel):
    """Spring's page: the results of one page and where it lies among all."""

    content: list[Any]
    pageable: Pageable
    totalElements: int
    totalPages: int
    last: bool
    first: bool
    size: int
    number: int
    numberOfElements: int
    sort: Sort = Field(default_factory=Sort)
    empty: bool

    @classmethod
    def of(cls, content: list[Any], *, page: int, size: int, total: int) -> Page:
        pages = (total + size - 1) // size
        return cls(content=content, pageable=Pageable(pageNumber=page, pageSize=size, offset=page * size),
                   totalElements=total, totalPages=pages, last=page + 1 >= pages, first=page == 0, size=size,
                   number=page, numberOfElements=len(content), empty=not content)


class ConversationPage(Page):
    content: list[Conversation]  # type: ignore[assignment]


class MessageStatusPage(Page):
    content: list[MessageStatus]  # type: ignore[assignment]
