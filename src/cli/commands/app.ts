// `ambit app echo|load ...`: the sample apps as pod commands (echo server, constant-rate load client).
// Returns an exit code instead of exiting so the CLI entry point stays in charge of the process.
import { parseArgs } from 'node:util';
import { startEcho } from '../../apps/echo.js';
import { formatLoadSummary, runLoad } from '../../apps/load.js';
import { parseDuration } from '../../lib/duration.js';
import { UsageError } from '../context.js';
import { ECHO_FLAGS, LOAD_FLAGS } from '../specs.js';

export async function echoCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args, strict: true, allowPositionals: false, options: ECHO_FLAGS });
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

export async function loadCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, allowPositionals: false, options: LOAD_FLAGS });
  if (values.url === undefined) throw new UsageError('--url is required');
  if (values.rate === undefined) throw new UsageError('--rate is required');
  const report = await runLoad({
    url: values.url,
    rate: num(values.rate, '--rate'),
    durationSec: duration(values.duration, '--duration') / 1000,
    connections: num(values.connections, '--connections'),
    payloadBytes: num(values.payload, '--payload'),
    method: values.method,
    timeoutMs: duration(values.timeout, '--timeout'),
    http2: values.http2,
  });
  process.stdout.write(formatLoadSummary(report) + '\n');
  if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return report.errors.total === 0 && report.non2xx === 0 ? 0 : 1;
}

function duration(v: string, flag: string): number {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
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
