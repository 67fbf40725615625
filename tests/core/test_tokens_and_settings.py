import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from pydantic import ValidationError

from felles.core.config import Environment, Settings
from felles.core.errors import Forbidden, Unauthorized
from felles.core.tokens import PlatformKeys, Principal, mint_development_token


def test_production_refuses_generated_secrets_and_sqlite(tmp_path):
    with pytest.raises(ValidationError, match="FELLES_DATABASE_URL, FELLES_SECRET_KEY"):
        Settings(environment=Environment.PRODUCTION, data_dir=tmp_path)
    with pytest.raises(ValidationError, match="PostgreSQL"):
        Settings(environment=Environment.PRODUCTION, data_dir=tmp_path, secret_key="s",
                 database_url="sqlite+aiosqlite:///x.db")
    production = Settings(environment=Environment.PRODUCTION, data_dir=tmp_path, secret_key="s",
                          database_url="postgresql+asyncpg://db/felles")
    with pytest.raises(RuntimeError, match="signing key"):
        PlatformKeys.load(production)
    with pytest.raises(Forbidden):
        mint_development_token(PlatformKeys(RSAKey.generate_key(2048)), production, organization_number="991825827",
                               scopes=["x"])


def test_development_generates_and_keeps_its_secrets(tmp_path):
    first = Settings(data_dir=tmp_path)
    second = Settings(data_dir=tmp_path)
    assert first.secret_key == second.secret_key and len(first.secret_key) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert PlatformKeys.load(first).signing_key.kid == PlatformKeys.load(second).signing_key.kid
    assert first.database_url == f"sqlite+aiosqlite:///{tmp_path / 'felles.db'}"


def test_tokens_signed_otherwise_are_refused(settings):
    keys = PlatformKeys.load(settings)
    claims = {"scope": "krr:global/kontaktinformasjon.read", "exp": 4_102_444_800,
              "consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:991825827"}}
    assert keys.verify(keys.sign(claims))["scope"] == claims["scope"]
    other = PlatformKeys(RSAKey.generate_key(2048, parameters={"kid": keys.signing_key.kid}))
    with pytest.raises(Unauthorized):
        keys.verify(other.sign(claims))
    # HS256 keyed with the public key (algorithm confusion) must not pass.
    public_pem = json.dumps(keys.jwks()).encode()
    confused = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(public_pem), algorithms=["HS256"])
    with pytest.raises(Unauthorized):
        keys.verify(confused)
    with pytest.raises(Unauthorized):
        keys.verify("e30." + jwt.encode({"alg": "RS256"}, claims, keys.signing_key).split(".", 1)[1])


def test_principals_from_person_organisation_and_supplier_tokens():
    person = Principal.from_claims({"pid": "47906701517", "acr": "idporten-loa-high", "scope": "openid a"})
    assert person.kind == "person" and person.authentication_level == 4 and person.scopes == {"openid", "a"}
    assert person.audit_actor.actor == "person:47906701517"
    supplier = Principal.from_claims({
        "scope": "s", "consumer": {"ID": "0192:991825827"}, "supplier": {"ID": "0192:987464291"}})
    assert supplier.kind == "organization" and supplier.organization_number == "991825827"
    assert (supplier.audit_actor.actor, supplier.audit_actor.on_behalf_of) == (
        "organization:987464291", "organization:991825827")
    assert Principal.from_claims({"client_id": "c", "scope": ""}).kind == "system"


def test_a_remembered_token_is_still_refused_once_it_expires(settings, monkeypatch):
    keys = PlatformKeys.load(settings)
    token = keys.sign({"scope": "s", "exp": int(time.time()) + 60})
    assert keys.verify(token)["scope"] == "s"
    assert keys.verify(token)["scope"] == "s"  # served from the cache
    later = time.time() + 120
    monkeypatch.setattr("felles.core.tokens.time.time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        keys.verify(token)
