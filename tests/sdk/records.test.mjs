// Records CRUD through `pb.collection(name).*`, the way an app does it with the
// official JS SDK, including the exact serialized form of every field type.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  DATETIME_RE,
  RECORD_ID_RE,
  adminClient,
  createUser,
  expectError,
  newClient,
  uniqueName,
} from './helpers.mjs';

let admin;
let col; // a collection with one field of every type
let listCol; // a collection with exactly five records, for paging
let alice; // `users` records to relate to
let bob;

// What an unset field of each type reads back as.
const EMPTY_VALUES = {
  title: undefined, // required; always set by the tests
  n: 0,
  flag: false,
  mail: '',
  site: '',
  body: '',
  when: '',
  color: '',
  tags: [],
  meta: null,
  owner: '',
  members: [],
  doc: '',
  secret: '',
  loc: { lon: 0, lat: 0 },
};

before(async () => {
  admin = await adminClient();
  const users = await admin.collections.getOne('users');
  alice = (await createUser(admin, { name: 'Alice' })).record;
  bob = (await createUser(admin, { name: 'Bob' })).record;

  col = await admin.collections.create({
    name: uniqueName('records_all'),
    type: 'base',
    fields: [
      { name: 'title', type: 'text', required: true, max: 20 },
      { name: 'n', type: 'number', min: 0 },
      { name: 'flag', type: 'bool' },
      { name: 'mail', type: 'email' },
      { name: 'site', type: 'url' },
      { name: 'body', type: 'editor' },
      { name: 'when', type: 'date' },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
      { name: 'color', type: 'select', values: ['red', 'green', 'blue'], maxSelect: 1 },
      { name: 'tags', type: 'select', values: ['a', 'b', 'c', 'd'], maxSelect: 4 },
      { name: 'meta', type: 'json' },
      { name: 'owner', type: 'relation', collectionId: users.id, maxSelect: 1 },
      { name: 'members', type: 'relation', collectionId: users.id, maxSelect: 5 },
      { name: 'doc', type: 'file', maxSelect: 1, maxSize: 1024 * 1024 },
      { name: 'secret', type: 'password' },
      { name: 'loc', type: 'geoPoint' },
    ],
  });

  listCol = await admin.collections.create({
    name: uniqueName('records_list'),
    type: 'base',
    fields: [
      { name: 'label', type: 'text' },
      { name: 'rank', type: 'number' },
    ],
  });
  for (const rank of [3, 1, 5, 2, 4]) {
    await admin.collection(listCol.name).create({ label: `item${rank}`, rank });
  }
});

function records() {
  return admin.collection(col.name);
}

/** Splits off the generated parts of a record, checking their format. */
function withoutGenerated(record) {
  const { id, created, updated, ...rest } = record;
  assert.match(id, RECORD_ID_RE);
  assert.match(created, DATETIME_RE);
  assert.match(updated, DATETIME_RE);
  return rest;
}

// ------------------------------------------------------------ create/read ---

test('create with every field type (JSON body) and read it back', async () => {
  const input = {
    title: 'Hello',
    n: 3.5,
    flag: true,
    mail: 'someone@example.com',
    site: 'https://example.com/page?x=1',
    body: '<p>Some <strong>rich</strong> text</p>',
    when: '2024-01-02 03:04:05.678Z',
    color: 'green',
    tags: ['a', 'c'],
    meta: { nested: [1, 'two', { three: null }], ok: true },
    owner: alice.id,
    members: [alice.id, bob.id],
    secret: 'plain-text-secret',
    loc: { lon: 12.5, lat: -41.25 },
  };
  const created = await records().create(input);

  assert.deepEqual(withoutGenerated(created), {
    collectionId: col.id,
    collectionName: col.name,
    ...input,
    doc: '',
    secret: '', // a password field never comes back
  });

  const read = await records().getOne(created.id);
  assert.deepEqual(read, created);
});

test('unset fields read back as the empty value of their type', async () => {
  const created = await records().create({ title: 'minimal' });
  const expected = { ...EMPTY_VALUES, title: 'minimal' };
  assert.deepEqual(withoutGenerated(created), {
    collectionId: col.id,
    collectionName: col.name,
    ...expected,
  });
  assert.deepEqual(await records().getOne(created.id), created);
});

