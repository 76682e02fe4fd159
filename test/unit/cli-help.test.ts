// `ambit ... --help` for every command in the CLI's own table (a new command is covered by
// being added there): the compiled binary prints that command's usage to stdout, nothing to
// stderr, exit 0, and -h prints the same. Bad flags: one line, the usage, exit 2. No root, no cluster.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMANDS, subcommandsOf } from '../../src/cli/command-table.js';

const BIN = fileURLToPath(new URL('../../src/bin/ambit.js', import.meta.url));
const PKG = fileURLToPath(new URL('../../../package.json', import.meta.url));

interface Run {
  code: number;
  out: string;
  err: string;
}

function ambit(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // A cluster name that cannot exist, so nothing here could reach a real cluster.
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, AMBIT_CLUSTER: `help-test-${process.pid}` } }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err });
    });
  });
}

/** Runs fn over items, at most `width` at a time (each run is a node process on a shared machine). */
async function pool<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

test('every command and subcommand: --help and -h print its usage to stdout and exit 0', async () => {
  assert.ok(COMMANDS.length >= 30, `the table has only ${COMMANDS.length} commands`);
  const runs = await pool(COMMANDS, 3, async (c) => {
    const words = c.spec.name.split(' ');
    return { c, long: await ambit([...words, '--help']), short: await ambit([...words, '-h']) };
  });
  for (const { c, long, short } of runs) {
    const what = `ambit ${c.spec.name} --help`;
    assert.equal(long.code, 0, `${what}: exit ${long.code}\n${long.err}`);
    assert.equal(long.err, '', `${what} wrote to stderr`);
    assert.match(long.out, new RegExp(`^usage: ambit ${c.spec.name}( |$)`, 'm'), `${what}:\n${long.out}`);
    assert.ok(long.out.includes(c.spec.summary), `${what} lacks the summary`);
    for (const flag of Object.keys(c.spec.flags ?? {})) assert.ok(long.out.includes(`--${flag}`), `${what} lacks --${flag}`);
    for (const sub of subcommandsOf(c)) assert.ok(long.out.includes(`ambit ${sub.spec.name} `), `${what} lacks ${sub.spec.name}`);
    assert.deepEqual(short, long, `ambit ${c.spec.name} -h differs from --help`);
  }
});

test('ambit --help, -h and help list every command; help COMMAND equals COMMAND --help', async () => {
  const [long, short, help, bare, sub, viaHelp] = await pool([['--help'], ['-h'], ['help'], [], ['cluster', 'up', '--help'], ['help', 'cluster', 'up']], 3, ambit);
  assert.equal(long!.code, 0);
  assert.equal(long!.err, '');
  assert.deepEqual(short, long);
  assert.deepEqual(help, long);
  // No command at all: the overview, but exit 2 (nothing was done).
  assert.equal(bare!.code, 2);
  assert.equal(bare!.out, long!.out);
  for (const c of COMMANDS.filter((x) => x.run)) assert.match(long!.out, new RegExp(`^  ambit ${c.spec.name}( |$)`, 'm'), `ambit --help does not list ${c.spec.name}`);
  assert.deepEqual(viaHelp, sub);
});

test('bad flags and unknown commands: one line saying what to fix, then the usage, exit 2', async () => {
  // One command per module (each run loads its module: all of them would take minutes here);
  // bench hands its flags to the harness: below.
  const names = ['cluster up', 'apply', 'get', 'exec', 'analyze', 'app load', 'demo', 'tunnel restart', 'tunnel-config workloads', 'ca issue', 'node-tunnel', 'version'];
  const sample = names.map((n) => COMMANDS.find((c) => c.spec.name === n && c.run) ?? assert.fail(`no command '${n}' in the table`));
  const runs = await pool(sample, 3, async (c) => ({ c, r: await ambit([...c.spec.name.split(' '), '--no-such-flag']) }));
  for (const { c, r } of runs) {
    const what = `ambit ${c.spec.name} --no-such-flag`;
    assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.err}`);
    assert.equal(r.out, '', `${what} wrote to stdout`);
    const [first, blank, usage] = r.err.split('\n');
    assert.match(first!, /^error: /, what);
    assert.equal(blank, '', `${what}: more than one line before the usage:\n${r.err}`);
    assert.match(usage!, new RegExp(`^usage: ambit ${c.spec.name}( |$)`), `${what}:\n${r.err}`);
  }
  const [bench, unknown, group, badSub] = await pool([['bench', '--no-such-flag'], ['no-such-command'], ['cluster'], ['ca', 'nope']], 2, ambit);
  assert.equal(bench!.code, 2);
  assert.match(bench!.err, /^ambit bench: Unknown option '--no-such-flag'\nusage: ambit bench \[--quick\]/);
  assert.equal(unknown!.code, 2);
  assert.match(unknown!.err, /^error: unknown command 'no-such-command'\n\nambit: /);
  assert.equal(group!.code, 2);
  assert.match(group!.err, /^error: name a cluster subcommand: up, down, status, restart\n\nusage: ambit cluster /);
  assert.equal(badSub!.code, 2);
  assert.match(badSub!.err, /^error: unknown ca subcommand 'nope'; use one of: init, status, issue, revoke, rotate-root\n/);
});

test('--help after -- belongs to the command exec runs, not to ambit', async () => {
  const r = await ambit(['exec', 'some-pod', '--', 'ls', '--help']);
  assert.notEqual(r.code, 0);
  assert.equal(r.out, '');
  assert.match(r.err, /not running/); // it went on to look for the pod's cluster
});

test('ambit --version and ambit version print the package version', async () => {
  const { version } = JSON.parse(fs.readFileSync(PKG, 'utf8')) as { version: string };
  for (const args of [['--version'], ['version']]) {
    const r = await ambit(args);
    assert.deepEqual(r, { code: 0, out: `ambit ${version}\n`, err: '' }, args.join(' '));
  }
});
