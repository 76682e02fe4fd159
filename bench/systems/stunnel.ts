// stunnel4 at both ends: a TLS connection per client connection (sidecar-like). Client side in
// pod A listens on 127.0.0.1, server side in pod B requires and verifies the client certificate.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitListening } from '../support/lab.js';
import type { BenchSystem, Lab, Service } from './types.js';

const SERVICES: Service[] = ['iperf', 'http', 'echo'];
const CLIENT_PORT: Record<Service, number> = { iperf: 16001, http: 16002, echo: 16003 };
const SERVER_PORT: Record<Service, number> = { iperf: 16101, http: 16102, echo: 16103 };

function conf(lab: Lab, side: 'client' | 'server'): string {
  const files = side === 'client' ? lab.certs.client : lab.certs.server;
  const lines = ['foreground = yes', 'pid =', 'debug = 3'];
  for (const s of SERVICES) {
    lines.push(
      `[${s}]`,
      ...(side === 'client' ? ['client = yes', `accept = 127.0.0.1:${CLIENT_PORT[s]}`, `connect = ${lab.b.ip}:${SERVER_PORT[s]}`, `checkIP = ${lab.b.ip}`] : [`accept = ${lab.b.ip}:${SERVER_PORT[s]}`, `connect = 127.0.0.1:${lab.ports[s]}`, 'requireCert = yes']),
      `cert = ${files.cert}`,
      `key = ${files.key}`,
      `CAfile = ${lab.certs.roots}`,
      'verifyChain = yes',
      'sslVersion = TLSv1.3',
      'ciphersuites = TLS_AES_256_GCM_SHA384',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function stunnelSystem(): BenchSystem {
  let lab: Lab | undefined;
  let cli: ChildProcess | undefined;
  let srv: ChildProcess | undefined;
  const tail = (file: string): string => {
    try {
      return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      return '';
    }
  };
  return {
    name: 'stunnel',
    description: 'stunnel4 client in pod A (127.0.0.1) → TLS 1.3 (TLS_AES_256_GCM_SHA384, ECDSA P-256, client certificate required) → stunnel4 server in pod B → 127.0.0.1; one TLS connection per client connection',
    async start(l) {
      lab = l;
      const write = (side: 'client' | 'server'): string => {
        const p = path.join(l.tmp, `stunnel-${side}.conf`);
        fs.writeFileSync(p, conf(l, side), { mode: 0o600 });
        return p;
      };
      const srvLog = path.join(l.tmp, 'stunnel-server.log');
      const cliLog = path.join(l.tmp, 'stunnel-client.log');
      const s = (srv = l.procs.startIn('stunnel server', l.b.netns, ['stunnel4', write('server')], srvLog));
      const c = (cli = l.procs.startIn('stunnel client', l.a.netns, ['stunnel4', write('client')], cliLog));
      for (const svc of SERVICES) {
        await waitListening(l.b.netns, SERVER_PORT[svc], 10_000, () => l.procs.alive(s)).catch((e: Error) => {
          throw new Error(`stunnel server: ${e.message}\n${tail(srvLog)}`);
        });
        await waitListening(l.a.netns, CLIENT_PORT[svc], 10_000, () => l.procs.alive(c)).catch((e: Error) => {
          throw new Error(`stunnel client: ${e.message}\n${tail(cliLog)}`);
        });
      }
    },
    target(service) {
      return { host: '127.0.0.1', port: CLIENT_PORT[service] };
    },
    pids: () => ({ client: cli?.pid ? [cli.pid] : [], server: srv?.pid ? [srv.pid] : [] }),
    handshakeTarget() {
      if (!lab) throw new Error('stunnel: not started');
      return { host: lab.b.ip, port: SERVER_PORT.echo, serverPids: () => (srv?.pid ? [srv.pid] : []) };
    },
    async stop() {
      if (!lab) return;
      for (const p of [cli, srv]) if (p) await lab.procs.stop(p);
    },
  };
}
