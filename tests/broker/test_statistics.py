"""The service owner's monthly statistics (`GET /broker/api/v1/statistics/monthly`): the month's transfers on its
resources as CSV, counted per resource, sender and recipient, with bytes and confirmed downloads; other months,
other owners' resources and callers without the service-owner scope get nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from felles.core.clock import clock
from tests.broker.conftest import API, RECIPIENT, RESOURCE, SENDER, initialize, upload
from tests.conftest import bearer


async def test_the_month_of_transfers_per_sender_and_recipient(client, resource, owner_headers, sender_headers,
                                                              recipient_headers, token):
    first = await initialize(client, sender_headers)
    await upload(client, sender_headers, first, b"a" * 1000)
    assert (await client.post(f"{API}/filetransfer/{first}/confirmdownload",
                              headers=recipient_headers)).status_code == 200
    second = await initialize(client, sender_headers)
    await upload(client, sender_headers, second, b"b" * 500)

    now = datetime.now(UTC)
    answer = await client.get(f"{API}/statistics/monthly", headers=owner_headers,
                              params={"year": now.year, "month": now.month, "resourceId": RESOURCE})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert rows == [{"resourceId": RESOURCE, "sender": f"0192:{SENDER}", "recipient": f"0192:{RECIPIENT}",
                     "fileTransfers": "2", "bytes": "1500", "confirmedDownloads": "1"}]
    # All of the owner's resources when none is named; nothing in another month.
    every = await client.get(f"{API}/statistics/monthly", headers=owner_headers,
                             params={"year": now.year, "month": now.month})
    assert every.text == answer.text
    clock.advance(datetime(now.year + 1, 1, 15, tzinfo=UTC) - now)
    later = await client.get(f"{API}/statistics/monthly", headers=owner_headers,
                             params={"year": now.year + 1, "month": 1})
    assert later.status_code == 200 and len(later.text.splitlines()) == 1  # the header only

    # Not another owner's resource, not without the service-owner scope, not a thirteenth month.
    other_owner = bearer(token(scopes=["altinn:serviceowner"], org=SENDER))
    refused = await client.get(f"{API}/statistics/monthly", headers=other_owner,
                               params={"year": now.year, "month": now.month, "resourceId": RESOURCE})
    assert refused.status_code == 403
    assert (await client.get(f"{API}/statistics/monthly", headers=sender_headers,
                             params={"year": now.year, "month": now.month})).status_code == 403
    assert (await client.get(f"{API}/statistics/monthly", headers=owner_headers,
                             params={"year": now.year, "month": 13})).status_code in (400, 422)
