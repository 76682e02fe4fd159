// The object store and its write-ahead log: resourceVersion bookkeeping, optimistic
// concurrency, restart, torn tails vs. real corruption, compaction, watch resume and 410
// Expired, and a real crash (SIGKILL of a writing child process) followed by a load.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ApiError } from '../../src/local/apiserver/errors.js';
import { Store, type StoreEvent } from '../../src/local/apiserver/store.js';
import { CorruptStoreError, Wal } from '../../src/local/apiserver/wal.js';
import type { KubeObject } from '../../src/model/core/types.js';

const PODS = 'core/pods';
const dirs: string[] = [];
const open: Store[] = [];

after(() => {
  for (const s of open) s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-store-test-'));
  dirs.push(d);
  return d;
}

/** Opens a WAL-backed store and remembers it so `after` closes it even if a test fails. */
function openStore(dir: string, compactEvery?: number): Store {
  const s = new Store(compactEvery === undefined ? new Wal(dir) : new Wal(dir, compactEvery));
  open.push(s);
  return s;
}

function closeStore(s: Store): void {
  s.close();
  open.splice(open.indexOf(s), 1);
}

function pod(name: string, ns = 'demo', extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', command: ['sleep', '1'] }] }, ...extra };
}

const logPath = (dir: string): string => path.join(dir, 'store.log');
const snapPath = (dir: string): string => path.join(dir, 'store.snapshot.json');
const logLines = (dir: string): string[] => fs.readFileSync(logPath(dir), 'utf8').split('\n').filter(Boolean);

function collect(store: Store, fromRV: number | undefined, namespace?: string): { events: StoreEvent[]; stop: () => void } {
  const events: StoreEvent[] = [];
  const stop = store.watch({ kindKey: PODS, ...(namespace !== undefined ? { namespace } : {}), send: (ev) => events.push(ev) }, fromRV);
  return { events, stop };
}

describe('Store: resourceVersion and optimistic concurrency', () => {
  it('create, update and delete each bump the global resourceVersion by one', () => {
    const s = new Store();
    assert.equal(s.resourceVersion, 0);
    const a = s.create(PODS, pod('a'));
    assert.equal(a.metadata.resourceVersion, '1');
    assert.equal(s.resourceVersion, 1);
    const b = s.create(PODS, pod('b'));
    assert.equal(b.metadata.resourceVersion, '2');
    const a2 = s.update(PODS, { ...a, metadata: { ...a.metadata, labels: { x: 'y' } } }, a.metadata.resourceVersion);
    assert.equal(a2.metadata.resourceVersion, '3');
    assert.equal(a2.metadata.uid, a.metadata.uid, 'update keeps the uid');
    assert.equal(a2.metadata.creationTimestamp, a.metadata.creationTimestamp, 'update keeps creationTimestamp');
    const gone = s.delete(PODS, 'demo', 'b');
    assert.equal(gone.metadata.resourceVersion, '4', 'the DELETED object carries the delete rv');
    assert.equal(s.resourceVersion, 4);
    assert.equal(s.get(PODS, 'demo', 'b'), undefined);
    assert.deepEqual(s.list(PODS).map((o) => o.metadata.name), ['a']);
  });

  it('create stamps uid, creationTimestamp and generation 1', () => {
    const s = new Store();
    const a = s.create(PODS, pod('a'));
    assert.match(a.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(a.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(a.metadata.generation, 1);
  });

  it('generation bumps only when the spec changes', () => {
    const s = new Store();
    const a = s.create(PODS, pod('a'));
    const labelled = s.update(PODS, { ...a, metadata: { ...a.metadata, labels: { x: 'y' } } });
    assert.equal(labelled.metadata.generation, 1);
    const respec = s.update(PODS, { ...labelled, spec: { containers: [{ name: 'c', command: ['sleep', '2'] }] } });
    assert.equal(respec.metadata.generation, 2);
  });

  it('a stale resourceVersion is a 409 Conflict and changes nothing', () => {
    const s = new Store();
    const a = s.create(PODS, pod('a'));
    s.update(PODS, { ...a, metadata: { ...a.metadata, labels: { v: '2' } } }, a.metadata.resourceVersion);
    const rvBefore = s.resourceVersion;
    assert.throws(
      () => s.update(PODS, { ...a, metadata: { ...a.metadata, labels: { v: 'stale' } } }, a.metadata.resourceVersion),
      (e: unknown) => e instanceof ApiError && e.reason === 'Conflict' && e.code === 409 && /the object has been modified/.test(e.message),
    );
    assert.equal(s.resourceVersion, rvBefore);
    assert.deepEqual(s.get(PODS, 'demo', 'a')?.metadata.labels, { v: '2' });
  });

  it('creating an existing name is 409 AlreadyExists; updating or deleting a missing one is 404 NotFound', () => {
    const s = new Store();
    s.create(PODS, pod('a'));
    assert.throws(() => s.create(PODS, pod('a')), (e: unknown) => e instanceof ApiError && e.reason === 'AlreadyExists' && e.code === 409);
    assert.throws(() => s.update(PODS, pod('nope')), (e: unknown) => e instanceof ApiError && e.reason === 'NotFound' && e.code === 404);
    assert.throws(() => s.delete(PODS, 'demo', 'nope'), (e: unknown) => e instanceof ApiError && e.reason === 'NotFound');
    // The same name in another namespace is a different object.
    assert.doesNotThrow(() => s.create(PODS, pod('a', 'other')));
    assert.equal(s.resourceVersion, 2);
  });

  it('list filters by namespace and is sorted by namespace/name', () => {
    const s = new Store();
    for (const [n, ns] of [['c', 'b-ns'], ['b', 'a-ns'], ['a', 'b-ns']] as const) s.create(PODS, pod(n, ns));
    s.create('core/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'a-ns' } });
    assert.deepEqual(s.list(PODS).map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['a-ns/b', 'b-ns/a', 'b-ns/c']);
    assert.deepEqual(s.list(PODS, 'b-ns').map((o) => o.metadata.name), ['a', 'c']);
    assert.deepEqual(s.list(PODS, 'b').map((o) => o.metadata.name), [], 'a namespace prefix does not match a longer namespace');
  });
});

describe('Wal: restart, torn tails and corruption', () => {
  it('a restart on the same directory keeps every object and the resourceVersion', () => {
    const dir = tmpDir();
    const s1 = openStore(dir);
    for (let i = 0; i < 20; i++) s1.create(PODS, pod(`p${i}`, i % 2 ? 'odd' : 'even'));
    const p3 = s1.get(PODS, 'odd', 'p3')!;
    s1.update(PODS, { ...p3, metadata: { ...p3.metadata, labels: { touched: 'yes' } } });
    s1.delete(PODS, 'even', 'p4');
    const before = s1.list(PODS);
    const rv = s1.resourceVersion;
    closeStore(s1);

    const s2 = openStore(dir);
    assert.equal(s2.resourceVersion, rv);
    assert.equal(rv, 22);
    assert.deepEqual(s2.list(PODS), before, 'objects survive byte for byte (uid, rv, labels)');
    assert.equal(s2.get(PODS, 'even', 'p4'), undefined, 'a delete survives the restart');
    assert.equal(s2.truncatedBytes, 0);
    // The counter continues; it never reuses a resourceVersion.
    assert.equal(s2.create(PODS, pod('new')).metadata.resourceVersion, String(rv + 1));
  });

  it('a torn final record (half a line) is dropped on load and the rest survives', () => {
    const dir = tmpDir();
    const s1 = openStore(dir);
    for (let i = 0; i < 5; i++) s1.create(PODS, pod(`p${i}`));
    closeStore(s1);
    const goodSize = fs.statSync(logPath(dir)).size;
    // Half of a real record, as a crash in the middle of write() would leave it.
    const whole = fs.readFileSync(logPath(dir), 'utf8').split('\n')[0]!;
    fs.appendFileSync(logPath(dir), whole.slice(0, Math.floor(whole.length / 2)));

    const s2 = openStore(dir);
    assert.ok(s2.truncatedBytes > 0, 'truncatedBytes reports the torn tail');
    assert.equal(s2.truncatedBytes, Math.floor(whole.length / 2));
    assert.equal(s2.resourceVersion, 5);
    assert.equal(s2.list(PODS).length, 5);
    assert.equal(fs.statSync(logPath(dir)).size, goodSize, 'the log is truncated back to the last good record');
    // New writes land after the good records and survive another restart.
    s2.create(PODS, pod('after-crash'));
    closeStore(s2);
    const s3 = openStore(dir);
    assert.equal(s3.truncatedBytes, 0);
    assert.equal(s3.resourceVersion, 6);
    assert.ok(s3.get(PODS, 'demo', 'after-crash'));
  });

  it('a garbage final line (with its newline) is dropped as a torn tail', () => {
    const dir = tmpDir();
    const s1 = openStore(dir);
    for (let i = 0; i < 3; i++) s1.create(PODS, pod(`p${i}`));
    closeStore(s1);
    fs.appendFileSync(logPath(dir), 'deadbeef {"rv":4,"op":"put"\n');
    const s2 = openStore(dir);
    assert.equal(s2.truncatedBytes, 'deadbeef {"rv":4,"op":"put"\n'.length);
    assert.equal(s2.resourceVersion, 3);
    assert.equal(logLines(dir).length, 3);
  });

  it('a damaged record in the middle followed by more data makes load throw CorruptStoreError and leaves the log untouched', () => {
    const dir = tmpDir();
    const s1 = openStore(dir);
    for (let i = 0; i < 3; i++) s1.create(PODS, pod(`p${i}`));
    closeStore(s1);
    const lines = logLines(dir);
    const offset = lines[0]!.length + 1;
    // Flip one character inside the second record's JSON so its CRC no longer matches.
    lines[1] = lines[1]!.replace('"p1"', '"pX"');
    const damaged = `${lines.join('\n')}\n`;
    fs.writeFileSync(logPath(dir), damaged);

    assert.throws(
      () => new Store(new Wal(dir)),
      (e: unknown) => e instanceof CorruptStoreError && e.code === 'AMBIT_E_STORE_CORRUPT' && e.message.includes(`damaged record at byte ${offset}`) && e.message.includes('refusing to guess'),
    );
    assert.equal(fs.readFileSync(logPath(dir), 'utf8'), damaged, 'no data is thrown away when the damage is not at the tail');
  });

  it('an unreadable snapshot makes load throw CorruptStoreError', () => {
    const dir = tmpDir();
    fs.writeFileSync(snapPath(dir), '{"rv": 3, "objects": [');
    assert.throws(() => new Store(new Wal(dir)), (e: unknown) => e instanceof CorruptStoreError && /snapshot .* is unreadable/.test(e.message));
  });

  it('compaction writes a snapshot, empties the log, and a restart still has everything', () => {
    const dir = tmpDir();
    const s1 = openStore(dir, 10);
    for (let i = 0; i < 9; i++) s1.create(PODS, pod(`p${i}`));
    assert.equal(fs.existsSync(snapPath(dir)), false, 'no snapshot before compactEvery records');
    assert.equal(logLines(dir).length, 9);
    s1.create(PODS, pod('p9'));
    assert.equal(fs.existsSync(snapPath(dir)), true, 'the 10th record triggers a snapshot');
    assert.equal(fs.statSync(logPath(dir)).size, 0, 'the log starts over after the snapshot');
    assert.equal(fs.existsSync(`${snapPath(dir)}.tmp`), false, 'the temp snapshot was renamed into place');
    const snap = JSON.parse(fs.readFileSync(snapPath(dir), 'utf8')) as { rv: number; objects: unknown[] };
    assert.equal(snap.rv, 10);
    assert.equal(snap.objects.length, 10);
    // More writes after the snapshot go to the log: updates and a delete.
    const p0 = s1.get(PODS, 'demo', 'p0')!;
    s1.update(PODS, { ...p0, metadata: { ...p0.metadata, labels: { after: 'snapshot' } } });
    s1.delete(PODS, 'demo', 'p1');
    s1.create(PODS, pod('p10'));
    assert.equal(logLines(dir).length, 3);
    const before = s1.list(PODS);
    closeStore(s1);

    const s2 = openStore(dir, 10);
    assert.equal(s2.resourceVersion, 13);
    assert.deepEqual(s2.list(PODS), before);
    assert.deepEqual(s2.get(PODS, 'demo', 'p0')?.metadata.labels, { after: 'snapshot' });
  });

  it('log records already covered by the snapshot are skipped (crash between the snapshot rename and the log truncate)', () => {
    const dir = tmpDir();
    const s1 = openStore(dir, 5);
    for (let i = 0; i < 4; i++) s1.create(PODS, pod(`p${i}`));
    const oldLog = fs.readFileSync(logPath(dir));
    const p0 = s1.get(PODS, 'demo', 'p0')!;
    s1.update(PODS, { ...p0, metadata: { ...p0.metadata, labels: { v: 'final' } } }); // rv 5: compaction
    s1.delete(PODS, 'demo', 'p3'); // rv 6 in the fresh log
    const before = s1.list(PODS);
    closeStore(s1);
    // Put back the pre-compaction records (rv 1-4) ahead of the live one, as if ftruncate never ran.
    fs.writeFileSync(logPath(dir), Buffer.concat([oldLog, fs.readFileSync(logPath(dir))]));
    const s2 = openStore(dir, 5);
    assert.equal(s2.resourceVersion, 6);
    assert.deepEqual(s2.list(PODS), before, 'old records neither resurrect p3 nor undo the label');
  });
});

describe('Wal: renamed resources', () => {
  it('objects stored under the old Gateway plural (gatewaies) load under gateways, from snapshot and log alike', () => {
    const OLD = 'gateway.networking.k8s.io/gatewaies';
    const NEW = 'gateway.networking.k8s.io/gateways';
    const gw = (name: string): KubeObject => ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name, namespace: 'demo' }, spec: {} });
    const dir = tmpDir();
    const s1 = openStore(dir, 3);
    for (const n of ['a', 'b', 'c']) s1.create(OLD, gw(n)); // the third write compacts: a, b, c in the snapshot
    s1.create(OLD, gw('d'));
    s1.delete(OLD, 'demo', 'a'); // d and the delete of a stay in the log
    closeStore(s1);

    const s2 = openStore(dir, 100);
    assert.deepEqual(s2.list(OLD), []);
    assert.deepEqual(s2.list(NEW).map((o) => o.metadata.name), ['b', 'c', 'd']);
    s2.delete(NEW, 'demo', 'b'); // a new-key record over an old-key snapshot entry
    closeStore(s2);
    const s3 = openStore(dir, 100);
    assert.deepEqual(s3.list(NEW).map((o) => o.metadata.name), ['c', 'd']);
  });
});

describe('Store: watch', () => {
  it('a watch from an old resourceVersion replays the later history in order, then live events', () => {
    const s = new Store();
    const a = s.create(PODS, pod('a')); // 1
    s.create(PODS, pod('b')); // 2
    s.update(PODS, { ...a, metadata: { ...a.metadata, labels: { x: '1' } } }); // 3
    s.delete(PODS, 'demo', 'b'); // 4
    const w = collect(s, 2);
    assert.deepEqual(w.events.map((e) => [e.rv, e.type, e.obj.metadata.name]), [[3, 'MODIFIED', 'a'], [4, 'DELETED', 'b']]);
    assert.equal(w.events[0]!.prev?.metadata.resourceVersion, '1', 'MODIFIED carries the previous object');
    s.create(PODS, pod('c')); // 5
    assert.deepEqual(w.events.map((e) => e.rv), [3, 4, 5]);
    w.stop();
    s.create(PODS, pod('d'));
    assert.equal(w.events.length, 3, 'a stopped watcher gets nothing more');
  });

  it('a watch without a resourceVersion (or from 0) replays nothing and sees only new events', () => {
    const s = new Store();
    s.create(PODS, pod('a'));
    const w0 = collect(s, 0);
    const wu = collect(s, undefined);
    assert.equal(w0.events.length + wu.events.length, 0);
    s.create(PODS, pod('b'));
    assert.deepEqual(w0.events.map((e) => e.type), ['ADDED']);
    assert.deepEqual(wu.events.map((e) => e.type), ['ADDED']);
  });

  it('a namespaced watch sees only its namespace and only its kind', () => {
    const s = new Store();
    const w = collect(s, undefined, 'one');
    s.create(PODS, pod('a', 'one'));
    s.create(PODS, pod('a', 'two'));
    s.create('core/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'one' } });
    assert.deepEqual(w.events.map((e) => `${e.namespace}/${e.obj.metadata.name}`), ['one/a']);
  });

  it('a watch from an rv older than the retained history is a 410 Expired', () => {
    const s = new Store();
    const HISTORY = 20_000;
    for (let i = 0; i < HISTORY + 10; i++) s.create(PODS, pod(`p${i}`));
    // The oldest 10 events fell out of the history; resuming from rv 10 still works, from 9 does not.
    assert.throws(
      () => s.watch({ kindKey: PODS, send: () => undefined }, 9),
      (e: unknown) => e instanceof ApiError && e.reason === 'Expired' && e.code === 410 && /too old resource version: 9/.test(e.message),
    );
    const w = collect(s, 10);
    assert.equal(w.events.length, HISTORY);
    assert.equal(w.events[0]!.rv, 11);
    w.stop();
  });

  it('after a restart the log tail is resumable but history before the snapshot is 410 Expired', () => {
    const dir = tmpDir();
    const s1 = openStore(dir, 5);
    for (let i = 0; i < 12; i++) s1.create(PODS, pod(`p${i}`)); // snapshots at rv 5 and 10; log holds 11, 12
    closeStore(s1);
    const s2 = openStore(dir, 5);
    assert.throws(() => s2.watch({ kindKey: PODS, send: () => undefined }, 9), (e: unknown) => e instanceof ApiError && e.reason === 'Expired');
    const w = collect(s2, 10);
    assert.deepEqual(w.events.map((e) => [e.rv, e.obj.metadata.name]), [[11, 'p10'], [12, 'p11']]);
    assert.deepEqual(collect(s2, 12).events, [], 'resuming from the current rv replays nothing');
  });
});

// The child writes pods p0, p1, ... (each with a payload derived from its name) through a
// WAL-backed Store and prints each acknowledged rv, until the parent SIGKILLs it.
const CHILD = `
import { Store } from ${JSON.stringify(new URL('../../src/local/apiserver/store.js', import.meta.url).href)};
import { Wal } from ${JSON.stringify(new URL('../../src/local/apiserver/wal.js', import.meta.url).href)};
const [dir, compactEvery] = process.argv.slice(-2);
const s = new Store(new Wal(dir, Number(compactEvery)));
for (let i = 0; ; i++) {
  const name = 'p' + i;
  s.create('core/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'crash' }, spec: { payload: name.repeat(400) } });
  process.stdout.write(s.resourceVersion + '\\n');
}
`;

/** Runs the writer child until it has acknowledged at least `minAcked` writes, then SIGKILLs it. */
function crashWriter(dir: string, compactEvery: number, minAcked: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, '--', dir, String(compactEvery)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = 0;
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer child did not reach ${minAcked} writes in 15s (acked ${acked}); stderr: ${err}`));
    }, 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const l of lines) acked = Number(l);
      if (acked >= minAcked && !child.killed) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer child exited on its own (code ${code}): ${err}`));
      else resolve(acked);
    });
  });
}

