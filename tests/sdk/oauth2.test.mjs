// OAuth2 sign-in as an app does it with the SDK's authWithOAuth2Code, against
// a mock OIDC provider on loopback (mock_oauth2.mjs) that checks the code, the
// client secret and the PKCE verifier. The provider is configured as `oidc`
// on a fresh auth collection, so other files' `users` stay untouched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import net from 'node:net';
import { adminClient, expectError, newClient, uniqueName } from './helpers.mjs';
import { MockProvider } from './mock_oauth2.mjs';
import './eventsource.mjs';

const REDIRECT = 'http://localhost:5173/oauth2-callback';

let admin;
let mock;
let accounts; // the auth collection's name

const alice = () => ({
  sub: 'idp-alice',
  email: `${accounts}.alice@example.com`,
  email_verified: true,
  name: 'Alice Liddell',
  preferred_username: 'alice',
});

before(async () => {
  admin = await adminClient();
  mock = await new MockProvider().start();
  accounts = uniqueName('oauth');
  await admin.collections.create({
    name: accounts,
    type: 'auth',
    listRule: 'id = @request.auth.id',
    viewRule: 'id = @request.auth.id',
    createRule: '',
    fields: [{ name: 'name', type: 'text' }],
    oauth2: {
      enabled: true,
      mappedFields: { name: 'name' },
      providers: [mock.providerConfig()],
    },
  });
});

after(async () => {
  await admin?.collections.delete(accounts).catch(() => {});
  await mock?.stop();
});

/** The oidc entry of listAuthMethods: a fresh state and PKCE pair. */
async function oidcMethod(pb = newClient()) {
  const methods = await pb.collection(accounts).listAuthMethods();
  const provider = methods.oauth2.providers.find((p) => p.name === 'oidc');
  assert.ok(provider, `oidc should be listed: ${JSON.stringify(methods.oauth2)}`);
  return provider;
}

/** The user consents at the provider, which redirects back with a code. */
async function consent(user, pb = newClient()) {
  const provider = await oidcMethod(pb);
  return { provider, code: mock.issueCode(provider.codeChallenge, user) };
}

test('listAuthMethods offers the provider with a PKCE pair and no secret', async () => {
  const methods = await newClient().collection(accounts).listAuthMethods();
  assert.equal(methods.oauth2.enabled, true);
  const p = methods.oauth2.providers[0];
  assert.equal(p.name, 'oidc');
  assert.equal(p.displayName, 'Mock IdP');
  assert.equal(p.codeChallengeMethod, 'S256');
  assert.equal(p.codeChallenge, createHash('sha256').update(p.codeVerifier).digest('base64url'));
  const url = new URL(p.authURL);
  assert.equal(`${url.origin}${url.pathname}`, `${mock.baseURL}/authorize`);
  assert.equal(url.searchParams.get('client_id'), mock.clientId);
  assert.equal(url.searchParams.get('code_challenge'), p.codeChallenge);
  assert.equal(url.searchParams.get('state'), p.state);
  assert.ok(p.authURL.endsWith('redirect_uri='), p.authURL);
  assert.equal(JSON.stringify(methods).includes(mock.clientSecret), false);
  const shown = await admin.collections.getOne(accounts);
  assert.equal(shown.oauth2.providers[0].clientId, mock.clientId);
  assert.deepEqual(Object.keys(shown.oauth2.providers[0]).sort(), [
    'authURL', 'clientId', 'displayName', 'extra', 'name', 'pkce', 'tokenURL', 'userInfoURL',
  ]);
  assert.equal(JSON.stringify(shown).includes(mock.clientSecret), false);
});

