// Files through the SDK: upload (FormData and plain objects holding Files),
// download through `pb.files.getURL`, thumbnails, protected files with
// `pb.files.getToken()`, and the `+`/`-` modifiers that replace and remove
// files (and the files leaving the server with them).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import {
  adminClient,
  createUser,
  expectError,
  newClient,
  uniqueName,
  userClient,
} from './helpers.mjs';

let admin;
let col; // public files, plus a protected field readable by signed-in users

/** A solid-colour RGB PNG of the given size, built by hand (no deps). */
function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x80)]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes) {
  const b = Buffer.from(bytes);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

before(async () => {
  admin = await adminClient();
  col = await admin.collections.create({
    name: uniqueName('files'),
    type: 'base',
    listRule: '',
    viewRule: '@request.auth.id != ""',
    createRule: '',
    updateRule: '',
    deleteRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'cover', type: 'file', maxSelect: 1, maxSize: 1024 * 1024, thumbs: ['20x0'] },
      { name: 'docs', type: 'file', maxSelect: 3, maxSize: 1024 * 1024, mimeTypes: ['text/plain', 'image/png'] },
      { name: 'private', type: 'file', maxSelect: 1, protected: true },
    ],
  });
});

test('upload, then download through the URL the SDK builds', async () => {
  const rec = await admin.collection(col.name).create({
    title: 'up',
    cover: new File([png(40, 20)], 'My Cover.PNG', { type: 'image/png' }),
    docs: [new File(['one'], 'a.txt'), new File(['two'], 'b.txt')],
  });
  assert.match(rec.cover, /^my_cover_[a-z0-9]{10}\.PNG$/);
  assert.equal(rec.docs.length, 2);
  // Names shorter than three characters get a random part, then the suffix.
  assert.match(rec.docs[0], /^a[a-z0-9]{10}_[a-z0-9]{10}\.txt$/);

  const res = await fetch(admin.files.getURL(rec, rec.cover));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.match(res.headers.get('content-disposition'), /^inline/);
  assert.deepEqual(pngSize(await res.arrayBuffer()), [40, 20]);

  const dl = await fetch(admin.files.getURL(rec, rec.docs[1], { download: true }));
  assert.match(dl.headers.get('content-disposition'), /^attachment/);
  assert.equal(await dl.text(), 'two');
});

test('thumbnails: the default 100x100, a declared size, and the original otherwise', async () => {
  const rec = await admin.collection(col.name).create({
    cover: new File([png(40, 20)], 'pic.png', { type: 'image/png' }),
  });
  const size = async (thumb) => {
    const res = await fetch(admin.files.getURL(rec, rec.cover, { thumb }));
    assert.equal(res.status, 200);
    return pngSize(await res.arrayBuffer());
  };
  assert.deepEqual(await size('100x100'), [100, 100]);
  assert.deepEqual(await size('20x0'), [20, 10]);
  assert.deepEqual(await size('30x30'), [40, 20]);
});

test('a file whose type the field does not allow, or too many files, are refused', async () => {
  await expectError(
    admin.collection(col.name).create({ docs: [new File(['<html><script>x</script></html>'], 'x.txt', { type: 'text/plain' })] }),
    400,
    { docs: 'validation_invalid_mime_type' },
  );
  const four = ['1', '2', '3', '4'].map((n) => new File([n], `${n}.txt`));
  await expectError(admin.collection(col.name).create({ docs: four }), 400, { docs: 'validation_too_many_files' });
});

test('protected files need a file token from pb.files.getToken()', async () => {
  const rec = await admin.collection(col.name).create({
    private: new File(['for members'], 'members.txt'),
  });
  const { email, password } = await createUser(admin);
  const member = await userClient(email, password);
  const seen = await member.collection(col.name).getOne(rec.id);

  const bare = await fetch(member.files.getURL(seen, seen.private));
  assert.equal(bare.status, 404);
  await bare.body?.cancel();

  const token = await member.files.getToken();
  assert.equal(typeof token, 'string');
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  assert.equal(claims.type, 'file');
  assert.equal(claims.id, member.authStore.record.id);

  const res = await fetch(member.files.getURL(seen, seen.private, { token }));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'for members');

  // A guest has no token to get.
  await expectError(newClient().files.getToken(), 401);
});

test('replacing and removing files updates the record and removes the old files', async () => {
  const rec = await admin.collection(col.name).create({
    cover: new File([png(2, 2)], 'first.png'),
    docs: [new File(['a'], 'a.txt'), new File(['b'], 'b.txt')],
  });
  const oldCover = admin.files.getURL(rec, rec.cover);
  const oldDoc = admin.files.getURL(rec, rec.docs[0]);

  const replaced = await admin.collection(col.name).update(rec.id, {
    cover: new File([png(3, 3)], 'second.png'),
    'docs-': [rec.docs[0]],
    'docs+': new File(['c'], 'c.txt'),
  });
  assert.match(replaced.cover, /^second_/);
  assert.deepEqual(replaced.docs.slice(0, 1), [rec.docs[1]]);
  assert.match(replaced.docs[1], /^c[a-z0-9]{10}_[a-z0-9]{10}\.txt$/);
  for (const url of [oldCover, oldDoc]) {
    const res = await fetch(url);
    assert.equal(res.status, 404, url);
    await res.body?.cancel();
  }

  const kept = admin.files.getURL(replaced, replaced.docs[0]);
  await admin.collection(col.name).delete(rec.id);
  const gone = await fetch(kept);
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
});
