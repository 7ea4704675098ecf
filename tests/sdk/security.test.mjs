// The security issue's probes that PocketBase has an answer for, run through
// the official SDK against both servers: hidden fields belong to the server
// (clients cannot write them; rules read them on @request.auth), a client's
// filter through a relation sees only what the related list rule allows, and
// SQLite's own names are refused as collection names, and realtime
// subscribers with the same filter text never share each other's answers.
import './eventsource.mjs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, createUser, expectError, inbox, newClient, uniqueName, userClient } from './helpers.mjs';

const streams = []; // realtime clients to close at the end
after(async () => {
  for (const pb of streams) await pb.realtime.unsubscribe();
});

let admin;
let members; // an auth collection with hidden `role` and `banned`
let vip; // listed only by members whose hidden role is 'admin'
let posts; // created only by members who are not banned

async function member(fields = {}) {
  const email = `${uniqueName('m')}@example.com`;
  const password = 'password123';
  // A guest sign-up, as an app's form sends it.
  const record = await newClient()
    .collection(members.name)
    .create({ email, password, passwordConfirm: password, ...fields });
  const pb = newClient();
  await pb.collection(members.name).authWithPassword(email, password);
  return { record, pb };
}

before(async () => {
  admin = await adminClient();
  members = await admin.collections.create({
    name: uniqueName('members'),
    type: 'auth',
    listRule: 'id = @request.auth.id',
    viewRule: 'id = @request.auth.id',
    createRule: '',
    updateRule: 'id = @request.auth.id',
    fields: [
      { name: 'nick', type: 'text' },
      { name: 'role', type: 'text', hidden: true },
      { name: 'banned', type: 'bool', hidden: true },
    ],
  });
  vip = await admin.collections.create({
    name: uniqueName('vip'),
    type: 'base',
    listRule: "@request.auth.role = 'admin'",
    fields: [{ name: 'title', type: 'text' }],
  });
  await admin.collection(vip.name).create({ title: 'for admins' });
  posts = await admin.collections.create({
    name: uniqueName('posts'),
    type: 'base',
    createRule: "@request.auth.id != '' && @request.auth.banned != true",
    listRule: '',
    fields: [{ name: 'title', type: 'text' }],
  });
});

test('a member cannot make itself an admin; a superuser can, and rules see it', async () => {
  const { record, pb } = await member({ role: 'admin' });
  assert.equal(record.role, undefined, 'hidden fields never leave the server');
  // The sign-up's role was dropped: the admin-only list stays empty.
  assert.equal((await pb.collection(vip.name).getFullList()).length, 0);
  // So is an update of its own record, while a visible field is written.
  const updated = await pb.collection(members.name).update(record.id, { role: 'admin', nick: 'me' });
  assert.equal(updated.nick, 'me');
  assert.equal((await pb.collection(vip.name).getFullList()).length, 0);
  // A form body is no way around it either.
  const form = new FormData();
  form.append('role', 'admin');
  await pb.collection(members.name).update(record.id, form);
  assert.equal((await pb.collection(vip.name).getFullList()).length, 0);
  // The positive control: a superuser sets the role, and the rule sees it.
  await admin.collection(members.name).update(record.id, { role: 'admin' });
  const seen = await pb.collection(vip.name).getFullList();
  assert.deepEqual(seen.map((r) => r.title), ['for admins']);
});

test('a banned member is refused by a rule on its hidden flag; others are not', async () => {
  const banned = await member();
  const fine = await member();
  await admin.collection(members.name).update(banned.record.id, { banned: true });
  await expectError(banned.pb.collection(posts.name).create({ title: 'spam' }), 400);
  const ok = await fine.pb.collection(posts.name).create({ title: 'hello' });
  assert.equal(ok.title, 'hello');
  // Clearing the flag lets the first one in again.
  await admin.collection(members.name).update(banned.record.id, { banned: false });
  assert.equal((await banned.pb.collection(posts.name).create({ title: 'back' })).title, 'back');
});

