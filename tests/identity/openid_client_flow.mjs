// A strict relying party (panva's openid-client) against Felles: ID-porten login with PAR, PKCE and
// private_key_jwt, userinfo, refresh and logout; then a Maskinporten jwt-bearer grant. Prints one JSON result.
import * as client from "openid-client";
import * as jose from "jose";

const env = process.env;
const key = await jose.importJWK(JSON.parse(env.CLIENT_JWK), "RS256");
const kid = JSON.parse(env.CLIENT_JWK).kid;
const insecure = { execute: [client.allowInsecureRequests] };  // plain http on loopback only
const result = {};

const idporten = await client.discovery(new URL(env.IDPORTEN_ISSUER), env.CLIENT_ID,
  { id_token_signed_response_alg: "RS256" }, client.PrivateKeyJwt({ key, kid }), insecure);
const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authorizationUrl = await client.buildAuthorizationUrlWithPAR(idporten, {
  redirect_uri: env.REDIRECT_URI, scope: "openid profile", state, nonce,
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: "S256",
  acr_values: "idporten-loa-high",
});
result.authorizationUrl = authorizationUrl.href;

// The person's browser: the chooser, then TestID's form.
let response = await fetch(authorizationUrl, { redirect: "manual" });
const loginPage = new URL(response.headers.get("location"), authorizationUrl);
response = await fetch(new URL(loginPage.pathname + "/bankid", loginPage), {
  method: "POST", redirect: "manual", body: new URLSearchParams({ pid: env.PID, level: "4" }),
});
const cookie = response.headers.get("set-cookie").split(";")[0];
const callback = new URL(response.headers.get("location"));

const tokens = await client.authorizationCodeGrant(idporten, callback, {
  pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
});
const claims = tokens.claims();
result.idToken = claims;
result.userinfo = await client.fetchUserInfo(idporten, tokens.access_token, claims.sub);
const refreshed = await client.refreshTokenGrant(idporten, tokens.refresh_token);
result.refreshed = { rotated: refreshed.refresh_token !== tokens.refresh_token, scope: refreshed.scope };

const endSession = client.buildEndSessionUrl(idporten, {
  id_token_hint: tokens.id_token, post_logout_redirect_uri: env.POST_LOGOUT_URI, state: "bye",
});
response = await fetch(endSession, { redirect: "manual", headers: { cookie } });
result.logout = { status: response.status, location: response.headers.get("location") };
const again = client.buildAuthorizationUrl(idporten, {
  redirect_uri: env.REDIRECT_URI, scope: "openid profile", state: client.randomState(), nonce: client.randomNonce(),
  code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
  code_challenge_method: "S256",
});
response = await fetch(again, { redirect: "manual", headers: { cookie } });
result.afterLogout = response.headers.get("location");

// Maskinporten: RFC 8414 metadata, then the jwt-bearer grant signed with the client's key.
const machineKey = await jose.importJWK(JSON.parse(env.MACHINE_JWK), "RS256");
const maskinporten = await client.discovery(new URL(env.MASKINPORTEN_ISSUER), env.MACHINE_CLIENT_ID,
  undefined, client.None(), { ...insecure, algorithm: "oauth2" });
const issuer = maskinporten.serverMetadata().issuer;
const grant = await new jose.SignJWT({ scope: env.MACHINE_SCOPE })
  .setProtectedHeader({ alg: "RS256", kid: JSON.parse(env.MACHINE_JWK).kid })
  .setIssuer(env.MACHINE_CLIENT_ID).setAudience(issuer).setIssuedAt().setExpirationTime("60s").setJti(crypto.randomUUID())
  .sign(machineKey);
const machineTokens = await client.genericGrantRequest(maskinporten, "urn:ietf:params:oauth:grant-type:jwt-bearer",
  { assertion: grant });
result.maskinporten = { issuer, token: jose.decodeJwt(machineTokens.access_token), expires_in: machineTokens.expires_in };
console.log(JSON.stringify(result));
