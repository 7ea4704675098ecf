// Backups through the SDK's `backups` service, as an admin tool uses it:
// list, create (and its name rules), download with a superuser file token,
// upload, delete; guests and users refused. Restore is only tried on a
// missing key: PocketBase restarts its process on a real one.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DATETIME_RE,
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

async function keys() {
  return (await admin.backups.getFullList()).map((b) => b.key);
}

test('guests and users may not list or make backups', async () => {
  await expectError(newClient().backups.getFullList(), 401);
  await expectError(user.backups.getFullList(), 403);
  await expectError(user.backups.create(`${uniqueName('sdk')}.zip`), 403);
  assert.ok(Array.isArray(await admin.backups.getFullList()), 'a superuser may');
});

test('a backup is made, listed, downloaded, uploaded back and deleted', async () => {
  const name = `${uniqueName('sdk')}.zip`;
  assert.equal(await admin.backups.create(name), true);
  const listed = (await admin.backups.getFullList()).find((b) => b.key === name);
  assert.ok(listed, `${name} is listed`);
  assert.ok(listed.size > 0, 'it has a size');
  assert.match(listed.modified, DATETIME_RE);
  assert.deepEqual(Object.keys(listed).sort(), ['key', 'modified', 'size']);

  // The download needs a superuser's file token.
  const url = admin.backups.getDownloadURL(await admin.files.getToken(), name);
  const resp = await fetch(url);
  assert.equal(resp.status, 200);
  assert.equal(resp.headers.get('content-type'), 'application/zip');
  const bytes = Buffer.from(await resp.arrayBuffer());
  assert.equal(bytes.length, listed.size);
  assert.equal(bytes.subarray(0, 2).toString(), 'PK');
  const noToken = await fetch(admin.backups.getDownloadURL('', name));
  assert.equal(noToken.status, 403);
  const userToken = await user.files.getToken();
  assert.equal((await fetch(admin.backups.getDownloadURL(userToken, name))).status, 403);

  // Uploaded back, it becomes a backup named after the file.
  const copy = `${uniqueName('sdk_up')}.zip`;
  assert.equal(await admin.backups.upload({ file: new File([bytes], copy) }), true);
  const uploaded = (await admin.backups.getFullList()).find((b) => b.key === copy);
  assert.equal(uploaded?.size, bytes.length);
  await expectError(admin.backups.upload({ file: new File([bytes], copy) }), 400, {
    file: 'validation_backup_name_exists',
  });

  assert.equal(await admin.backups.delete(name), true);
  assert.equal(await admin.backups.delete(copy), true);
  const left = await keys();
  assert.ok(!left.includes(name) && !left.includes(copy), 'both are gone');
  await expectError(admin.backups.delete(name), 400);
});

test('bad names, a duplicate, a non-zip upload and a missing backup are 400s', async () => {
  await expectError(admin.backups.create('Bad Name.zip'), 400, { name: 'validation_match_invalid' });
  await expectError(admin.backups.create('no_extension'), 400, { name: 'validation_match_invalid' });
  await expectError(admin.backups.create(`${'a'.repeat(147)}.zip`), 400, {
    name: 'validation_length_out_of_range',
  });
  const name = `${uniqueName('sdk')}.zip`;
  assert.equal(await admin.backups.create(name), true);
  await expectError(admin.backups.create(name), 400, { name: 'validation_backup_name_exists' });

  const text = new File([Buffer.from('not a zip archive at all')], `${uniqueName('sdk')}.zip`);
  await expectError(admin.backups.upload({ file: text }), 400, { file: 'validation_invalid_mime_type' });
  assert.ok(!(await keys()).includes(text.name), 'the refused upload is not kept');

  await expectError(admin.backups.restore(`${uniqueName('missing')}.zip`), 400);
  assert.equal(await admin.backups.delete(name), true);
});
