"""eID methods (MinID, BankID, Buypass, Commfides, TestID) as plugins registered by name behind one interface.

A method shows its own page(s) under `/{issuer}/login/{login_id}/{method}` and, when the person has proved who
they are, hands back an `AuthenticatedPerson`. A real MinID or BankID integration is one more subclass
registered with `register_eid`. In development every method but TestID is a TestID variant, clearly labelled
as such, that offers only the levels the real method gives.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.audit import Actor
from felles.core.db import Database
from felles.core.errors import InvalidInput
from felles.identity.service_logins import AuthenticatedPerson, PendingLogin
from felles.registers import service as registers

TESTID_ACTOR = Actor("system:testid")


@dataclass(frozen=True)
class LoginPageContext:
    """What a method's page handler gets: the request being logged in for and how to render and link."""

    login: PendingLogin
    database: Database
    issuer_path: str
    render: object  # a callable (request, template, context) -> HTMLResponse; typed loosely to avoid a cycle


class EidMethod(ABC):
    """One eID. `levels` are the assurance levels it can give (3 substantial, 4 high)."""

    name: str
    label: str
    levels: tuple[int, ...]
    # Shown next to the label; development variants say they are TestID.
    note_key: str | None = None

    def offers(self, level: int) -> bool:
        return max(self.levels) >= level

    def check_config(self) -> str | None:
        """None when ready; else what is wrong (printed by `felles check`)."""
        return None

    @abstractmethod
    async def page(self, request: Request, context: LoginPageContext) -> Response:
        """The method's own page (GET)."""

    @abstractmethod
    async def authenticate(self, request: Request, context: LoginPageContext) -> AuthenticatedPerson:
        """The posted answer to that page, checked; `InvalidInput` when it does not prove anyone."""


class TestIdMethod(EidMethod):
    """TestID: pick a synthetic person from Folkeregisteret by name or number and the level to log in at."""

    amr = "TestID"

    def __init__(self, name: str = "testid", label: str = "TestID", levels: tuple[int, ...] = (3, 4),
                 note_key: str | None = None) -> None:
        self.name, self.label, self.levels, self.note_key = name, label, levels, note_key

    async def page(self, request: Request, context: LoginPageContext) -> Response:
        query = request.query_params.get("q", "").strip()
        hits, problem = [], None
        if query:
            try:
                hits = await self._find(context.database, query)
            except InvalidInput as exc:
                problem = exc.detail
        levels = [level for level in self.levels if level >= context.login.level]
        return context.render(request, "identity/testid.html", {  # type: ignore[operator]
            "login": context.login, "method": self, "query": query, "hits": hits, "problem": problem,
            "levels": levels, "issuer_path": context.issuer_path,
        })

    async def _find(self, database: Database, query: str) -> list[registers.schemas.PersonSearchHit]:
        if query.isdigit():
            person = await registers.get_person(database, TESTID_ACTOR, query)
            return [registers.schemas.PersonSearchHit(
                identifikasjonsnummer=person.identifikasjonsnummer, navn=person.navn,
                foedselsdato=person.foedselsdato, status=person.status)]
        return await registers.search_persons(database, TESTID_ACTOR, name=query, limit=20)

    async def authenticate(self, request: Request, context: LoginPageContext) -> AuthenticatedPerson:
        form = await request.form()
        pid, level = str(form.get("pid", "")), str(form.get("level", ""))
        if not level.isdigit() or int(level) not in self.levels:
            raise InvalidInput("Choose a level this eID gives.", code="invalid_level")
        async def registered(session: AsyncSession) -> str:
            # TestID only logs in synthetic persons found in Folkeregisteret.
            return await registers.person_status(session, TESTID_ACTOR, pid)

        return AuthenticatedPerson(pid=pid, level=int(level), amr=[self.amr], confirm=registered)


_methods: dict[str, EidMethod] = {}


def register_eid(method: EidMethod) -> EidMethod:
    _methods[method.name] = method
    return method


def eid_methods() -> dict[str, EidMethod]:
    return dict(_methods)


def offered_methods(level: int) -> list[EidMethod]:
    """The methods shown in the chooser: those that can reach the level the client asks for."""
    return [method for method in _methods.values() if method.offers(level)]


# In development the real eIDs are TestID variants with the levels the real ones give.
register_eid(TestIdMethod("minid", "MinID", (3,), note_key="identity.chooser.testid_variant"))
register_eid(TestIdMethod("bankid", "BankID", (4,), note_key="identity.chooser.testid_variant"))
register_eid(TestIdMethod("buypass", "Buypass", (4,), note_key="identity.chooser.testid_variant"))
register_eid(TestIdMethod("commfides", "Commfides", (4,), note_key="identity.chooser.testid_variant"))
register_eid(TestIdMethod())
