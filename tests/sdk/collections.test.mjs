// Collections, managed through `pb.collections.*` the way an app (or an admin
// script) does it with the official JS SDK.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DATETIME_RE,
  adminClient,
  createUser,
  expectError,
  newClient,
  uniqueName,
  userClient, pendingOnCairn } from './helpers.mjs';

let admin;
let users; // the built-in `users` auth collection

before(async () => {
  admin = await adminClient();
  users = await admin.collections.getOne('users');
});

// One field of every type PocketBase has.
function everyFieldType() {
  return [
    { name: 'title', type: 'text', required: true, max: 100 },
    { name: 'count', type: 'number', min: 0, onlyInt: true },
    { name: 'active', type: 'bool' },
    { name: 'contact', type: 'email' },
    { name: 'homepage', type: 'url' },
    { name: 'body', type: 'editor' },
    { name: 'due', type: 'date' },
    { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
    { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    { name: 'status', type: 'select', values: ['draft', 'published'], maxSelect: 1 },
    { name: 'labels', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
    { name: 'meta', type: 'json' },
    { name: 'owner', type: 'relation', collectionId: users.id, maxSelect: 1 },
    { name: 'editors', type: 'relation', collectionId: users.id, maxSelect: 10 },
    { name: 'attachment', type: 'file', maxSelect: 1, maxSize: 1024 * 1024 },
    { name: 'secret', type: 'password' },
    { name: 'location', type: 'geoPoint' },
  ];
}

function fieldByName(collection, name) {
  const field = collection.fields.find((f) => f.name === name);
  assert.ok(field, `collection ${collection.name} should have a field "${name}"`);
  return field;
}

async function createSmallCollection(prefix, extra = {}) {
  return admin.collections.create({
    name: uniqueName(prefix),
    type: 'base',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'score', type: 'number' },
      { name: 'note', type: 'text' },
    ],
    ...extra,
  });
}

// ---------------------------------------------------------------- access ---

test('a guest cannot list collections (401)', async () => {
  const guest = newClient();
  await expectError(guest.collections.getList(), 401, {});
});

test('a signed-in regular user cannot list collections (403)', async () => {
  const { email, password } = await createUser(admin);
  const user = await userClient(email, password);
  assert.ok(user.authStore.isValid);
  assert.equal(user.authStore.isSuperuser, false);
  await expectError(user.collections.getList(), 403, {});
});

// ------------------------------------------------------- create and read ---

test('create a base collection with a field of every type', async () => {
  const name = uniqueName('every_type');
  const col = await admin.collections.create({ name, type: 'base', fields: everyFieldType() });

  assert.equal(col.name, name);
  assert.equal(col.type, 'base');
  assert.equal(typeof col.id, 'string');
  assert.ok(col.id.length > 0);
  assert.equal(col.system, false);
  assert.match(col.created, DATETIME_RE);
  assert.match(col.updated, DATETIME_RE);
  for (const rule of ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule']) {
    assert.equal(col[rule], null, `${rule} defaults to null (superusers only)`);
  }
  assert.deepEqual(col.indexes, []);

  // The system `id` field comes first, then ours, in the order given.
  assert.deepEqual(
    col.fields.map((f) => [f.name, f.type]),
    [['id', 'text'], ...everyFieldType().map((f) => [f.name, f.type])],
  );
  const idField = col.fields[0];
  assert.equal(idField.primaryKey, true);
  assert.equal(idField.system, true);
  assert.equal(idField.required, true);

  // Every field got an id, all distinct.
  for (const f of col.fields) {
    assert.equal(typeof f.id, 'string', `field ${f.name} should have an id`);
    assert.ok(f.id.length > 0, `field ${f.name} should have a non-empty id`);
  }
  assert.equal(new Set(col.fields.map((f) => f.id)).size, col.fields.length);

  // The options we set come back as set.
  assert.equal(fieldByName(col, 'title').required, true);
  assert.equal(fieldByName(col, 'title').max, 100);
  assert.equal(fieldByName(col, 'count').min, 0);
  assert.equal(fieldByName(col, 'count').onlyInt, true);
  assert.deepEqual(fieldByName(col, 'status').values, ['draft', 'published']);
  assert.equal(fieldByName(col, 'status').maxSelect, 1);
  assert.equal(fieldByName(col, 'labels').maxSelect, 3);
  assert.equal(fieldByName(col, 'owner').collectionId, users.id);
  assert.equal(fieldByName(col, 'owner').maxSelect, 1);
  assert.equal(fieldByName(col, 'editors').collectionId, users.id);
  assert.equal(fieldByName(col, 'editors').maxSelect, 10);
  assert.equal(fieldByName(col, 'attachment').maxSize, 1024 * 1024);
  assert.equal(fieldByName(col, 'created').onCreate, true);
  assert.equal(fieldByName(col, 'created').onUpdate, false);
  assert.equal(fieldByName(col, 'updated').onUpdate, true);
  for (const f of col.fields) {
    assert.equal(f.system, f.name === 'id', `only the id field is a system field (${f.name})`);
  }
});

test('getOne by name and by id return the same collection', async () => {
  const created = await admin.collections.create({
    name: uniqueName('get_one'),
    type: 'base',
    fields: everyFieldType(),
  });

  const byName = await admin.collections.getOne(created.name);
  const byId = await admin.collections.getOne(created.id);
  assert.deepEqual(byName, created);
  assert.deepEqual(byId, created);
});

test('getFullList includes the new collection and the built-in ones', async () => {
  const created = await createSmallCollection('full_list');
  const all = await admin.collections.getFullList();
  const names = all.map((c) => c.name);
  assert.ok(names.includes(created.name), `${created.name} in ${names}`);
  assert.ok(names.includes('users'));
  assert.ok(names.includes('_superusers'));
  assert.deepEqual(
    all.find((c) => c.name === created.name),
    created,
  );
});

test('getList with a filter on name finds exactly that collection', async () => {
  const created = await createSmallCollection('filtered');
  await createSmallCollection('filtered_other');

  const list = await admin.collections.getList(1, 10, {
    filter: admin.filter('name = {:name}', { name: created.name }),
  });
  assert.equal(list.page, 1);
  assert.equal(list.perPage, 10);
  assert.equal(list.totalItems, 1);
  assert.equal(list.totalPages, 1);
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0].id, created.id);
  assert.equal(list.items[0].name, created.name);
});

