// Manifests that would cost the reader (alias bombs), cannot be text (invalid UTF-8) or could
// never be applied (over the API server's 3 MiB) are refused naming the file, document and reason.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { readManifests } from '../../src/cli/manifest.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-manifest-limits-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: string | Buffer): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
}

const refusal = (f: string): string => {
  try {
    readManifests([f]);
  } catch (e) {
    return (e as Error).message;
  }
  return assert.fail(`${f} was accepted`);
};

describe('manifest limits', () => {
  it('a YAML alias bomb is refused with file, document index and reason', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (const [p, n] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f']]) levels.push(`${n}: &${n} [${Array(10).fill(`*${p}`).join(',')}]`);
    const f = write('bomb.yaml', `apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\n${levels.join('\n')}\n`);
    assert.match(refusal(f), new RegExp(`^${f}: document 1: YAML: Excessive alias count.*at most 100 alias`));
  });

  it('invalid UTF-8 is refused naming the file', () => {
    const f = write('bad.yaml', Buffer.from('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "\xff\xfe"\n', 'latin1'));
    assert.equal(refusal(f), `${f}: not valid UTF-8 text`);
  });

  it('a document larger than the API server accepts is refused before it is converted', () => {
    const f = write('big.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  x: "${'y'.repeat(3 * 1024 * 1024)}"\n`);
    assert.match(refusal(f), new RegExp(`^${f}: document 0: \\d+ bytes, larger than the API server's 3145728-byte limit`));
  });
});