test('datetimes are serialized as "YYYY-MM-DD HH:MM:SS.mmmZ"', async () => {
  const before = Date.now();
  const iso = await records().create({ title: 'iso date', when: '2024-05-06T07:08:09Z' });
  const dateOnly = await records().create({ title: 'date only', when: '2024-05-06' });

  assert.equal(iso.when, '2024-05-06 07:08:09.000Z');
  assert.equal(dateOnly.when, '2024-05-06 00:00:00.000Z');
  for (const rec of [iso, dateOnly]) {
    assert.match(rec.created, DATETIME_RE);
    assert.match(rec.updated, DATETIME_RE);
    // The autodate values are "now" (same machine, same clock).
    const created = Date.parse(rec.created.replace(' ', 'T'));
    assert.ok(Math.abs(created - before) < 5 * 60 * 1000, `created ${rec.created} is now`);
  }
});

test('records carry collectionId, collectionName and a 15-char id', async () => {
  const created = await records().create({ title: 'meta' });
  assert.equal(created.collectionId, col.id);
  assert.equal(created.collectionName, col.name);
  assert.match(created.id, RECORD_ID_RE);

  const other = await records().create({ title: 'meta 2' });
  assert.notEqual(other.id, created.id);
});

test('a password field value is never returned', async () => {
  const secret = 'do-not-echo-me-123';
  const created = await records().create({ title: 'pw', secret });
  const read = await records().getOne(created.id);
  const list = await records().getList(1, 50, { filter: `id = "${created.id}"` });

  for (const rec of [created, read, list.items[0]]) {
    assert.equal(rec.secret, '');
    const json = JSON.stringify(rec);
    assert.ok(!json.includes(secret), 'the plain value is not in the response');
    assert.ok(!/\$2[aby]\$/.test(json), 'no bcrypt hash in the response');
  }

  // Nor an auth record's password (or token key).
  const { record: user } = await createUser(admin);
  const readUser = await admin.collection('users').getOne(user.id);
  for (const rec of [user, readUser]) {
    assert.equal('password' in rec, false);
    assert.equal('tokenKey' in rec, false);
  }
});

test('create via FormData (multipart) with a file', async () => {
  const form = new FormData();
  form.append('title', 'multipart');
  form.append('n', '42');
  form.append('flag', 'true');
  form.append('tags', 'a');
  form.append('tags', 'd');
  form.append('meta', JSON.stringify({ from: 'form' }));
  form.append('owner', alice.id);
  form.append('doc', new Blob(['hello from a file'], { type: 'text/plain' }), 'hello.txt');

  const created = await records().create(form);
  assert.equal(created.title, 'multipart');
  assert.equal(created.n, 42);
  assert.equal(created.flag, true);
  assert.deepEqual(created.tags, ['a', 'd']);
  assert.deepEqual(created.meta, { from: 'form' });
  assert.equal(created.owner, alice.id);
  // The stored name keeps the original name and adds a random suffix.
  assert.match(created.doc, /^hello_[a-z0-9]{10}\.txt$/);
  assert.deepEqual(await records().getOne(created.id), created);

  // The file can be downloaded through the URL the SDK builds.
  const url = admin.files.getURL(created, created.doc);
  assert.ok(url.startsWith(`${admin.baseURL}/api/files/`), url);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  assert.equal(await res.text(), 'hello from a file');
});

test('create from a plain object holding a File (SDK sends multipart + @jsonPayload)', async () => {
  const created = await records().create({
    title: 'object+file',
    n: 7,
    tags: ['b', 'c'], // arrays and objects go into the @jsonPayload part
    meta: { via: 'jsonPayload' },
    doc: new File(['{"a":1}'], 'data.json', { type: 'application/json' }),
  });
  assert.equal(created.title, 'object+file');
  assert.equal(created.n, 7);
  assert.deepEqual(created.tags, ['b', 'c']);
  assert.deepEqual(created.meta, { via: 'jsonPayload' });
  assert.match(created.doc, /^data_[a-z0-9]{10}\.json$/);
});

// ---------------------------------------------------------------- update ---