test('an unknown provider, a wrong code or a wrong verifier is a 400', async () => {
  const pb = newClient();
  const { provider, code } = await consent(alice());
  await expectError(
    pb.collection(accounts).authWithOAuth2Code('github', code, provider.codeVerifier, REDIRECT),
    400,
    { provider: 'validation_invalid_provider' },
  );
  await expectError(
    pb.collection(accounts).authWithOAuth2Code('oidc', 'forged-code', provider.codeVerifier, REDIRECT),
    400,
    {},
  );
  await expectError(
    pb.collection(accounts).authWithOAuth2Code('oidc', code, 'x'.repeat(43), REDIRECT),
    400,
    {},
  );
  assert.equal(pb.authStore.isValid, false);
  // The server sent the client's credentials and the verifier it was given.
  const last = mock.requests.at(-1);
  assert.equal(last.client_secret, mock.clientSecret);
  assert.equal(last.code_verifier, 'x'.repeat(43));
  assert.equal(last.redirect_uri, REDIRECT);
});

test('a provider that is down is a 400', async () => {
  const closedPort = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const name = uniqueName('oauth_down');
  await admin.collections.create({
    name,
    type: 'auth',
    createRule: '',
    oauth2: { enabled: true, providers: [mock.providerConfig({ tokenURL: `http://127.0.0.1:${closedPort}/token` })] },
  });
  try {
    const methods = await newClient().collection(name).listAuthMethods();
    const p = methods.oauth2.providers[0];
    const code = mock.issueCode(p.codeChallenge, alice());
    await expectError(newClient().collection(name).authWithOAuth2Code('oidc', code, p.codeVerifier, REDIRECT), 400, {});
  } finally {
    await admin.collections.delete(name);
  }
});

test('a collection without OAuth2 refuses it with a 403', async () => {
  await expectError(
    newClient().collection('users').authWithOAuth2Code('oidc', 'code', 'v'.repeat(43), REDIRECT),
    403,
    {},
  );
});

test('the create rule decides whether a new account may be made', async () => {
  await admin.collections.update(accounts, { createRule: null });
  try {
    const { provider, code } = await consent({ ...alice(), sub: 'idp-refused', email: `${accounts}.refused@example.com` });
    await expectError(
      newClient().collection(accounts).authWithOAuth2Code('oidc', code, provider.codeVerifier, REDIRECT),
      403,
      {},
    );
  } finally {
    await admin.collections.update(accounts, { createRule: '' });
  }
  const found = await admin.collection(accounts).getFullList({ filter: `email = "${accounts}.refused@example.com"` });
  assert.equal(found.length, 0);
});

test('createData is validated like any new record', async () => {
  const { provider, code } = await consent({ ...alice(), sub: 'idp-bad-data' });
  await expectError(
    newClient().collection(accounts).authWithOAuth2Code('oidc', code, provider.codeVerifier, REDIRECT, {
      email: 'not-an-email',
    }),
    400,
    { email: 'validation_is_email' },
  );
});

test('an unverified account with the same email is taken over and loses its password', async () => {
  const email = `${accounts}.bob@example.com`;
  const squatter = await admin.collection(accounts).create({
    email,
    password: 'squatter-pass',
    passwordConfirm: 'squatter-pass',
  });
  assert.equal(squatter.verified, false);
  const pb = newClient();
  const { provider, code } = await consent({ sub: 'idp-bob', email, email_verified: true, name: 'Bob' }, pb);
  const auth = await pb.collection(accounts).authWithOAuth2Code('oidc', code, provider.codeVerifier, REDIRECT);
  assert.equal(auth.record.id, squatter.id);
  assert.equal(auth.record.verified, true);
  assert.equal(auth.meta.isNew, false);
  await expectError(newClient().collection(accounts).authWithPassword(email, 'squatter-pass'), 400, {});
});

