// What a failed `ambit` command prints: `error [AMBIT_E_…]: message` and a hint, no stack for
// an expected failure, a stack (and the word bug) only for an unexpected one; exit codes as
// before (1 for failures, 2 for usage and config). Real binary, no root, no cluster.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeError, formatError } from '../../src/cli/error-output.js';
import { AmbitError } from '../../src/lib/errors.js';
import { ClusterError } from '../../src/local/cluster/lifecycle.js';

const BIN = fileURLToPath(new URL('../../src/bin/ambit.js', import.meta.url));
const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-cli-errors-'));
after(() => fs.rmSync(STATE, { recursive: true, force: true }));

interface Run {
  code: number;
  err: string;
}

function ambit(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    // An empty state directory: no cluster can exist there.
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, AMBIT_STATE_DIR: STATE, ...env } }, (e, _out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, err });
    });
  });
}

const STACK_LINE = /^\s+at /m;

test('a daemon started for a cluster that is not up: the code, the message, a hint, no stack, exit 1', async () => {
  const r = await ambit(['node-tunnel', '--cluster', 'x', '--node', 'node1']);
  assert.equal(r.code, 1, r.err);
  const [first, hint, ...rest] = r.err.split('\n');
  assert.equal(first, `error [AMBIT_E_CLUSTER_NOT_RUNNING]: no cluster state in ${path.join(STATE, 'x', 'cluster.json')}`);
  assert.match(hint!, /^ {2}hint: start the cluster with: ambit cluster up --name x/);
  assert.deepEqual(rest, [''], r.err);
  assert.doesNotMatch(r.err, STACK_LINE);
});

test('a bad config value: AMBIT_E_CONFIG_INVALID and the help, exit 2; an unknown flag stays a plain usage error', async () => {
  const [bad, unknown] = await Promise.all([ambit(['node-tunnel', '--cluster', 'x', '--node', 'node1'], { AMBIT_LOG_LEVEL: 'loud' }), ambit(['node-tunnel', '--nope'])]);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /^error \[AMBIT_E_CONFIG_INVALID\]: AMBIT_LOG_LEVEL="loud": want debug, info, warn or error\n\nusage: ambit node-tunnel /);
  assert.equal(unknown.code, 2, unknown.err);
  assert.match(unknown.err, /^error: Unknown option '--nope'\n\nusage: ambit node-tunnel /);
});

test('other commands: manifest, cluster and CA errors carry their codes, without a stack', async () => {
  const runs = await Promise.all([
    ambit(['apply', '-f', path.join(STATE, 'missing.yaml')]),
    ambit(['--cluster', 'nope', 'get', 'pods']),
    ambit(['--cluster', 'nope', 'ca', 'status']),
  ]);
  const expected = [
    /^error \[AMBIT_E_MANIFEST_NOT_FOUND\]: .*missing\.yaml: no such file or directory\n {2}hint: /,
    /^error \[AMBIT_E_CLUSTER_NOT_RUNNING\]: cluster 'nope' is not running .*Start it with: ambit cluster up --name nope\n {2}hint: /,
    /^error \[AMBIT_E_CA_MISSING\]: cluster 'nope' has no CA yet .*\n {2}hint: /,
  ];
  runs.forEach((r, i) => {
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, expected[i]!);
    assert.doesNotMatch(r.err, STACK_LINE);
  });
});

test('formatError: an explicit hint wins over the table; system errors are not bugs; anything else is a bug with its stack', () => {
  assert.equal(formatError(new AmbitError('AMBIT_E_PORT_IN_USE', 'port 1 is taken', { hint: 'use --api-port 2' })), 'error [AMBIT_E_PORT_IN_USE]: port 1 is taken\n  hint: use --api-port 2\n');
  assert.match(formatError(new ClusterError('no free port', 'AMBIT_E_PORT_IN_USE')), /^error \[AMBIT_E_PORT_IN_USE\]: no free port\n {2}hint: stop what holds it/);
  let enoent: unknown;
  try {
    fs.readFileSync(path.join(STATE, 'no-such-file'));
  } catch (e) {
    enoent = e;
  }
  const sys = describeError(enoent);
  assert.equal(sys.code, 'AMBIT_E_SYSTEM');
  assert.equal(sys.stack, undefined);
  const bug = formatError(new TypeError('x is undefined'));
  assert.match(bug, /^error \[AMBIT_E_BUG\]: x is undefined\n {2}hint: this is a bug in ambit/);
  assert.match(bug, STACK_LINE);
});