test('update with tags+ appends and tags- removes', async () => {
  const rec = await records().create({ title: 'tags', tags: ['a'] });

  const appended = await records().update(rec.id, { 'tags+': ['b', 'c'] });
  assert.deepEqual(appended.tags, ['a', 'b', 'c']);

  const removed = await records().update(rec.id, { 'tags-': 'a' });
  assert.deepEqual(removed.tags, ['b', 'c']);

  const both = await records().update(rec.id, { 'tags+': 'd', 'tags-': ['b'] });
  assert.deepEqual(both.tags, ['c', 'd']);

  assert.deepEqual((await records().getOne(rec.id)).tags, ['c', 'd']);
});

test('update with n+ increments a number (and n- decrements)', async () => {
  const rec = await records().create({ title: 'counter', n: 10 });

  const up = await records().update(rec.id, { 'n+': 5 });
  assert.equal(up.n, 15);

  const down = await records().update(rec.id, { 'n-': 2.5 });
  assert.equal(down.n, 12.5);

  assert.equal((await records().getOne(rec.id)).n, 12.5);
});

test('update changes only the given fields and bumps "updated"', async () => {
  const rec = await records().create({ title: 'partial', n: 1, color: 'red' });
  await new Promise((r) => setTimeout(r, 5));
  const updated = await records().update(rec.id, { color: 'blue' });

  assert.equal(updated.color, 'blue');
  assert.equal(updated.title, 'partial');
  assert.equal(updated.n, 1);
  assert.equal(updated.created, rec.created);
  assert.match(updated.updated, DATETIME_RE);
  assert.ok(updated.updated > rec.updated, `${updated.updated} > ${rec.updated}`);
});

// ------------------------------------------------------------------ lists ---

test('getList returns the paging envelope, honouring perPage and sort', async () => {
  const list = admin.collection(listCol.name);

  const page1 = await list.getList(1, 2, { sort: '-rank' });
  assert.deepEqual(Object.keys(page1).sort(), [
    'items',
    'page',
    'perPage',
    'totalItems',
    'totalPages',
  ]);
  assert.equal(page1.page, 1);
  assert.equal(page1.perPage, 2);
  assert.equal(page1.totalItems, 5);
  assert.equal(page1.totalPages, 3);
  assert.deepEqual(
    page1.items.map((r) => r.rank),
    [5, 4],
  );

  const page3 = await list.getList(3, 2, { sort: '-rank' });
  assert.equal(page3.page, 3);
  assert.deepEqual(
    page3.items.map((r) => r.rank),
    [1],
  );

  const beyond = await list.getList(9, 2, { sort: '-rank' });
  assert.equal(beyond.page, 9);
  assert.equal(beyond.totalItems, 5);
  assert.deepEqual(beyond.items, []);
});

test('getList with a filter counts only the matching records', async () => {
  const list = admin.collection(listCol.name);
  const res = await list.getList(1, 10, {
    filter: admin.filter('rank >= {:min}', { min: 3 }),
    sort: 'rank',
  });
  assert.equal(res.totalItems, 3);
  assert.equal(res.totalPages, 1);
  assert.deepEqual(
    res.items.map((r) => r.label),
    ['item3', 'item4', 'item5'],
  );
});

test('getList with skipTotal: true reports totalItems and totalPages as -1', async () => {
  const list = admin.collection(listCol.name);
  const res = await list.getList(2, 2, { sort: 'rank', skipTotal: true });
  assert.equal(res.page, 2);
  assert.equal(res.perPage, 2);
  assert.equal(res.totalItems, -1);
  assert.equal(res.totalPages, -1);
  assert.deepEqual(
    res.items.map((r) => r.rank),
    [3, 4],
  );
});