test('authWithOAuth2Code signs up, signs in again through the link, and unlinks', async () => {
  const pb = newClient();
  let { provider, code } = await consent(alice(), pb);
  const auth = await pb
    .collection(accounts)
    .authWithOAuth2Code('oidc', code, provider.codeVerifier, REDIRECT, { emailVisibility: true });
  assert.equal(pb.authStore.isValid, true);
  assert.equal(pb.authStore.record.id, auth.record.id);
  assert.equal(auth.record.email, alice().email);
  assert.equal(auth.record.verified, true);
  assert.equal(auth.record.emailVisibility, true);
  assert.equal(auth.record.name, 'Alice Liddell');
  assert.equal(auth.meta.isNew, true);
  assert.equal(auth.meta.id, 'idp-alice');
  assert.equal(auth.meta.username, 'alice');
  assert.equal(auth.meta.email, alice().email);
  assert.equal(auth.meta.rawUser.sub, 'idp-alice');
  assert.ok(auth.meta.accessToken);
  assert.ok(auth.meta.refreshToken);
  const refreshed = await pb.collection(accounts).authRefresh();
  assert.equal(refreshed.record.id, auth.record.id);

  ({ provider, code } = await consent(alice()));
  const again = await newClient().collection(accounts).authWithOAuth2Code('oidc', code, provider.codeVerifier, REDIRECT);
  assert.equal(again.record.id, auth.record.id);
  assert.equal(again.meta.isNew, false);

  const links = await pb.collection('_externalAuths').getFullList();
  assert.equal(links.length, 1);
  assert.equal(links[0].recordRef, auth.record.id);
  assert.equal(links[0].provider, 'oidc');
  assert.equal(links[0].providerId, 'idp-alice');
  assert.equal(await pb.collection(accounts).unlinkExternalAuth(auth.record.id, 'oidc'), true);
  assert.deepEqual(await pb.collection('_externalAuths').getFullList(), []);
});

test('authWithOAuth2 (the all-in-one realtime flow) completes through /api/oauth2-redirect', async () => {
  const pb = newClient();
  const landed = [];
  const auth = await pb.collection(accounts).authWithOAuth2({
    provider: 'oidc',
    // Plays the browser: the user consents at the provider, which sends
    // the browser back to the redirect URL with a code and the state.
    urlCallback: async (url) => {
      const asked = new URL(url);
      const back = new URL(asked.searchParams.get('redirect_uri'));
      back.searchParams.set('code', mock.issueCode(asked.searchParams.get('code_challenge'), alice()));
      back.searchParams.set('state', asked.searchParams.get('state'));
      const resp = await fetch(back, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
      landed.push([resp.status, resp.headers.get('location')]);
    },
  });
  assert.deepEqual(landed, [[307, '../_/#/auth/oauth2-redirect-success']]);
  assert.equal(pb.authStore.isValid, true);
  assert.equal(auth.record.email, alice().email);
  assert.equal(auth.meta.id, 'idp-alice');
  pb.realtime.unsubscribe();
});

test('settings.generateAppleClientSecret signs a secret with the key, for superusers only', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const made = await admin.settings.generateAppleClientSecret('com.example.app', 'ABCDE12345', 'KEY1234567', pem, 3600);
  const [head, body, signature] = made.secret.split('.');
  const part = (p) => JSON.parse(Buffer.from(p, 'base64url').toString());
  assert.deepEqual(part(head), { alg: 'ES256', kid: 'KEY1234567', typ: 'JWT' });
  const claims = part(body);
  assert.equal(claims.iss, 'ABCDE12345');
  assert.equal(claims.sub, 'com.example.app');
  assert.deepEqual(claims.aud, ['https://appleid.apple.com']);
  assert.equal(claims.exp - claims.iat, 3600);
  const signed = verify('sha256', Buffer.from(`${head}.${body}`), { key: publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'));
  assert.ok(signed, 'the secret is signed with the given key');

  const refused = await expectError(admin.settings.generateAppleClientSecret('com.example.app', 'SHORT', 'KEY1234567', pem, 3600), 400);
  assert.equal(refused.response.data.teamId.code, 'validation_length_invalid');
  await expectError(newClient().settings.generateAppleClientSecret('com.example.app', 'ABCDE12345', 'KEY1234567', pem, 3600), 401);
});
