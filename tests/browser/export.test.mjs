// The CSV export, run in Node on the dashboard's own module: quoting, and
// no cell a spreadsheet would run as a formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toCsv } from '../../assets/admin/js/export.js';

const collection = {
  name: 'notes',
  fields: [
    { name: 'id', type: 'text', system: true }, { name: 'password', type: 'password' },
    { name: 'title', type: 'text' }, { name: 'tags', type: 'json' },
  ],
};

test('CSV: a header from the fields (never passwords), quotes doubled, objects as JSON', () => {
  const csv = toCsv(collection, [{ id: 'a1', password: 'x', title: 'say "hi", then\nleave', tags: ['a', 'b'] }]);
  assert.equal(csv, 'id,title,tags\r\na1,"say ""hi"", then\nleave","[""a"",""b""]"\r\n');
});

test('CSV: a value that starts like a formula is defused with a quote', () => {
  for (const evil of ['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)']) {
    const [, line] = toCsv(collection, [{ id: 'a1', title: evil }]).split('\r\n');
    const cell = line.split(/,(.*)/s)[1].split(',')[0];
    assert.ok(cell.replace(/^"/, '').startsWith("'"), `${evil} -> ${cell}`);
  }
  const [, plain] = toCsv(collection, [{ id: 'a1', title: 'fine' }]).split('\r\n');
  assert.equal(plain, 'a1,fine,');
});