test('getFullList returns every record, across several batches', async () => {
  const list = admin.collection(listCol.name);
  const all = await list.getFullList({ sort: 'rank', batch: 2 });
  assert.equal(all.length, 5);
  assert.deepEqual(
    all.map((r) => r.rank),
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(
    (await list.getFullList({ sort: '-label' })).map((r) => r.label),
    ['item5', 'item4', 'item3', 'item2', 'item1'],
  );
});

test('getFirstListItem finds a match, and with none throws 404', async () => {
  const list = admin.collection(listCol.name);
  const found = await list.getFirstListItem('rank = 4');
  assert.equal(found.label, 'item4');

  await expectError(list.getFirstListItem('rank = 999'), 404, {});
});

// ---------------------------------------------------------------- delete ---

test('delete, then getOne -> 404', async () => {
  const rec = await records().create({ title: 'to delete' });
  assert.equal(await records().delete(rec.id), true);
  await expectError(records().getOne(rec.id), 404, {});
  await expectError(records().delete(rec.id), 404, {});
});

test('getOne of an unknown id -> 404', async () => {
  await expectError(records().getOne('zzzzzzzzzzzzzzz'), 404, {});
});

// ------------------------------------------------------------ validation ---

test('a missing required text -> 400 validation_required', async () => {
  await expectError(records().create({ n: 1 }), 400, { title: 'validation_required' });
  await expectError(records().create({ title: '' }), 400, { title: 'validation_required' });
});

test('a text over its max -> 400 validation_max_text_constraint', async () => {
  const err = await expectError(records().create({ title: 'x'.repeat(21) }), 400, {
    title: 'validation_max_text_constraint',
  });
  assert.deepEqual(err.response.data.title.params, { max: 20 });
});

test('an invalid email -> 400 validation_is_email', async () => {
  await expectError(records().create({ title: 'e', mail: 'not-an-email' }), 400, {
    mail: 'validation_is_email',
  });
});

test('an invalid url -> 400 validation_invalid_url', async () => {
  await expectError(records().create({ title: 'u', site: 'not a url' }), 400, {
    site: 'validation_invalid_url',
  });
});

test('a number below its min -> 400 validation_min_number_constraint', async () => {
  const err = await expectError(records().create({ title: 'n', n: -1 }), 400, {
    n: 'validation_min_number_constraint',
  });
  assert.deepEqual(err.response.data.n.params, { min: 0 });
});

test('a select value not in the list -> 400 validation_invalid_value', async () => {
  await expectError(records().create({ title: 's', color: 'purple' }), 400, {
    color: 'validation_invalid_value',
  });
  await expectError(records().create({ title: 's', tags: ['a', 'zz'] }), 400, {
    tags: 'validation_invalid_value',
  });
});

test('a relation to a missing id -> 400 validation_missing_rel_records', async () => {
  await expectError(records().create({ title: 'r', owner: 'aaaaaaaaaaaaaaa' }), 400, {
    owner: 'validation_missing_rel_records',
  });
  await expectError(
    records().create({ title: 'r', members: [alice.id, 'aaaaaaaaaaaaaaa'] }),
    400,
    { members: 'validation_missing_rel_records' },
  );
});

test('several invalid fields are all reported at once', async () => {
  await expectError(
    records().create({ title: 'x'.repeat(21), mail: 'nope', n: -1, color: 'purple' }),
    400,
    {
      title: 'validation_max_text_constraint',
      mail: 'validation_is_email',
      n: 'validation_min_number_constraint',
      color: 'validation_invalid_value',
    },
  );
});

test('an invalid update is rejected and leaves the record unchanged', async () => {
  const rec = await records().create({ title: 'stable', mail: 'ok@example.com' });
  await expectError(records().update(rec.id, { mail: 'bad', title: 'changed' }), 400, {
    mail: 'validation_is_email',
  });
  assert.deepEqual(await records().getOne(rec.id), rec);
});

// -------------------------------------------------------------------- ids ---

test('a client-supplied valid 15-char id is kept', async () => {
  const id = `own${randomBytes(6).toString('hex')}`; // 3 + 12 = 15 chars of [a-z0-9]
  assert.match(id, RECORD_ID_RE);
  const created = await records().create({ id, title: 'own id' });
  assert.equal(created.id, id);
  assert.equal((await records().getOne(id)).title, 'own id');
});

test('a duplicate id -> 400 validation_not_unique', async () => {
  const first = await records().create({ title: 'first' });
  await expectError(records().create({ id: first.id, title: 'second' }), 400, {
    id: 'validation_not_unique',
  });
  assert.equal((await records().getOne(first.id)).title, 'first');
});

test('an id of the wrong length or charset -> 400', async () => {
  await expectError(records().create({ id: 'short', title: 'x' }), 400, {
    id: 'validation_min_text_constraint',
  });
  await expectError(records().create({ id: 'ABCDEFGHIJKLMNO', title: 'x' }), 400, {
    id: 'validation_invalid_format',
  });
});

// ------------------------------------------------------------------ guests ---

test('a guest cannot read records of a superuser-only collection (403)', async () => {
  const guest = newClient();
  await expectError(guest.collection(col.name).getList(), 403, {});
});
