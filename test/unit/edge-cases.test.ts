// Edge cases found in review: strict selector syntax, JSON patch removal of a missing path,
// kubectl's age format, and watch history replayed after a restart keeping event types.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ApiError } from '../../src/local/apiserver/errors.js';
import { jsonPatch } from '../../src/local/apiserver/patch.js';
import { Store, type StoreEvent } from '../../src/local/apiserver/store.js';
import { Wal } from '../../src/local/apiserver/wal.js';
import { parseSelector, SelectorError } from '../../src/model/core/labels.js';
import { age } from '../../src/model/core/printers.js';
import type { KubeObject } from '../../src/model/core/types.js';

test('a selector with a trailing comma or an empty set is rejected', () => {
  for (const bad of ['a=b,', 'a in ()', 'a notin ( )']) assert.throws(() => parseSelector(bad), SelectorError, bad);
});

test('JSON patch remove of a missing path fails instead of succeeding silently', () => {
  assert.throws(() => jsonPatch({ metadata: { labels: {} } }, [{ op: 'remove', path: '/metadata/labels/x' }]), ApiError);
  assert.throws(() => jsonPatch({ a: [1] }, [{ op: 'remove', path: '/a/3' }]), ApiError);
  assert.deepEqual(jsonPatch({ a: [1, 2] }, [{ op: 'remove', path: '/a/0' }]), { a: [2] });
});

test('age prints whole minutes like kubectl', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  assert.equal(age('2026-01-01T00:08:00Z', now), '2m');
  assert.equal(age('2026-01-01T00:07:30Z', now), '2m30s');
});

test('watch history replayed after a restart keeps ADDED/MODIFIED and enter/leave information', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-replay-'));
  try {
    const pod = (node: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: node } });
    const s1 = new Store(new Wal(dir));
    s1.create('core/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    const start = s1.resourceVersion;
    s1.create('core/pods', pod('node1'));
    s1.update('core/pods', pod('node2'));
    s1.close();
    const s2 = new Store(new Wal(dir));
    const seen: StoreEvent[] = [];
    s2.watch({ kindKey: 'core/pods', send: (e) => seen.push(e) }, start);
    assert.deepEqual(seen.map((e) => e.type), ['ADDED', 'MODIFIED']);
    assert.equal((seen[1]!.prev?.spec as { nodeName: string }).nodeName, 'node1', 'the replayed MODIFIED carries the previous object');
    s2.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
