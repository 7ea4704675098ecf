// The import plan, run in Node on the dashboard's own module: matching by
// id then name, field renames kept apart from removals, rules, indexes,
// options, deletions only when asked, and files that are not collections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importPlan, readImport, same } from '../../assets/admin/js/collection_diff.js';

const posts = {
  id: 'p1', name: 'posts', type: 'base', system: false, listRule: null, viewRule: '', indexes: [],
  fields: [{ id: 'f1', name: 'id', type: 'text', system: true }, { id: 'f2', name: 'title', type: 'text', max: 0 },
    { id: 'f3', name: 'body', type: 'editor' }],
};
const tags = { id: 't1', name: 'tags', type: 'base', system: false, fields: [{ id: 'g1', name: 'id', type: 'text' }] };
const sys = { id: 's1', name: '_superusers', type: 'auth', system: true, fields: [] };

test('same: JSON equality whatever the key order', () => {
  assert.ok(same({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
  assert.ok(!same({ a: 1 }, { a: 1, b: null }));
  assert.ok(!same([1, 2], [2, 1]));
});

test('a changed collection: rename of a field (data kept), a removal, an option, a rule, an index', () => {
  const next = {
    ...posts, name: 'articles', listRule: 'title != ""', indexes: ['CREATE INDEX idx ON articles (title)'],
    fields: [posts.fields[0], { ...posts.fields[1], name: 'headline', max: 120 }, { name: 'summary', type: 'text' }],
  };
  const plan = importPlan([posts, tags, sys], [next], false);
  assert.deepEqual(plan.added, []);
  assert.deepEqual(plan.deleted, []);
  assert.equal(plan.changed.length, 1);
  assert.deepEqual(plan.changed[0][1], [
    'renamed from posts to articles',
    'field title renamed to headline (its data is kept)',
    'field headline: max changed',
    'field summary (text) added',
    'field body removed, with its data',
    'listRule: locked → “title != ""”',
    'index added: CREATE INDEX idx ON articles (title)',
  ]);
});

test('matched by name when the file has no ids; unchanged when equal; new ones added', () => {
  const { id, ...byName } = tags;
  const plan = importPlan([posts, tags], [byName, { name: 'notes', type: 'base', fields: [] }], false);
  assert.deepEqual(plan.unchanged.map((c) => c.name), ['tags']);
  assert.deepEqual(plan.added.map((c) => c.name), ['notes']);
});

test('deleting what the file does not list: only when asked, never system collections', () => {
  assert.deepEqual(importPlan([posts, tags, sys], [tags], false).deleted, []);
  assert.deepEqual(importPlan([posts, tags, sys], [tags], true).deleted.map((c) => c.name), ['posts']);
});

test('a file that is not a list of collections says why', () => {
  assert.match(readImport('{nope').message, /Not valid JSON/);
  assert.match(readImport('{"a": 1}').message, /list of collections/);
  assert.match(readImport('[{"fields": []}]').message, /Item 1/);
  assert.deepEqual(readImport('[{"name": "x"}]'), [{ name: 'x' }]);
});