function assertConsistent(s: Store, acked: number): void {
  const rv = s.resourceVersion;
  assert.ok(rv >= acked, `every acknowledged write survives (rv ${rv}, acknowledged ${acked})`);
  const pods = s.list(PODS, 'crash');
  assert.equal(pods.length, rv, 'one object per record: nothing lost, nothing doubled');
  for (let i = 0; i < rv; i++) {
    const p = s.get(PODS, 'crash', `p${i}`);
    assert.ok(p, `p${i} is present`);
    assert.equal(p.metadata.resourceVersion, String(i + 1));
    assert.deepEqual(p.spec, { payload: `p${i}`.repeat(400) }, `p${i} is fully present`);
  }
}

describe('Wal: crash safety with a real SIGKILL', () => {
  it('a writer killed mid-way leaves a consistent store: rv equals the number of log records and every object is whole', async () => {
    const dir = tmpDir();
    const acked = await crashWriter(dir, 1_000_000, 300);
    const s = openStore(dir);
    assertConsistent(s, acked);
    assert.equal(logLines(dir).length, s.resourceVersion, 'rv equals the number of records in the log');
    // The store keeps working after the crash.
    s.create(PODS, pod('after', 'crash'));
    closeStore(s);
    const again = openStore(dir);
    assert.equal(again.truncatedBytes, 0);
    assert.ok(again.get(PODS, 'crash', 'after'));
  });

  it('a writer killed while it compacts every 25 records still leaves a consistent store', async () => {
    const dir = tmpDir();
    const acked = await crashWriter(dir, 25, 300);
    const s = openStore(dir, 25);
    assertConsistent(s, acked);
    assert.equal(fs.existsSync(snapPath(dir)), true);
  });
});

