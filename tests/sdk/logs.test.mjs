// The request log and the scheduled jobs, through `pb.logs.*` and
// `pb.crons.*` as an admin dashboard or script uses them. Both servers write
// logs in batches, so a request's entry is waited for, not expected at once.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DATETIME_RE,
  RECORD_ID_RE,
  adminClient,
  createUser,
  expectError,
  newClient,
  uniqueName,
  userClient,
} from './helpers.mjs';

let admin;
let user;

before(async () => {
  admin = await adminClient();
  const { email, password } = await createUser(admin);
  user = await userClient(email, password);
});

/** Polls `pb.logs.getList` with `filter` until it lists something (≤ 15 s). */
async function waitForEntries(filter) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const page = await admin.logs.getList(1, 10, { filter });
    if (page.items.length > 0 || Date.now() > deadline) return page;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('guests get 401 and non-superusers 403 from logs and crons', async () => {
  const guest = newClient();
  for (const [pb, status] of [[guest, 401], [user, 403]]) {
    await expectError(pb.logs.getList(1, 10), status);
    await expectError(pb.logs.getOne('abcdefghijklmno'), status);
    await expectError(pb.logs.getStats(), status);
    await expectError(pb.crons.getFullList(), status);
    await expectError(pb.crons.run('anything'), status);
    await expectError(pb.logs.truncate(), status);
  }
  // Control: the superuser gets through.
  assert.ok(Array.isArray((await admin.logs.getList(1, 1)).items));
  assert.ok(Array.isArray(await admin.crons.getFullList()));
});

test('a filter on an unknown field is a 400', async () => {
  await expectError(admin.logs.getList(1, 10, { filter: 'nope = 1' }), 400);
  await expectError(admin.logs.getList(1, 10, { filter: '(((' }), 400);
  await expectError(admin.logs.getStats({ filter: 'nope = 1' }), 400);
  // Control: the log's own columns and data paths filter fine.
  const page = await admin.logs.getList(1, 10, { filter: 'level >= 0 && data.status > 0' });
  assert.ok(Array.isArray(page.items));
});

test('a request shows up in the log, one entry and in the stats', async () => {
  const marker = uniqueName('mark');
  await admin.send('/api/collections/users/records', { query: { perPage: 1, marker } });
  // Exact: the log's own list requests name the marker in their filter.
  const url = `/api/collections/users/records?perPage=1&marker=${marker}`;
  const page = await waitForEntries(`data.url = '${url}'`);
  assert.equal(page.items.length, 1, JSON.stringify(page));
  assert.equal(page.totalItems, 1);
  const entry = page.items[0];
  assert.match(entry.id, RECORD_ID_RE);
  assert.match(entry.created, DATETIME_RE);
  assert.equal(entry.level, 0);
  assert.equal(entry.message, `GET /api/collections/users/records?perPage=1&marker=${marker}`);
  assert.equal(entry.data.method, 'GET');
  assert.equal(entry.data.status, 200);
  assert.equal(entry.data.url, `/api/collections/users/records?perPage=1&marker=${marker}`);
  assert.equal(entry.data.auth, '_superusers');
  assert.equal(typeof entry.data.execTime, 'number');
  assert.equal(entry.data.remoteIP, '127.0.0.1');

  assert.deepEqual(await admin.logs.getOne(entry.id), entry);
  await expectError(admin.logs.getOne('missingmissing0'), 404);

  const stats = await admin.logs.getStats({ filter: `data.url = '${url}'` });
  assert.equal(stats.length, 1, JSON.stringify(stats));
  assert.equal(stats[0].total, 1);
  assert.match(stats[0].date, /^\d{4}-\d{2}-\d{2} \d{2}:00:00\.000Z$/);
});

test('an error answer is logged at the error level', async () => {
  const marker = uniqueName('miss');
  await expectError(admin.send(`/api/collections/${marker}/records`, {}), 404);
  const page = await waitForEntries(`data.url = '/api/collections/${marker}/records'`);
  assert.equal(page.items.length, 1, JSON.stringify(page));
  assert.equal(page.items[0].level, 8);
  assert.equal(page.items[0].data.status, 404);
});

test('the scheduled jobs are listed and one can be run now', async () => {
  const jobs = await admin.crons.getFullList();
  assert.ok(jobs.length > 0);
  for (const job of jobs) {
    assert.deepEqual(Object.keys(job).sort(), ['expression', 'id']);
    assert.equal(typeof job.expression, 'string');
    assert.ok(job.expression.length > 0);
  }
  // Each server names its own jobs; both have one for log retention.
  const cleanup = jobs.find((j) => /LogsCleanup/.test(j.id));
  assert.ok(cleanup, JSON.stringify(jobs));
  assert.equal(await admin.crons.run(cleanup.id), true);
  await expectError(admin.crons.run('no_such_job'), 404);
});

test('truncate empties the log', async () => {
  const marker = uniqueName('gone');
  await admin.send('/api/health', { query: { marker } });
  const page = await waitForEntries(`data.url = '/api/health?marker=${marker}'`);
  assert.equal(page.items.length, 1, JSON.stringify(page));
  assert.equal(await admin.logs.truncate(), true);
  await expectError(admin.logs.getOne(page.items[0].id), 404);
});