// ---------------------------------------------------------------- update ---

test('renaming a field keeps its id, and records keep their data', async () => {
  const col = await createSmallCollection('rename_field');
  const rec = await admin.collection(col.name).create({ title: 'hello', score: 7 });
  const scoreId = fieldByName(col, 'score').id;

  const updated = await admin.collections.update(col.id, {
    fields: col.fields.map((f) => (f.name === 'score' ? { ...f, name: 'points' } : f)),
  });

  const points = fieldByName(updated, 'points');
  assert.equal(points.id, scoreId);
  assert.equal(points.type, 'number');
  assert.equal(updated.fields.find((f) => f.name === 'score'), undefined);

  const after = await admin.collection(col.name).getOne(rec.id);
  assert.equal(after.points, 7);
  assert.equal(after.title, 'hello');
  assert.equal('score' in after, false, 'the old field name is gone from records');
});

test('adding a field gives it an id and an empty value on existing records', async () => {
  const col = await createSmallCollection('add_field');
  const rec = await admin.collection(col.name).create({ title: 'before' });

  const updated = await admin.collections.update(col.name, {
    fields: [...col.fields, { name: 'flag', type: 'bool' }, { name: 'extra', type: 'text' }],
  });

  const flag = fieldByName(updated, 'flag');
  const extra = fieldByName(updated, 'extra');
  assert.equal(flag.type, 'bool');
  assert.equal(extra.type, 'text');
  assert.ok(flag.id && extra.id && flag.id !== extra.id);
  // The existing fields keep their ids.
  for (const f of col.fields) {
    assert.equal(fieldByName(updated, f.name).id, f.id);
  }

  const after = await admin.collection(col.name).getOne(rec.id);
  assert.equal(after.flag, false);
  assert.equal(after.extra, '');
  assert.equal(after.title, 'before');

  const rec2 = await admin.collection(col.name).create({ title: 'after', flag: true, extra: 'x' });
  assert.equal(rec2.flag, true);
  assert.equal(rec2.extra, 'x');
});

test('removing a field drops it from the schema and from records', async () => {
  const col = await createSmallCollection('remove_field');
  const rec = await admin.collection(col.name).create({ title: 'keep', note: 'drop me' });

  const updated = await admin.collections.update(col.id, {
    fields: col.fields.filter((f) => f.name !== 'note'),
  });
  assert.deepEqual(
    updated.fields.map((f) => f.name),
    ['id', 'title', 'score'],
  );

  const after = await admin.collection(col.name).getOne(rec.id);
  assert.equal('note' in after, false);
  assert.equal(after.title, 'keep');
});

test('changing listRule takes effect for guests', async () => {
  const col = await createSmallCollection('list_rule');
  await admin.collection(col.name).create({ title: 'visible' });
  const guest = newClient();

  // null: superusers only.
  await expectError(guest.collection(col.name).getList(), 403, {});

  const open = await admin.collections.update(col.id, { listRule: '' });
  assert.equal(open.listRule, '');
  assert.equal(open.viewRule, null, 'other rules are untouched');
  const list = await guest.collection(col.name).getList();
  assert.equal(list.totalItems, 1);
  assert.equal(list.items[0].title, 'visible');

  const filtered = await admin.collections.update(col.id, { listRule: 'title = "other"' });
  assert.equal(filtered.listRule, 'title = "other"');
  assert.equal((await guest.collection(col.name).getList()).totalItems, 0);

  const closed = await admin.collections.update(col.id, { listRule: null });
  assert.equal(closed.listRule, null);
  await expectError(guest.collection(col.name).getList(), 403, {});
});

// ------------------------------------------------------------ validation ---

