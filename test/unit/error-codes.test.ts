// The stable error codes (docs/errors.md) stay one list: every AMBIT_E_* code in src/ is
// documented, every documented code is used somewhere, and the registry matches the docs.
// Codes are read from the source tree, so a table kept elsewhere (the data plane's) is covered.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERRORS } from '../../src/lib/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REGISTRY = path.join('src', 'lib', 'errors.ts');
const CODE = /\bAMBIT_E_[A-Z0-9_]*[A-Z0-9]\b/g; // a trailing `_` is a template prefix, not a code

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const rel = path.join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(rel);
    return /\.(ts|mts)$/.test(d.name) ? [rel] : [];
  });
}

/** code → files using it, the registry file left out (listing a code there does not use it). */
function codesInSource(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of sourceFiles('src')) {
    if (file === REGISTRY) continue;
    for (const m of fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(CODE)) used.set(m[0], [...(used.get(m[0]) ?? []), file]);
  }
  return used;
}

function codesInDocs(): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  return [...text.matchAll(/^\| `(AMBIT_E_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

test('every AMBIT_E code used in src/ is in docs/errors.md, and every documented code is used', () => {
  const used = codesInSource();
  const docs = codesInDocs();
  assert.ok(docs.length > 20, `docs/errors.md table parsed to only ${docs.length} codes`);
  assert.deepEqual(docs.filter((c, i) => docs.indexOf(c) !== i), [], 'a code is listed twice in docs/errors.md');
  const undocumented = [...used.keys()].filter((c) => !docs.includes(c)).map((c) => `${c} (${used.get(c)!.join(', ')})`);
  assert.deepEqual(undocumented, [], 'codes used in src/ but missing from docs/errors.md');
  assert.deepEqual(docs.filter((c) => !used.has(c)), [], 'codes in docs/errors.md that nothing in src/ uses');
});

test('the registry (src/lib/errors.ts) and docs/errors.md list the same codes, each with a meaning and a fix', () => {
  const docs = codesInDocs();
  const registry = Object.keys(ERRORS);
  assert.deepEqual(registry.filter((c) => !docs.includes(c)), [], 'registry codes missing from docs/errors.md');
  // Documented codes not in this registry must come from another table in src/ (the data plane's).
  const elsewhere = docs.filter((c) => !registry.includes(c));
  const used = codesInSource();
  assert.deepEqual(elsewhere.filter((c) => !used.has(c)), []);
  for (const [code, info] of Object.entries(ERRORS)) {
    assert.match(code, /^AMBIT_E_[A-Z]+(_[A-Z]+)*$/, code);
    assert.ok(info.meaning.length > 10 && info.fix.length > 10, `${code}: say what it means and what to do`);
  }
});
