// Removes from pocketbase-typegen's output (from PocketBase) the three
// collections Cairn keeps as internal tables instead of system collections:
// _authOrigins, _mfas, _otps (a documented difference, README "Differences
// from PocketBase"). Each must be there, in exactly the five places typegen
// writes a collection (the Collections entry, the Record type, the Response
// type, the CollectionRecords and CollectionResponses entries); otherwise this
// exits 1, so the exception cannot outlive the difference or hide anything
// else.
//
//   node strip_internal.mjs IN OUT
import { readFileSync, writeFileSync } from "node:fs";

const [input, output] = process.argv.slice(2);
const internal = { Authorigins: "_authOrigins", Mfas: "_mfas", Otps: "_otps" };
const removed = Object.fromEntries(Object.keys(internal).map((k) => [k, 0]));

const lines = readFileSync(input, "utf8").split("\n");
const out = [];
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  let dropped = false;
  for (const [type, name] of Object.entries(internal)) {
    if (line === `export type ${type}Record = {`) {
      // The record type, up to its closing brace, and the blank line after.
      while (i < lines.length && lines[i] !== "}") i++;
      if (lines[i + 1] === "") i++;
      dropped = true;
    } else if (
      line === `\t${type}: "${name}",` ||
      line.startsWith(`export type ${type}Response<`) ||
      line === `\t${name}: ${type}Record` ||
      line === `\t${name}: ${type}Response`
    ) {
      dropped = true;
    }
    if (dropped) {
      removed[type]++;
      break;
    }
  }
  if (!dropped) out.push(line);
}

const wrong = Object.entries(removed).filter(([, n]) => n !== 5);
if (wrong.length > 0) {
  console.error(
    `strip_internal: expected each internal collection in 5 places, found ${JSON.stringify(removed)}`,
  );
  process.exit(1);
}
writeFileSync(output, out.join("\n"));