test('an invalid collection name is rejected (400 validation_match_invalid)', async () => {
  await expectError(
    admin.collections.create({ name: 'not a valid-name!', type: 'base' }),
    400,
    { name: 'validation_match_invalid' },
  );
});

test('an empty collection name is rejected (400 validation_required)', async () => {
  await expectError(admin.collections.create({ name: '', type: 'base' }), 400, {
    name: 'validation_required',
  });
});

test('a duplicate collection name is rejected, case-insensitively', async () => {
  const col = await createSmallCollection('dup_name');
  await expectError(admin.collections.create({ name: col.name, type: 'base' }), 400, {
    name: 'validation_collection_name_exists',
  });
  await expectError(
    admin.collections.create({ name: col.name.toUpperCase(), type: 'base' }),
    400,
    { name: 'validation_collection_name_exists' },
  );
  await expectError(admin.collections.create({ name: 'users', type: 'base' }), 400, {
    name: 'validation_collection_name_exists',
  });
});

test('renaming a collection to an existing name is rejected', async () => {
  const col = await createSmallCollection('rename_dup');
  await expectError(admin.collections.update(col.id, { name: 'users' }), 400, {
    name: 'validation_collection_name_exists',
  });
});

// ------------------------------------------------- delete, truncate, import ---

test('delete removes the collection (then getOne -> 404)', async () => {
  const col = await createSmallCollection('to_delete');
  await admin.collection(col.name).create({ title: 'doomed' });

  assert.equal(await admin.collections.delete(col.id), true);
  await expectError(admin.collections.getOne(col.id), 404, {});
  await expectError(admin.collections.getOne(col.name), 404, {});
  await expectError(admin.collection(col.name).getList(), 404, {});
  await expectError(admin.collections.delete(col.id), 404, {});
});

test('truncate deletes every record but keeps the collection', async () => {
  const col = await createSmallCollection('to_truncate');
  for (let i = 0; i < 3; i++) {
    await admin.collection(col.name).create({ title: `r${i}` });
  }
  assert.equal((await admin.collection(col.name).getList()).totalItems, 3);

  assert.equal(await admin.collections.truncate(col.name), true);

  const list = await admin.collection(col.name).getList();
  assert.equal(list.totalItems, 0);
  assert.deepEqual(list.items, []);
  assert.deepEqual(await admin.collections.getOne(col.id), col);
});

test('import([...], false) creates new collections and keeps the others', async () => {
  const existing = await createSmallCollection('import_keep');
  const nameA = uniqueName('imported_a');
  const nameB = uniqueName('imported_b');

  const result = await admin.collections.import(
    [
      { name: nameA, type: 'base', fields: [{ name: 'label', type: 'text' }] },
      {
        name: nameB,
        type: 'base',
        fields: [
          { name: 'amount', type: 'number' },
          { name: 'owner', type: 'relation', collectionId: users.id, maxSelect: 1 },
        ],
      },
    ],
    false,
  );
  assert.equal(result, true);

  const a = await admin.collections.getOne(nameA);
  assert.deepEqual(
    a.fields.map((f) => [f.name, f.type]),
    [
      ['id', 'text'],
      ['label', 'text'],
    ],
  );
  const b = await admin.collections.getOne(nameB);
  assert.deepEqual(
    b.fields.map((f) => [f.name, f.type]),
    [
      ['id', 'text'],
      ['amount', 'number'],
      ['owner', 'relation'],
    ],
  );
  assert.equal(fieldByName(b, 'owner').collectionId, users.id);

  // deleteMissing = false: collections not in the list are left alone.
  assert.deepEqual(await admin.collections.getOne(existing.id), existing);
  await admin.collections.getOne('users');

  // The imported collections are usable right away.
  const rec = await admin.collection(nameA).create({ label: 'imported' });
  assert.equal(rec.label, 'imported');
});

test('import of an invalid collection is rejected and changes nothing', async () => {
  const good = uniqueName('import_good');
  await expectError(
    admin.collections.import(
      [
        { name: good, type: 'base' },
        { name: 'bad name!', type: 'base' },
      ],
      false,
    ),
    400,
    { collections: 'validation_collections_import_failure' },
  );
  await expectError(admin.collections.getOne(good), 404, {});
});

test('getScaffolds gives a new collection of each kind, superusers only', async () => {
  const scaffolds = await admin.collections.getScaffolds();
  assert.deepEqual(Object.keys(scaffolds).sort(), ['auth', 'base', 'view']);
  assert.deepEqual(scaffolds.base.fields.map((f) => f.name), ['id']);
  assert.deepEqual(
    scaffolds.auth.fields.map((f) => f.name).sort(),
    ['email', 'emailVisibility', 'id', 'password', 'tokenKey', 'verified'],
  );
  assert.equal(scaffolds.view.viewQuery, '');
  const { email, password } = await createUser(admin);
  const user = await userClient(email, password);
  await expectError(user.collections.getScaffolds(), 403);
  await expectError(newClient().collections.getScaffolds(), 401);
});
