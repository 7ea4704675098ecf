// Account flows with the SDK, the mail read from an SMTP sink on loopback
// that both servers are configured to use: verification, password reset,
// email change, OTP sign-in and MFA.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, createUser, expectError, newClient, uniqueName, userClient } from './helpers.mjs';
import { startMailSink } from './mailsink.mjs';

const TOKEN_RE = /confirm-[a-z-]+\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/;
const OTP_RE = /<strong>(\d+)<\/strong>/;

let admin;
let sink;
let members; // an auth collection with OTP and MFA, so `users` stays as is

before(async () => {
  admin = await adminClient();
  sink = await startMailSink();
  await admin.settings.update({
    smtp: { enabled: true, host: '127.0.0.1', port: sink.port, tls: false, username: '', password: '' },
  });
  members = uniqueName('members');
  await admin.collections.create({
    name: members,
    type: 'auth',
    fields: [],
    otp: { enabled: true },
    mfa: { enabled: true },
  });
});

after(async () => {
  await admin.settings.update({ smtp: { enabled: false } });
  await admin.collections.delete(members);
  await sink.close();
});

test('requesting verification answers the same for unknown addresses', async () => {
  assert.equal(await newClient().collection('users').requestVerification('nobody-at-all@example.com'), true);
  await expectError(newClient().collection('users').requestVerification('not-an-email'), 400, {
    email: 'validation_is_email',
  });
});

test('verification: the mailed token verifies the account once', async () => {
  const user = await createUser(admin);
  assert.equal(await newClient().collection('users').requestVerification(user.email), true);
  const [, token] = await sink.waitFor(user.email, TOKEN_RE);
  await expectError(newClient().collection('users').confirmVerification('not-a-token'), 400);
  assert.equal(await newClient().collection('users').confirmVerification(token), true);
  assert.equal((await admin.collection('users').getOne(user.record.id)).verified, true);
});

test('password reset: the new password works, the old one and old tokens do not', async () => {
  const user = await createUser(admin);
  const signedIn = await userClient(user.email, user.password);
  assert.equal(await newClient().collection('users').requestPasswordReset(user.email), true);
  const [, token] = await sink.waitFor(user.email, TOKEN_RE);
  await expectError(
    newClient().collection('users').confirmPasswordReset(token, 'brand-new-pass', 'other-pass-123'),
    400,
    { passwordConfirm: 'validation_values_mismatch' },
  );
  assert.equal(await newClient().collection('users').confirmPasswordReset(token, 'brand-new-pass', 'brand-new-pass'), true);
  await expectError(signedIn.collection('users').authRefresh(), 401);
  await expectError(newClient().collection('users').authWithPassword(user.email, user.password), 400);
  const pb = await userClient(user.email, 'brand-new-pass');
  assert.equal(pb.authStore.record.id, user.record.id);
});

test('email change: confirmed with the password, the account moves', async () => {
  const user = await createUser(admin);
  const pb = await userClient(user.email, user.password);
  const newEmail = `${uniqueName('moved')}@example.com`;
  await expectError(newClient().collection('users').requestEmailChange(newEmail), 401);
  assert.equal(await pb.collection('users').requestEmailChange(newEmail), true);
  const [, token] = await sink.waitFor(newEmail, TOKEN_RE);
  await expectError(newClient().collection('users').confirmEmailChange(token, 'wrong-password'), 400, {
    password: 'validation_invalid_password',
  });
  assert.equal(await newClient().collection('users').confirmEmailChange(token, user.password), true);
  const moved = await userClient(newEmail, user.password);
  assert.equal(moved.authStore.record.id, user.record.id);
  assert.equal(moved.authStore.record.verified, true);
});

test('OTP: the mailed code signs in; a wrong one is 400', async () => {
  const email = `${uniqueName('otp')}@example.com`;
  // Refused while the collection has OTP off (the default for `users`).
  await expectError(newClient().collection('users').requestOTP(email), 403, {});
  await admin.collections.update('users', { otp: { enabled: true } });
  try {
    await admin.collection('users').create({ email, password: 'password123', passwordConfirm: 'password123' });
    const { otpId } = await newClient().collection('users').requestOTP(email);
    assert.match(otpId, /^[a-z0-9]{15}$/);
    const [, code] = await sink.waitFor(email, OTP_RE);
    await expectError(newClient().collection('users').authWithOTP(otpId, code === '00000000' ? '11111111' : '00000000'), 400);
    const pb = newClient();
    const auth = await pb.collection('users').authWithOTP(otpId, code);
    assert.equal(auth.record.email, email);
    assert.equal(pb.authStore.isValid, true);
    // Unknown addresses get an otpId too.
    const ghost = await newClient().collection('users').requestOTP(`${uniqueName('ghost')}@example.com`);
    assert.match(ghost.otpId, /^[a-z0-9]{15}$/);
  } finally {
    await admin.collections.update('users', { otp: { enabled: false } });
  }
});

test('MFA: a password alone answers 401 with mfaId; OTP with it completes', async () => {
  const email = `${uniqueName('mfa')}@example.com`;
  await admin.collection(members).create({ email, password: 'password123', passwordConfirm: 'password123' });
  const err = await expectError(newClient().collection(members).authWithPassword(email, 'password123'), 401);
  const mfaId = err.response.mfaId;
  assert.match(mfaId, /^[a-z0-9]{15}$/);
  await expectError(newClient().collection(members).authWithPassword(email, 'password123', { mfaId }), 400);
  const { otpId } = await newClient().collection(members).requestOTP(email);
  const [, code] = await sink.waitFor(email, OTP_RE);
  const pb = newClient();
  await pb.collection(members).authWithOTP(otpId, code, { mfaId });
  assert.equal(pb.authStore.isValid, true);
  assert.equal(pb.authStore.record.email, email);
});
