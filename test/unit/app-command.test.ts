// `app` CLI command in a child process: flag errors exit 2, load exit codes, echo's
// start line and graceful SIGTERM shutdown.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../src/bin/ambit.js', import.meta.url));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function app(args: string[], onStdout?: (text: string, kill: () => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'app', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      onStdout?.(out, () => child.kill('SIGTERM'));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test('unknown flags, missing flags and bad durations exit 2 with a message', async () => {
  const unknown = await app(['load', '--url', 'http://127.0.0.1:1/', '--rate', '1', '--bogus']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /--bogus/);
  const missing = await app(['load', '--rate', '5']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--url is required/);
  const badDur = await app(['load', '--url', 'http://127.0.0.1:1/', '--rate', '5', '--duration', '10x']);
  assert.equal(badDur.code, 2);
  assert.match(badDur.err, /invalid duration '10x'/);
  assert.equal((await app(['nope'])).code, 2);
  assert.equal((await app(['echo', '--tcp-port', 'x'])).code, 2);
});

test('echo logs its ports, serves, and exits 0 on SIGTERM; load exit codes follow errors', async () => {
  let loadRun: Promise<Run> | undefined;
  let refused: Promise<Run> | undefined;
  const echo = await app(['echo', '--http-port', '0', '--tcp-port', '0', '--host', '127.0.0.1'], (out, kill) => {
    const m = /^echo: http :(\d+) \(HTTP\/1\.1 \+ h2c\), tcp :(\d+)$/m.exec(out);
    if (!m || loadRun) return;
    loadRun = app(['load', '--url', `http://127.0.0.1:${m[1]}/`, '--rate', '40', '--duration', '250ms', '--connections', '2', '--json']);
    refused = app(['load', '--url', 'http://127.0.0.1:1/', '--rate', '20', '--duration', '0.2']);
    void Promise.all([loadRun, refused]).then(kill);
  });
  assert.equal(echo.code, 0, echo.err);
  assert.match(echo.out, /SIGTERM, shutting down/);
  const ok = await loadRun;
  assert.equal(ok?.code, 0, ok?.err);
  const [line, ...json] = ok?.out.split('\n') ?? [];
  assert.match(line ?? '', /^load http:\/\/127\.0\.0\.1:\d+\/ 40 rps 250ms: 10 ok, 0 err, p50 /);
  assert.equal((JSON.parse(json.join('\n')) as { ok: number }).ok, 10);
  const bad = await refused;
  assert.equal(bad?.code, 1);
  assert.match(bad?.out ?? '', /0 ok, 4 err/);
});
