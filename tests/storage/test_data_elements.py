"""Data elements: bytes go to the blob store first and the row after, so no row points at a missing blob; a file
over its limit is refused with nothing kept; a replacement points at new bytes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from felles.core.blobs import LocalBlobStore, from_bytes
from felles.core.db import Database
from felles.core.errors import NotFound
from felles.storage import service as storage
from tests.storage.test_instances import KARI, new_instance


async def test_bytes_then_row_then_read_back_and_replace(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    instance = await new_instance(database, KARI)
    element_id = uuid.uuid4()
    stored = await storage.put_data_blob(blobs, instance.id, element_id, from_bytes(b'{"name": "Kari"}'))
    async with database.transaction() as session:
        row = await storage.instance_row(session, instance.id, lock=True)
        revision = row.revision
        storage.add_data_element_in_transaction(session, row, element_id, stored, data_type="model",
                                                content_type="application/json", actor="1337")
    async with database.transaction() as session:
        row = await storage.instance_row(session, instance.id)
        element = await storage.data_element_row(session, row, element_id)
        assert row.revision == revision + 1 and element.size == 16 and element.content_hash.startswith("md5:")
    assert await storage.read_data_bytes(blobs, element) == b'{"name": "Kari"}'

    replacement = await storage.put_data_blob(blobs, instance.id, element_id, from_bytes(b'{"name": "Ola"}'))
    async with database.transaction() as session:
        row = await storage.instance_row(session, instance.id, lock=True)
        element = await storage.data_element_row(session, row, element_id, lock=True)
        old_key = storage.replace_data_element_in_transaction(row, element, replacement,
                                                              content_type="application/json", actor="1337")
    await blobs.delete(old_key)
    assert old_key != replacement.key and not await blobs.exists(old_key)
    assert await storage.read_data_bytes(blobs, element) == b'{"name": "Ola"}'


async def test_too_large_is_refused_and_nothing_is_kept(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    instance = await new_instance(database, KARI)
    with pytest.raises(storage.TooLarge) as refused:
        await storage.put_data_blob(blobs, instance.id, uuid.uuid4(), from_bytes(b"x" * 2000), max_bytes=1000)
    assert refused.value.status == 413
    assert [blob async for blob in blobs.list(storage.DATA_BLOB_PREFIX)] == []


async def test_an_element_of_another_instance_is_not_found(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    first, second = await new_instance(database, KARI), await new_instance(database, KARI)
    element_id = uuid.uuid4()
    stored = await storage.put_data_blob(blobs, first.id, element_id, from_bytes(b"a"))
    async with database.transaction() as session:
        row = await storage.instance_row(session, first.id, lock=True)
        storage.add_data_element_in_transaction(session, row, element_id, stored, data_type="a",
                                                content_type="text/plain", actor="1337")
    async with database.transaction() as session:
        other = await storage.instance_row(session, second.id)
        with pytest.raises(NotFound):
            await storage.data_element_row(session, other, element_id)
