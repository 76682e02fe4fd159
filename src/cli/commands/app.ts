// `ambit app echo|load ...`: the sample apps as pod commands (echo server, constant-rate load client).
// Returns an exit code instead of exiting so the CLI entry point stays in charge of the process.
import { parseArgs } from 'node:util';
import { startEcho } from '../../apps/echo.js';
import { formatLoadSummary, runLoad } from '../../apps/load.js';
import { parseDuration } from '../../lib/duration.js';

const USAGE = `usage:
  ambit app echo [--http-port 8080] [--tcp-port 9000] [--host 0.0.0.0] [--name NAME]
  ambit app load --url URL --rate RPS [--duration 10s] [--connections 4] [--payload 0]
                 [--method M] [--timeout 5s] [--http2] [--json]`;

class UsageError extends Error {}

export async function appCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'echo') return await echoCommand(rest, env);
    if (sub === 'load') return await loadCommand(rest);
    if (sub === undefined || sub === '--help' || sub === '-h') {
      process.stdout.write(USAGE + '\n');
      return sub === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown app '${sub}' (expected echo or load)`);
  } catch (err) {
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown/malformed flags.
    const code = (err as { code?: unknown }).code;
    const usage = err instanceof UsageError || err instanceof RangeError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(`app: ${(err as Error).message}\n`);
    if (usage) {
      process.stderr.write(USAGE + '\n');
      return 2;
    }
    return 1;
  }
}

async function echoCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      'http-port': { type: 'string', default: '8080' },
      'tcp-port': { type: 'string', default: '9000' },
      host: { type: 'string', default: '0.0.0.0' },
      name: { type: 'string' },
    },
  });
  const echo = await startEcho({
    httpPort: port(values['http-port'], '--http-port'),
    tcpPort: port(values['tcp-port'], '--tcp-port'),
    host: values.host,
    // In a pod, the node agent's POD_NAME wins over --name (as before); the rest is reported as is.
    name: env['POD_NAME'] ?? values.name,
    pod: { namespace: env['POD_NAMESPACE'] ?? '', podIP: env['POD_IP'] ?? '', node: env['NODE_NAME'] ?? '' },
  });
  process.stdout.write(`echo: http :${echo.httpPort} (HTTP/1.1 + h2c), tcp :${echo.tcpPort}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals): void => {
      process.removeListener('SIGTERM', on);
      process.removeListener('SIGINT', on);
      resolve(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
  process.stdout.write(`echo: ${signal}, shutting down\n`);
  await echo.close();
  return 0;
}

async function loadCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string', default: '10s' },
      connections: { type: 'string', default: '4' },
      payload: { type: 'string', default: '0' },
      method: { type: 'string' },
      timeout: { type: 'string', default: '5s' },
      http2: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.url === undefined) throw new UsageError('load: --url is required');
  if (values.rate === undefined) throw new UsageError('load: --rate is required');
  const report = await runLoad({
    url: values.url,
    rate: num(values.rate, '--rate'),
    durationSec: parseDuration(values.duration) / 1000,
    connections: num(values.connections, '--connections'),
    payloadBytes: num(values.payload, '--payload'),
    method: values.method,
    timeoutMs: parseDuration(values.timeout),
    http2: values.http2,
  });
  process.stdout.write(formatLoadSummary(report) + '\n');
  if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return report.errors.total === 0 && report.non2xx === 0 ? 0 : 1;
}

function num(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number (got '${v}')`);
  return n;
}

function port(v: string, flag: string): number {
  const n = num(v, flag);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be a port 0-65535 (got '${v}')`);
  return n;
}
