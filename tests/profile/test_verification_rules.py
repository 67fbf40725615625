"""Address verification as a state machine, against a plain model of Altinn Profile's rules: any sequence of
sending codes, right and wrong tries and time passing gives the answers the model gives (a code lives 15 minutes,
allows five wrong tries, is resent no sooner than a minute after the last, and an address once verified stays so)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from felles.core.clock import clock, utcnow
from felles.core.jobs import Job
from felles.notifications import service as notifications_service
from felles.profile import addresses, schemas

_persons = count(1)


@dataclass
class Model:
    verified: bool = False
    code: str | None = None
    created: datetime | None = None
    failed: int = 0

    def send(self, now: datetime) -> str:
        if self.verified:
            return "already_verified"
        if self.created is not None and now - self.created < addresses.RESEND_COOLDOWN:
            return "cooldown"
        self.created, self.failed = now, 0
        return "sent"

    def live(self, now: datetime) -> bool:
        return (self.created is not None and now < self.created + addresses.CODE_LIFETIME
                and self.failed < addresses.MAX_FAILED_ATTEMPTS and not self.verified)

    def verify(self, now: datetime, right: bool) -> bool:
        if not self.live(now):
            return False
        if right:
            self.verified, self.created = True, None
            return True
        self.failed += 1
        return False


async def last_code(database, address: str) -> str:
    """The code in the newest Varsling order to `address` (each example has its own address: the clock goes back
    between examples, so an earlier example's orders may look newer)."""
    async with database.transaction() as session:
        rows = (await session.execute(select(Job.created_at, Job.payload)
                                      .where(Job.kind == notifications_service.ORDER_JOB))).all()
    emails = [(created, payload["order"]["recipient"]["recipientEmail"]) for created, payload in rows]
    body = max((created, email["emailSettings"]["body"]) for created, email in emails
               if email["emailAddress"] == address)[1]
    match = re.search(r"\b(\d{6})\b", body)
    assert match
    return match.group(1)


ACTIONS = st.lists(st.one_of(
    st.just(("send", 0)), st.just(("right", 0)), st.just(("wrong", 0)),
    st.tuples(st.just("wait"), st.sampled_from([10, 59, 61, 300, 16 * 60]))), min_size=1, max_size=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
async def test_verification_follows_the_rules(database, settings, actions):
    number = next(_persons)
    person, address = f"{number:011d}", f"person{number}@eksempel.no"
    model, code = Model(), None
    send = schemas.AddressCodeSendRequest(value=address, type=schemas.AddressType.EMAIL)
    try:
        for action, seconds in actions:
            now = utcnow()
            if action == "send":
                expected = model.send(now)
                sent = await addresses.send_verification_code(database, settings, person, send)
                assert sent.status == expected, (actions, action)
                if expected == "sent":
                    code = await last_code(database, address)
            elif action == "wait":
                clock.advance(timedelta(seconds=seconds))
            else:
                right = action == "right"
                given_code = code if right and code else f"{(int(code or '0') + 1) % 1_000_000:06d}"
                expected_ok = model.verify(now, right and code is not None)
                attempt = schemas.AddressVerificationRequest(value=address, type=schemas.AddressType.EMAIL,
                                                             verificationCode=given_code)
                verified = await addresses.verify_address(database, settings, person, attempt)
                assert verified == expected_ok, (actions, action)
        listed = [address.value for address in await addresses.verified_addresses(database, person)]
        assert listed == ([address] if model.verified else [])
    finally:
        clock.reset()
