// Realtime through `pb.collection(name).subscribe(...)`, the way an app
// listens for changes: subscribe/unsubscribe, rule filtering per
// subscriber, topic options (fields, expand, filter) and reconnection.
import './eventsource.mjs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, createUser, inbox, newClient, uniqueName, userClient } from './helpers.mjs';

let admin;
let open; // everyone may list and view
let owned; // owners only
let authors; // relation target for expand
const clients = [];

/** A client to close at the end (open realtime connections keep node alive). */
function track(pb) {
  clients.push(pb);
  return pb;
}

const byTitle = (action, title) => (e) => e.action === action && e.record?.title === title;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  admin = track(await adminClient());
  authors = await admin.collections.create({
    name: uniqueName('rt_authors'),
    type: 'base',
    listRule: '',
    viewRule: '',
    fields: [{ name: 'name', type: 'text' }],
  });
  open = await admin.collections.create({
    name: uniqueName('rt_open'),
    type: 'base',
    listRule: '',
    viewRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'n', type: 'number' },
      { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
    ],
  });
  owned = await admin.collections.create({
    name: uniqueName('rt_owned'),
    type: 'base',
    listRule: 'owner = @request.auth.id',
    viewRule: 'owner = @request.auth.id',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'owner', type: 'text' },
    ],
  });
});

after(async () => {
  for (const pb of clients) {
    try {
      await pb.realtime.unsubscribe();
    } catch {}
  }
});

test('subscribe receives create, update and delete; unsubscribe stops them', async () => {
  const guest = track(newClient());
  const watcher = track(newClient());
  const got = inbox();
  const seen = inbox();
  const unsubscribe = await guest.collection(open.name).subscribe('*', (e) => got.push(e));
  await watcher.collection(open.name).subscribe('*', (e) => seen.push(e));
  assert.ok(guest.realtime.isConnected);
  assert.match(guest.realtime.clientId, /^\S+$/);

  const rec = await admin.collection(open.name).create({ title: 'first', n: 1 });
  const created = await got.waitFor(byTitle('create', 'first'), 'create first');
  assert.equal(created.record.id, rec.id);
  assert.equal(created.record.collectionName, open.name);
  assert.equal(created.record.collectionId, open.id);
  assert.equal(created.record.n, 1);

  await admin.collection(open.name).update(rec.id, { title: 'second' });
  await got.waitFor(byTitle('update', 'second'), 'update second');
  await admin.collection(open.name).delete(rec.id);
  const deleted = await got.waitFor((e) => e.action === 'delete', 'delete');
  assert.equal(deleted.record.id, rec.id);
  assert.equal(deleted.record.title, 'second', 'a delete event carries the record as it was');

  await unsubscribe();
  assert.equal(guest.realtime.isConnected, false, 'no topics left: the connection closes');
  const before = got.events.length;
  await admin.collection(open.name).create({ title: 'after' });
  await seen.waitFor(byTitle('create', 'after'), 'create after (other subscriber)');
  await sleep(200);
  assert.equal(got.events.length, before, 'nothing arrives after unsubscribing');
});

test('each subscriber receives only the records its rules let it see', async () => {
  const a = await createUser(admin);
  const b = await createUser(admin);
  const alice = track(await userClient(a.email, a.password));
  const bob = track(await userClient(b.email, b.password));
  const guest = track(newClient());
  const [ga, gb, gg] = [inbox(), inbox(), inbox()];
  await alice.collection(owned.name).subscribe('*', (e) => ga.push(e));
  await bob.collection(owned.name).subscribe('*', (e) => gb.push(e));
  await guest.collection(owned.name).subscribe('*', (e) => gg.push(e));

  const mine = await admin.collection(owned.name).create({ title: 'alice only', owner: a.record.id });
  await admin.collection(owned.name).create({ title: 'bob only', owner: b.record.id });
  await ga.waitFor(byTitle('create', 'alice only'), 'alice gets hers');
  await gb.waitFor(byTitle('create', 'bob only'), 'bob gets his');

  // One record's topic is checked against the view rule.
  const [va, vb] = [inbox(), inbox()];
  await alice.collection(owned.name).subscribe(mine.id, (e) => va.push(e));
  await bob.collection(owned.name).subscribe(mine.id, (e) => vb.push(e));
  await admin.collection(owned.name).update(mine.id, { title: 'alice edited' });
  await va.waitFor(byTitle('update', 'alice edited'), 'alice sees her update');
  await ga.waitFor(byTitle('update', 'alice edited'), 'alice sees it on * too');
  await sleep(300);

  assert.deepEqual(
    ga.events.map((e) => e.record.title),
    ['alice only', 'alice edited'],
  );
  assert.deepEqual(
    gb.events.map((e) => e.record.title),
    ['bob only'],
    'bob never receives a record he may not view',
  );
  assert.deepEqual(vb.events, [], 'nor one record he subscribed to by id');
  assert.deepEqual(gg.events, [], 'guests see nothing of owner-only records');
});

