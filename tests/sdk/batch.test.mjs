// Transactional batches through `pb.createBatch()`: create, update, upsert and
// delete in one transaction, files included; one failing request rolls every
// other one back and the error names it.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TARGET, adminClient, expectError, newClient, uniqueName } from './helpers.mjs';

let admin;
let col;

before(async () => {
  admin = await adminClient();
  // PocketBase ships with batch requests switched off; Cairn has them on by
  // default (settings.batch.enabled), which these tests also prove.
  if (TARGET === 'pocketbase') {
    await admin.settings.update({ batch: { enabled: true, maxRequests: 50, timeout: 3, maxBodySize: 0 } });
  }
  col = await admin.collections.create({
    name: uniqueName('batch'),
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '',
    updateRule: '',
    deleteRule: '',
    fields: [
      { name: 'title', type: 'text', required: true },
      { name: 'doc', type: 'file', maxSelect: 1 },
    ],
  });
});

test('createBatch: create, update, upsert and delete in one go', async () => {
  const pb = newClient();
  const existing = await admin.collection(col.name).create({ title: 'old' });
  const doomed = await admin.collection(col.name).create({ title: 'doomed' });

  const batch = pb.createBatch();
  batch.collection(col.name).create({ title: 'new', doc: new File(['attached'], 'note.txt') });
  batch.collection(col.name).update(existing.id, { title: 'patched' }, { fields: 'id,title' });
  batch.collection(col.name).upsert({ id: 'batchupsert0001', title: 'upserted' });
  batch.collection(col.name).upsert({ id: existing.id, title: 'upserted again' });
  batch.collection(col.name).delete(doomed.id);
  const results = await batch.send();

  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 204]);
  assert.equal(results[0].body.title, 'new');
  // PocketBase suffixes a batch upload's name twice (note_x_y.txt), Cairn once.
  assert.match(results[0].body.doc, /^note_[a-z0-9]{10}(_[a-z0-9]{10})?\.txt$/);
  assert.deepEqual(results[1].body, { id: existing.id, title: 'patched' });
  assert.equal(results[2].body.id, 'batchupsert0001');
  assert.equal(results[3].body.title, 'upserted again');
  assert.equal(results[4].body, null);

  const file = await fetch(admin.files.getURL(results[0].body, results[0].body.doc));
  assert.equal(await file.text(), 'attached');
  await expectError(admin.collection(col.name).getOne(doomed.id), 404);
  assert.equal((await admin.collection(col.name).getOne(existing.id)).title, 'upserted again');
});

test('createBatch: one failure rolls back every request and names it', async () => {
  const before = await admin.collection(col.name).getList(1, 1);
  const kept = await admin.collection(col.name).create({ title: 'kept' });

  const batch = newClient().createBatch();
  batch.collection(col.name).create({ title: 'never', doc: new File(['x'], 'x.txt') });
  batch.collection(col.name).update(kept.id, { title: 'never either' });
  batch.collection(col.name).create({ title: '' });
  const err = await expectError(batch.send(), 400);

  assert.equal(err.response.message, 'Batch transaction failed.');
  const failed = err.response.data.requests['2'];
  assert.equal(failed.code, 'batch_request_failed');
  assert.equal(failed.response.status, 400);
  assert.equal(failed.response.data.title.code, 'validation_required');
  assert.deepEqual(Object.keys(err.response.data.requests), ['2']);

  const after = await admin.collection(col.name).getList(1, 1);
  assert.equal(after.totalItems, before.totalItems + 1, 'only the record made outside the batch exists');
  assert.equal((await admin.collection(col.name).getOne(kept.id)).title, 'kept');
});

test('createBatch: each request keeps its own rules', async () => {
  const locked = await admin.collections.create({
    name: uniqueName('batch_locked'),
    type: 'base',
    fields: [{ name: 'title', type: 'text' }],
  });
  const batch = newClient().createBatch();
  batch.collection(col.name).create({ title: 'allowed' });
  batch.collection(locked.name).create({ title: 'not for guests' });
  const err = await expectError(batch.send(), 400);
  assert.equal(err.response.data.requests['1'].response.status, 403);
  assert.equal((await admin.collection(locked.name).getList(1, 1)).totalItems, 0);
});
