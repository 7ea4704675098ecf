// Sign-in as an app does it with the SDK: auth methods, password sign-in,
// the auth store, refresh and impersonation.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, createUser, expectError, newClient, userClient } from './helpers.mjs';

let admin;
let user;

before(async () => {
  admin = await adminClient();
  user = await createUser(admin, { name: 'Sdk User' });
});

test('listAuthMethods reports password sign-in by email', async () => {
  const methods = await newClient().collection('users').listAuthMethods();
  assert.equal(methods.password.enabled, true);
  assert.deepEqual(methods.password.identityFields, ['email']);
  assert.equal(methods.oauth2.enabled, false);
});

test('authWithPassword fills the auth store; a wrong password is 400', async () => {
  const pb = newClient();
  const auth = await pb.collection('users').authWithPassword(user.email, user.password);
  assert.equal(auth.record.id, user.record.id);
  assert.equal(pb.authStore.isValid, true);
  assert.equal(pb.authStore.record.email, user.email);
  assert.equal('password' in auth.record, false);
  await expectError(newClient().collection('users').authWithPassword(user.email, 'wrong-password'), 400, {});
});

test('authRefresh returns a working token and the current record', async () => {
  const pb = await userClient(user.email, user.password);
  await admin.collection('users').update(user.record.id, { name: 'Renamed' });
  const refreshed = await pb.collection('users').authRefresh();
  assert.equal(refreshed.record.name, 'Renamed');
  assert.equal(pb.authStore.isValid, true);
  const again = await pb.collection('users').authRefresh();
  assert.equal(again.record.id, user.record.id);
});

test('authRefresh without a valid token is 401', async () => {
  await expectError(newClient().collection('users').authRefresh(), 401, {});
});

test('a superuser can impersonate a user with a non-refreshable token', async () => {
  const impersonated = await admin.collection('users').impersonate(user.record.id, 60);
  assert.equal(impersonated.authStore.record.id, user.record.id);
  const payload = JSON.parse(Buffer.from(impersonated.authStore.token.split('.')[1], 'base64url'));
  assert.equal(payload.refreshable, false);
  assert.ok(payload.exp <= Math.floor(Date.now() / 1000) + 61);
  const me = await impersonated.collection('users').getOne(user.record.id);
  assert.equal(me.id, user.record.id);
});

test('a regular user cannot impersonate', async () => {
  const pb = await userClient(user.email, user.password);
  await expectError(pb.collection('users').impersonate(user.record.id, 60), 403, {});
});
