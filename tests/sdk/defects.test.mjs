// The defects issue's cases that PocketBase answers too, through the official
// SDK against both servers: sign-in from a form body, schema changes under a
// view, and realtime topics written the way other PocketBase clients write
// them (a bare collection name, a bare `collection/id`).
import './eventsource.mjs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, createUser, expectError, inbox, newClient, uniqueName } from './helpers.mjs';

let admin;
const streams = [];
after(async () => {
  for (const pb of streams) await pb.realtime.unsubscribe();
});

before(async () => {
  admin = await adminClient();
});

test('sign-in accepts multipart and URL-encoded bodies, with the same errors as JSON', async () => {
  const { email, password } = await createUser(admin);
  const pb = newClient();
  const form = new FormData();
  form.append('identity', email);
  form.append('password', password);
  const byForm = await pb.send('/api/collections/users/auth-with-password', { method: 'POST', body: form });
  assert.equal(byForm.record.email, email);
  const encoded = new URLSearchParams({ identity: email, password });
  const byUrl = await pb.send('/api/collections/users/auth-with-password', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: encoded.toString(),
  });
  assert.ok(byUrl.token);
  // A wrong password is the same 400 whatever the encoding.
  const bad = new FormData();
  bad.append('identity', email);
  bad.append('password', 'wrong-password');
  const formError = await expectError(
    pb.send('/api/collections/users/auth-with-password', { method: 'POST', body: bad }),
    400,
  );
  const jsonError = await expectError(
    pb.collection('users').authWithPassword(email, 'wrong-password'),
    400,
  );
  assert.deepEqual(formError.response, jsonError.response);
});

test('fields can be added to and dropped from a table a view reads', async () => {
  const base = await admin.collections.create({
    name: uniqueName('viewbase'),
    type: 'base',
    listRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'extra', type: 'text' },
    ],
  });
  const view = await admin.collections.create({
    name: uniqueName('viewover'),
    type: 'view',
    listRule: '',
    viewQuery: `SELECT id, title FROM ${base.name}`,
  });
  await admin.collection(base.name).create({ title: 'kept' });
  const added = await admin.collections.update(base.id, {
    fields: [...base.fields, { name: 'more', type: 'number' }],
  });
  assert.ok(added.fields.some((f) => f.name === 'more'));
  const dropped = await admin.collections.update(base.id, {
    fields: added.fields.filter((f) => f.name !== 'extra'),
  });
  assert.ok(!dropped.fields.some((f) => f.name === 'extra'));
  const rows = await newClient().collection(view.name).getFullList();
  assert.deepEqual(rows.map((r) => r.title), ['kept']);
});

test('bare collection and collection/id topics get their events, named as subscribed', async () => {
  const posts = await admin.collections.create({
    name: uniqueName('rtbare'),
    type: 'base',
    listRule: '',
    viewRule: '',
    fields: [{ name: 'title', type: 'text' }],
  });
  const first = await admin.collection(posts.name).create({ title: 'first' });
  const guest = newClient();
  streams.push(guest);
  const all = inbox();
  const one = inbox();
  await guest.realtime.subscribe(posts.name, (e) => all.push(e));
  await guest.realtime.subscribe(`${posts.name}/${first.id}`, (e) => one.push(e));
  await admin.collection(posts.name).update(first.id, { title: 'first, changed' });
  await admin.collection(posts.name).create({ title: 'second' });
  await all.waitFor((e) => e.action === 'update' && e.record.title === 'first, changed', 'the update');
  await all.waitFor((e) => e.action === 'create' && e.record.title === 'second', 'the create');
  await one.waitFor((e) => e.action === 'update' && e.record.id === first.id, 'the update by id');
  assert.ok(!one.events.some((e) => e.record.title === 'second'), 'the by-id topic gets only its record');
});
