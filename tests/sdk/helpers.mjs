// Shared helpers for the JS SDK suite. run.sh starts the server and exports:
//   SDK_BASE_URL        e.g. http://127.0.0.1:41234
//   SDK_ADMIN_EMAIL     the superuser created with `superuser upsert`
//   SDK_ADMIN_PASSWORD
//   SDK_TARGET          "cairn" or "pocketbase" (informational only: the tests
//                       expect the same behaviour from both)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import PocketBase, { ClientResponseError } from 'pocketbase';

export const BASE_URL = process.env.SDK_BASE_URL ?? 'http://127.0.0.1:8090';
export const ADMIN_EMAIL = process.env.SDK_ADMIN_EMAIL ?? 'admin@example.com';
export const ADMIN_PASSWORD = process.env.SDK_ADMIN_PASSWORD ?? 'password123456';
export const TARGET = process.env.SDK_TARGET ?? 'cairn';

// How PocketBase serializes every datetime: "2024-01-02 03:04:05.678Z".
export const DATETIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// A generated (or client-supplied) record id.
export const RECORD_ID_RE = /^[a-z0-9]{15}$/;

/** A fresh, unauthenticated client (a guest). */
export function newClient() {
  const pb = new PocketBase(BASE_URL);
  // The SDK cancels a pending request when an identical one starts; the tests
  // never rely on that, and it would turn parallel calls into AbortErrors.
  pb.autoCancellation(false);
  return pb;
}

/** A client signed in as the superuser, as an admin script would do it. */
export async function adminClient() {
  const pb = newClient();
  await pb.collection('_superusers').authWithPassword(ADMIN_EMAIL, ADMIN_PASSWORD);
  assert.ok(pb.authStore.isValid, 'superuser auth should give a valid token');
  assert.ok(pb.authStore.isSuperuser, 'the token should be a superuser token');
  return pb;
}

/**
 * A name no other test (or test file) uses: collection names, emails, ...
 * Only [a-z0-9_], so it is a valid collection name.
 */
export function uniqueName(prefix) {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** Creates a `users` record with a password, as a sign-up form would. */
export async function createUser(admin, fields = {}) {
  const email = `${uniqueName('user')}@example.com`;
  const password = 'password123';
  const record = await admin.collection('users').create({
    email,
    password,
    passwordConfirm: password,
    ...fields,
  });
  return { record, email, password };
}

/** A guest client signed in as the given `users` record. */
export async function userClient(email, password) {
  const pb = newClient();
  await pb.collection('users').authWithPassword(email, password);
  return pb;
}

/**
 * Awaits `promise`, which must reject with a ClientResponseError of HTTP
 * `status`. When `fieldCodes` is given ({ field: 'validation_code', ... }),
 * the error's `response.data` must name exactly those fields, each with that
 * `code` ({} means "no field errors"). Returns the error for further checks.
 */
export async function expectError(promise, status, fieldCodes) {
  let error;
  try {
    const value = await promise;
    assert.fail(`expected an HTTP ${status} error, got a success: ${JSON.stringify(value)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    error = err;
  }
  assert.ok(
    error instanceof ClientResponseError,
    `expected a ClientResponseError, got ${error?.constructor?.name}: ${error}`,
  );
  const body = JSON.stringify(error.response);
  assert.equal(error.status, status, `HTTP status (response: ${body})`);
  if (fieldCodes !== undefined) {
    const data = error.response?.data ?? {};
    const codes = Object.fromEntries(Object.entries(data).map(([field, e]) => [field, e?.code]));
    assert.deepEqual(codes, fieldCodes, `response.data field codes (response: ${body})`);
    for (const [field, e] of Object.entries(data)) {
      assert.equal(typeof e.message, 'string', `data.${field}.message should be a string`);
    }
  }
  return error;
}

// Test options that skip a test against Cairn while the feature it needs is
// still being built, saying which. Against PocketBase every test runs, so the
// suite keeps proving what the real behaviour is.
export function pendingOnCairn(feature) {
  return TARGET === 'cairn' ? { skip: `Cairn does not have ${feature} yet` } : {};
}

// Test options for Cairn's own additions (sessions, …), which PocketBase
// does not have: they run against Cairn only, and say so against PocketBase.
export function cairnOnly(feature) {
  return TARGET === 'cairn' ? {} : { skip: `${feature} is a Cairn addition; PocketBase has none` };
}

/** Collects the events a subscription receives; `waitFor` awaits one. */
export function inbox() {
  const events = [];
  const waiters = [];
  return {
    events,
    push(e) {
      events.push(e);
      for (const w of [...waiters]) w.check();
    },
    waitFor(predicate, what, ms = 5000) {
      return new Promise((resolve, reject) => {
        const w = {
          check() {
            const found = events.find(predicate);
            if (found) {
              clearTimeout(w.timer);
              waiters.splice(waiters.indexOf(w), 1);
              resolve(found);
            }
          },
        };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no event ${what} within ${ms} ms; got ${JSON.stringify(events)}`));
        }, ms);
        waiters.push(w);
        w.check();
      });
    },
  };
}