test("a filter through a relation reads only what the related list rule allows", async () => {
  const vault = await admin.collections.create({
    name: uniqueName('vault'),
    type: 'base',
    fields: [{ name: 'code', type: 'text' }],
  });
  const open = await admin.collections.create({
    name: uniqueName('open'),
    type: 'base',
    listRule: '',
    viewRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'secret', type: 'relation', collectionId: vault.id, maxSelect: 1 },
    ],
  });
  const secret = await admin.collection(vault.name).create({ code: 'abc' });
  await admin.collection(open.name).create({ title: 'one', secret: secret.id });
  const guest = newClient().collection(open.name);
  // Refused to a guest, right guess or wrong, in filters and sorts alike…
  await expectError(guest.getList(1, 10, { filter: "secret.code ~ 'a'" }), 400);
  await expectError(guest.getList(1, 10, { filter: "secret.code ~ 'z'" }), 400);
  await expectError(guest.getList(1, 10, { sort: 'secret.code' }), 400);
  // …while the stored id is the guest's to filter by, and the superuser
  // reads through the relation.
  assert.equal((await guest.getList(1, 10, { filter: `secret = '${secret.id}'` })).totalItems, 1);
  const found = await admin.collection(open.name).getList(1, 10, { filter: "secret.code ~ 'a'" });
  assert.equal(found.totalItems, 1);
});

test("SQLite's own table names are refused as collection names", async () => {
  for (const name of ['sqlite_master', 'sqlite_sequence', 'SQLITE_temp']) {
    await expectError(admin.collections.create({ name, type: 'base', fields: [] }), 400);
  }
  // The control: an ordinary name is fine.
  const ok = await admin.collections.create({ name: uniqueName('sqlitelike'), type: 'base', fields: [] });
  assert.ok(ok.id);
});

test('subscribers with the same filter text get their own answers', async () => {
  const notes = await admin.collections.create({
    name: uniqueName('rtsec'),
    type: 'base',
    listRule: 'owner = @request.auth.id',
    viewRule: 'owner = @request.auth.id',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    ],
  });
  const board = await admin.collections.create({
    name: uniqueName('rtpub'),
    type: 'base',
    listRule: '',
    viewRule: '',
    fields: [{ name: 'title', type: 'text' }],
  });
  const a = await createUser(admin);
  const b = await createUser(admin);
  const guest = newClient();
  const alice = await userClient(a.email, a.password);
  const bob = await userClient(b.email, b.password);
  streams.push(guest, alice, bob);
  // The same filter text for everyone, the guest first: a check shared
  // across callers would hand one caller's answer to the others.
  const filter = { filter: "title ~ 'note'" };
  const got = { guest: inbox(), alice: inbox(), bob: inbox() };
  await guest.collection(notes.name).subscribe('*', (e) => got.guest.push(e), filter);
  await alice.collection(notes.name).subscribe('*', (e) => got.alice.push(e), filter);
  await bob.collection(notes.name).subscribe('*', (e) => got.bob.push(e), filter);
  const guestBoard = inbox();
  await guest.collection(board.name).subscribe('*', (e) => guestBoard.push(e));
  await admin.collection(notes.name).create({ title: 'note a', owner: a.record.id });
  await admin.collection(notes.name).create({ title: 'note b', owner: b.record.id });
  await admin.collection(notes.name).create({ title: 'note a, last', owner: a.record.id });
  await admin.collection(notes.name).create({ title: 'note b, last', owner: b.record.id });
  await admin.collection(board.name).create({ title: 'marker' });
  await got.alice.waitFor((e) => e.record.title === 'note a, last', "alice's last note");
  await got.bob.waitFor((e) => e.record.title === 'note b, last', "bob's last note");
  await guestBoard.waitFor((e) => e.record.title === 'marker', 'the public marker');
  const titles = (box) => box.events.map((e) => e.record.title);
  assert.deepEqual(titles(got.alice), ['note a', 'note a, last']);
  assert.deepEqual(titles(got.bob), ['note b', 'note b, last']);
  assert.deepEqual(titles(got.guest), [], 'a guest sees no owner-only note');
});
