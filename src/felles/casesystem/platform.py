"""The case system's side of the platform's public APIs, over HTTP only, as an agency's own system calls them:
Maskinporten (the JWT-bearer grant signed with the client's key), Events (a webhook subscription), the app API
(an instance and its data; the service owner's complete confirmation) and Correspondence (a letter with a PDF
and a notification). Nothing here imports a platform component: the platform could run anywhere.

The calls go to the one platform URL the operator configured, so they use a plain httpx client; the platform's
SSRF-guarded outbound client is for addresses that API consumers give the platform, not the other way round."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from felles.core.clock import utcnow

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PERSON_URN = "urn:altinn:person:identifier-no:"
STORAGE = "/storage/api/v1"
CORRESPONDENCE = "/correspondence/api/v1"
EVENTS = "/events/api/v1"
ARKIVMELDING_STANDARD = "urn:no:difi:arkivmelding:xsd::arkivmelding"
ARKIVMELDING_PROCESS = "urn:no:difi:profile:arkivmelding:administrasjon:ver1.0"


class PlatformError(Exception):
    """The platform answered a call with an error (its problem+json detail in the message)."""


@dataclass(frozen=True)
class Credentials:
    """A Maskinporten client: its id, its private key and the scopes it asks for."""

    client_id: str
    key: RSAKey
    scopes: tuple[str, ...]

    @classmethod
    def from_key_file(cls, client_id: str, path: Path, scopes: tuple[str, ...]) -> Credentials:
        return cls(client_id, RSAKey.import_key(json.loads(path.read_text())), scopes)


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    content_type: str = "application/pdf"


def _checked(response: httpx.Response, what: str) -> httpx.Response:
    if response.is_error:
        raise PlatformError(f"{what}: {response.status_code} {response.text[:500]}")
    return response


class Platform:
    """One platform, called as the organisation of `credentials`; the access token is fetched when needed and
    reused until shortly before it expires."""

    def __init__(self, base_url: str, credentials: Credentials, *, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=30, transport=transport)
        self._token: str | None = None
        self._token_expires = 0.0

    async def close(self) -> None:
        await self._http.aclose()

    # --- Maskinporten ------------------------------------------------------------------------------------------
    def _grant(self, audience: str) -> str:
        # The grant's times follow the platform's clock module, so a demo that moves the clock keeps working.
        now = int(utcnow().timestamp())
        claims = {"aud": audience, "iss": self.credentials.client_id, "scope": " ".join(self.credentials.scopes),
                  "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
        return jwt.encode({"alg": "RS256", "kid": self.credentials.key.kid}, claims, self.credentials.key)

    def use_token(self, token: str, seconds: float) -> None:
        """Call with a token got elsewhere (an Altinn token exchanged from Maskinporten's) until it expires."""
        self._token, self._token_expires = token, time.monotonic() + seconds

    async def access_token(self) -> str:
        """A Maskinporten access token for the client's scopes (the JWT-bearer grant, RFC 7523)."""
        if self._token is not None and time.monotonic() < self._token_expires:
            return self._token
        metadata = _checked(await self._http.get("/maskinporten/.well-known/oauth-authorization-server"),
                            "Maskinporten metadata").json()
        answer = _checked(await self._http.post(metadata["token_endpoint"], data={
            "grant_type": JWT_BEARER, "assertion": self._grant(metadata["issuer"])}), "Maskinporten token").json()
        self._token = str(answer["access_token"])
        self._token_expires = time.monotonic() + max(int(answer.get("expires_in", 120)) - 60, 10)
        return self._token

    async def _call(self, method: str, path: str, what: str, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.access_token()}", **options.pop("headers", {})}
        return _checked(await self._http.request(method, path, headers=headers, **options), what)

    # --- Events ------------------------------------------------------------------------------------------------
    async def subscribe(self, endpoint: str, *, resource: str, event_type: str | None = None) -> dict[str, Any]:
        """A webhook subscription to the resource's events (the platform validates the endpoint first)."""
        body = {"endPoint": endpoint, "resourceFilter": resource, "typeFilter": event_type}
        return dict((await self._call("POST", f"{EVENTS}/subscriptions", "subscribe",
                                      json={k: v for k, v in body.items() if v is not None})).json())

    async def unsubscribe(self, subscription_id: int) -> None:
        await self._call("DELETE", f"{EVENTS}/subscriptions/{subscription_id}", "unsubscribe")

    async def subscriptions(self) -> list[dict[str, Any]]:
        return list((await self._call("GET", f"{EVENTS}/subscriptions", "subscriptions")).json()["subscriptions"])

    # --- The app API -------------------------------------------------------------------------------------------
    async def instance(self, app_id: str, instance_id: str) -> dict[str, Any]:
        """The instance (`{partyId}/{guid}`) as its app serves it."""
        return dict((await self._call("GET", f"/{app_id}/instances/{instance_id}", "instance")).json())

    async def data(self, app_id: str, instance_id: str, data_id: str) -> bytes:
        """A data element's bytes (the form data as XML)."""
        return (await self._call("GET", f"/{app_id}/instances/{instance_id}/data/{data_id}", "data",
                                 headers={"Accept": "application/xml"})).content

    async def complete(self, app_id: str, instance_id: str) -> dict[str, Any]:
        """The service owner's confirmation that it has taken the instance into its own system."""
        return dict((await self._call("POST", f"/{app_id}/instances/{instance_id}/complete", "complete")).json())

    # --- Correspondence ----------------------------------------------------------------------------------------
    async def send_correspondence(self, *, resource: str, recipient: str, title: str, summary: str, body: str,
                                  reference: str, attachment: Attachment, notification: dict[str, Any],
                                  idempotency_key: uuid.UUID) -> dict[str, Any]:
        """One correspondence to a person with its attachment, in one multipart request, with a notification."""
        fields = {
            "correspondence.resourceId": resource, "correspondence.sendersReference": reference,
            "correspondence.content.language": "nb", "correspondence.content.messageTitle": title,
            "correspondence.content.messageSummary": summary, "correspondence.content.messageBody": body,
            "correspondence.content.attachments[0].fileName": attachment.name,
            "correspondence.content.attachments[0].sendersReference": reference,
            "recipients[0]": PERSON_URN + recipient, "idempotentKey": str(idempotency_key),
            **{f"correspondence.notification.{name}": str(value) for name, value in notification.items()},
        }
        files = [("Attachments", (attachment.name, attachment.content, attachment.content_type))]
        return dict((await self._call("POST", f"{CORRESPONDENCE}/correspondence/upload", "send correspondence",
                                      data=fields, files=files)).json())

    # --- eFormidling's next-move API ----------------------------------------------------------------------------
    async def send_arkivmelding(self, *, sender: str, receiver: str, arkivmelding: bytes,
                                documents: list[Attachment], message_id: str, conversation_id: uuid.UUID
                                ) -> dict[str, Any]:
        """A Noark 5 arkivmelding (DPO) with its documents, in one request (`/api/messages/out/multipart`)."""
        header = {
            "headerVersion": "1.0",
            "sender": [{"identifier": {"authority": "iso6523-actorid-upis", "value": f"0192:{sender}"}}],
            "receiver": [{"identifier": {"authority": "iso6523-actorid-upis", "value": f"0192:{receiver}"}}],
            "documentIdentification": {"standard": ARKIVMELDING_STANDARD, "typeVersion": "2.0",
                                       "type": "arkivmelding", "instanceIdentifier": message_id,
                                       "creationDateAndTime": utcnow().isoformat()},
            "businessScope": {"scope": [{"type": "ConversationId", "instanceIdentifier": str(conversation_id),
                                         "identifier": ARKIVMELDING_PROCESS}]},
        }
        document = {"standardBusinessDocumentHeader": header,
                    "arkivmelding": {"sikkerhetsnivaa": 3, "hoveddokument": documents[0].name}}
        files = [("arkivmelding", ("arkivmelding.xml", arkivmelding, "application/xml")),
                 *((f"dokument{n}", (d.name, d.content, d.content_type)) for n, d in enumerate(documents))]
        return dict((await self._call("POST", "/api/messages/out/multipart", "send arkivmelding",
                                      data={"sbd": json.dumps(document)}, files=files)).json())

    async def message_statuses(self, message_id: str) -> list[str]:
        feed = (await self._call("GET", f"/api/statuses/{message_id}", "message statuses")).json()
        return [str(status["status"]) for status in feed["content"]]

    async def correspondence(self, correspondence_id: str) -> dict[str, Any]:
        """The sender's view of a correspondence: its status and notifications."""
        return dict((await self._call("GET", f"{CORRESPONDENCE}/correspondence/{correspondence_id}/details",
                                      "correspondence")).json())