test('topic options: fields and expand shape each event, filter narrows them', async () => {
  const guest = track(newClient());
  const shaped = inbox();
  const filtered = inbox();
  await guest.collection(open.name).subscribe('*', (e) => shaped.push(e), {
    fields: 'id,title,expand.author.name',
    expand: 'author',
  });
  await guest.collection(open.name).subscribe('*', (e) => filtered.push(e), {
    filter: 'n > 10',
  });
  const writer = await admin.collection(authors.name).create({ name: 'Ann' });
  await admin.collection(open.name).create({ title: 'small', n: 1, author: writer.id });
  await admin.collection(open.name).create({ title: 'big', n: 99, author: writer.id });

  const small = await shaped.waitFor(byTitle('create', 'small'), 'shaped small');
  assert.deepEqual(Object.keys(small.record).sort(), ['expand', 'id', 'title']);
  assert.deepEqual(small.record.expand, { author: { name: 'Ann' } });

  await filtered.waitFor(byTitle('create', 'big'), 'filtered big');
  await shaped.waitFor(byTitle('create', 'big'), 'shaped big');
  await sleep(200);
  assert.deepEqual(
    filtered.events.map((e) => e.record.title),
    ['big'],
    'the filter option drops records that do not match',
  );
});

test('after a dropped connection the SDK reconnects and resubscribes', async () => {
  const guest = track(newClient());
  const got = inbox();
  let disconnects = 0;
  guest.realtime.onDisconnect = () => {
    disconnects += 1;
  };
  await guest.collection(open.name).subscribe('*', (e) => got.push(e));
  const firstId = guest.realtime.clientId;
  await admin.collection(open.name).create({ title: 'before drop' });
  await got.waitFor(byTitle('create', 'before drop'), 'before drop');

  let reconnected;
  const connected = new Promise((resolve) => {
    reconnected = resolve;
  });
  await guest.realtime.subscribe('PB_CONNECT', () => reconnected());
  guest.realtime.eventSource.simulateNetworkDrop();
  await Promise.race([
    connected,
    sleep(10000).then(() => {
      throw new Error('no reconnect within 10 s');
    }),
  ]);
  assert.ok(disconnects >= 1, 'the drop was noticed');
  assert.notEqual(guest.realtime.clientId, firstId, 'a new connection is a new client');

  await admin.collection(open.name).create({ title: 'after drop' });
  await got.waitFor(byTitle('create', 'after drop'), 'after drop (resubscribed)');
});

test('a subscription that can never deliver does not stop the others', async () => {
  // The SDK keeps every topic it was given and sends the whole list again
  // on each subscribe and reconnect: a topic the server refused would make
  // every later subscribe fail. Both servers keep such topics, silent.
  const view = await admin.collections.create({
    name: uniqueName('rt_view'),
    type: 'view',
    listRule: '',
    viewRule: '',
    viewQuery: `SELECT id, title FROM ${open.name}`,
  });
  const client = track(newClient());
  const got = inbox();
  await client.collection(view.name).subscribe('*', () => {});
  await client.collection(uniqueName('rt_nowhere')).subscribe('*', () => {});
  await client.collection(open.name).subscribe('*', (e) => got.push(e));
  await admin.collection(open.name).create({ title: 'still heard' });
  await got.waitFor(byTitle('create', 'still heard'), 'the real topic delivers');
});
