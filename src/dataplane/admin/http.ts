// Small HTTP servers for the node tunnel's operations ports (admin, stats, readiness), bound to
// loopback. A port held by another process is retried until it frees up: during a rolling
// tunnel handoff the old process still holds the ports while the new one starts, and the new
// one takes them over once the old one has stopped.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/log.js';

export type Handler = (req: http.IncomingMessage, url: URL, body: string) => { status: number; type?: string; body: string } | Promise<{ status: number; type?: string; body: string }>;

export interface OpsServer {
  /** The bound port once listening (0 while still waiting for the port). */
  port(): number;
  /** Resolves once listening (never rejects; retries while the port is taken). */
  listening: Promise<number>;
  close(): Promise<void>;
}

const RETRY_MS = 250;
const MAX_BODY = 64 * 1024;

export function serveOps(what: string, host: string, port: number, handle: Handler, log: Logger): OpsServer {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
      if (body.length > MAX_BODY) req.destroy();
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      Promise.resolve()
        .then(() => handle(req, url, body))
        .then(
          (r) => {
            res.writeHead(r.status, { 'content-type': r.type ?? 'text/plain; charset=utf-8' });
            res.end(r.body);
          },
          (e: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(`${(e as Error).message}\n`);
          },
        );
    });
  });
  let closed = false;
  let bound = 0;
  let timer: NodeJS.Timeout | undefined;
  let warned = false;
  const listening = new Promise<number>((resolve) => {
    const attempt = (): void => {
      if (closed) return;
      const onError = (e: NodeJS.ErrnoException): void => {
        server.off('listening', onListening);
        if (!warned) log(`${what}: ${host}:${port} is not available (${e.code ?? e.message}); retrying every ${RETRY_MS} ms`);
        warned = true;
        timer = setTimeout(attempt, RETRY_MS);
      };
      const onListening = (): void => {
        server.off('error', onError);
        bound = (server.address() as AddressInfo).port;
        if (warned) log(`${what}: listening on ${host}:${bound} now`);
        resolve(bound);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, host);
    };
    attempt();
  });
  return {
    port: () => bound,
    listening,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        clearTimeout(timer);
        if (!server.listening) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const json = (status: number, value: unknown): { status: number; type: string; body: string } => ({ status, type: 'application/json', body: `${JSON.stringify(value, null, 2)}\n` });
export const text = (status: number, body: string): { status: number; body: string } => ({ status, body });
