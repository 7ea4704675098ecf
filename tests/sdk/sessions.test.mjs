// Cairn's refresh-token sessions, used beside the SDK the way an app would:
// sign in with the SDK, keep the refresh token, swap it at
// /api/sessions/refresh through `pb.send`, and hand the new access token
// to the SDK's auth store.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, cairnOnly, createUser, expectError, newClient } from './helpers.mjs';

let user;

before(async () => {
  if (cairnOnly('sessions').skip) return;
  user = await createUser(await adminClient());
});

test('a refresh token rotates, and the SDK works with the new access token', cairnOnly('sessions'), async () => {
  const pb = newClient();
  const auth = await pb.collection('users').authWithPassword(user.email, user.password);
  assert.equal(typeof auth.refreshToken, 'string', 'the sign-in answer carries a refresh token');

  const next = await newClient().send('/api/sessions/refresh', {
    method: 'POST',
    body: { refreshToken: auth.refreshToken },
  });
  assert.notEqual(next.refreshToken, auth.refreshToken);
  pb.authStore.save(next.token, next.record);
  const me = await pb.collection('users').getOne(user.record.id);
  assert.equal(me.email, user.email);

  // The retired token again: refused, and the whole session is over.
  await expectError(
    newClient().send('/api/sessions/refresh', { method: 'POST', body: { refreshToken: auth.refreshToken } }),
    401,
  );
  await expectError(
    newClient().send('/api/sessions/refresh', { method: 'POST', body: { refreshToken: next.refreshToken } }),
    401,
  );
  await expectError(pb.collection('users').authRefresh(), 401);
});

test('the sessions list marks the current one, and logout ends it', cairnOnly('sessions'), async () => {
  const pb = newClient();
  await pb.collection('users').authWithPassword(user.email, user.password);
  const { items } = await pb.send('/api/sessions', {});
  assert.ok(items.length >= 1);
  assert.equal(items.filter((s) => s.current).length, 1);
  await pb.send('/api/sessions/logout', { method: 'POST' });
  await expectError(pb.send('/api/sessions', {}), 401);
});