describe('Store: it never lies about a write', () => {
  const fds = (): number => fs.readdirSync('/proc/self/fd').length;

  it('a failing compaction leaves the committed write answered as committed, closes what it opened, logs once and backs off', () => {
    const dir = tmpDir();
    const logs: string[] = [];
    let failures = 0;
    const s = new Store(new Wal(dir, 3), { log: (m) => logs.push(m), onCompactionError: () => failures++ });
    open.push(s);
    // A directory where the snapshot's temporary file goes: every compaction fails (EISDIR).
    fs.mkdirSync(`${snapPath(dir)}.tmp`);
    const before = fds();
    for (let i = 0; i < 30; i++) s.create(PODS, pod(`p${i}`));
    assert.equal(s.resourceVersion, 30, 'every write was answered as committed');
    assert.equal(fds(), before, 'no file descriptor leaked');
    assert.equal(logs.filter((l) => l.includes('compaction failed')).length, 1, `logged once: ${logs.join(' | ')}`);
    assert.ok(failures >= 1 && failures < 30, `retried with back-off, not on every write (${failures} attempts)`);
    assert.equal(s.compactionFailures, failures);
    fs.rmdirSync(`${snapPath(dir)}.tmp`);
    for (let i = 30; i < 36; i++) s.create(PODS, pod(`p${i}`));
    assert.ok(logs.some((l) => l.includes('compaction works again')), logs.join(' | '));
    assert.ok(fs.existsSync(snapPath(dir)));
    closeStore(s);
    const r = openStore(dir);
    assert.equal(r.list(PODS).length, 36);
    assert.equal(r.resourceVersion, 36);
  });

  it('objects nested too deep (422) or too large (413) are refused before anything is stored', () => {
    const dir = tmpDir();
    const s = openStore(dir, 2);
    s.create(PODS, pod('ok'));
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 5000; i++) deep = { d: deep };
    assert.throws(() => s.create(PODS, pod('deep', 'demo', { status: deep })), (e: unknown) => e instanceof ApiError && e.code === 422 && /nested more than 100 levels/.test(e.message));
    const cur = s.get(PODS, 'demo', 'ok')!;
    assert.throws(() => s.update(PODS, { ...cur, status: deep }), (e: unknown) => e instanceof ApiError && e.code === 422);
    const big = { ...cur, metadata: { ...cur.metadata, annotations: { a: 'x'.repeat(2 * 1024 * 1024) } } };
    assert.throws(() => s.update(PODS, big), (e: unknown) => e instanceof ApiError && e.code === 413 && /limit is 1572864/.test(e.message));
    assert.equal(s.resourceVersion, 1, 'nothing was committed');
    // Compaction still works (it would have overflowed the stack on the deep object).
    s.create(PODS, pod('ok2'));
    assert.ok(fs.existsSync(snapPath(dir)));
    closeStore(s);
    assert.equal(openStore(dir).list(PODS).length, 2);
  });

  it('a full disk is a clear error and loses nothing that was acknowledged (restart and read back)', (t) => {
    if (process.getuid?.() !== 0) return t.skip('mounting a small tmpfs needs root');
    const dir = tmpDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'pipe' });
    } catch (e) {
      return t.skip(`cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]})`);
    }
    try {
      const s = openStore(dir);
      const acked: string[] = [];
      let err: unknown;
      for (let i = 0; i < 200 && !err; i++) {
        try {
          s.create(PODS, pod(`p${i}`, 'demo', { metadata: { name: `p${i}`, namespace: 'demo', annotations: { pad: 'x'.repeat(4000) } } }));
          acked.push(`p${i}`);
        } catch (e) {
          err = e;
        }
      }
      assert.ok(err instanceof ApiError, `the disk filled up (${acked.length} writes fit)`);
      assert.equal(err.code, 500);
      assert.match(err.message, /^no space left on device: .*free space/);
      assert.equal(s.list(PODS).length, acked.length, 'the refused write is not visible');
      // A small write may still fit after a large one did not; if so it must land behind whole records.
      try {
        s.create(PODS, pod('small'));
        acked.push('small');
      } catch (e) {
        assert.match((e as Error).message, /^no space left on device/);
      }
      closeStore(s);
      const r = openStore(dir);
      assert.equal(r.truncatedBytes, 0, 'no torn record was left behind');
      assert.deepEqual(r.list(PODS).map((o) => o.metadata.name).sort(), [...acked].sort());
      closeStore(r);
    } finally {
      for (const st of open.splice(0)) st.close();
      execFileSync('umount', [dir]);
    }
  });
});
