// Cairn's API keys with the official SDK, as a server script would use
// one: the key saved in the auth store like a token, records and realtime
// within its scopes, and a refusal (403) outside them and for sign-in.
import './eventsource.mjs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, cairnOnly, createUser, expectError, inbox, newClient, uniqueName } from './helpers.mjs';

let admin;
let notes;
let user;
let secret;
const clients = [];

before(async () => {
  if (cairnOnly('API keys').skip) return;
  admin = await adminClient();
  notes = await admin.collections.create({
    name: uniqueName('key_notes'),
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '@request.auth.id != ""',
    fields: [{ name: 'title', type: 'text' }],
  });
  user = await createUser(admin);
  const created = await admin.send('/api/keys', {
    method: 'POST',
    body: {
      name: 'sdk script',
      collection: 'users',
      record: user.email,
      scopes: [{ collection: notes.name, actions: ['list', 'create', 'realtime'] }],
    },
  });
  secret = created.secret;
});

after(() => {
  for (const pb of clients) pb.realtime.unsubscribe().catch(() => {});
});

test('a key in the auth store acts as its record within its scopes', cairnOnly('API keys'), async () => {
  const pb = newClient();
  clients.push(pb);
  pb.authStore.save(secret);
  const made = await pb.collection(notes.name).create({ title: 'from a script' });
  assert.equal(made.title, 'from a script', 'the create rule saw the key as its record');
  const page = await pb.collection(notes.name).getList(1, 10);
  assert.ok(page.items.some((r) => r.id === made.id));
  // Outside the scopes: view, another collection; and no token minting.
  await expectError(pb.collection(notes.name).getOne(made.id), 403);
  await expectError(pb.collection('users').getOne(user.record.id), 403);
  await expectError(pb.collection('users').authRefresh(), 403);
  // A guest may not create (positive control for the rule above).
  await expectError(newClient().collection(notes.name).create({ title: 'guest' }), 400);
});

test('realtime with a key: its scoped collection only', cairnOnly('API keys'), async () => {
  const pb = newClient();
  clients.push(pb);
  pb.authStore.save(secret);
  const got = inbox();
  await pb.collection(notes.name).subscribe('*', got.push);
  await expectError(pb.collection('users').subscribe('*', () => {}), 403);
  await admin.collection(notes.name).create({ title: 'seen by the key' });
  const e = await got.waitFor((ev) => ev.record?.title === 'seen by the key');
  assert.equal(e.action, 'create');
});
