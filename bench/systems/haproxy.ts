// haproxy (Debian's 2.6, tcp mode, nbthread 1 as in the reference runs) at both ends: a client
// proxy in pod A (127.0.0.1, TLS to B) and a server proxy in pod B (mTLS on B's IP, plaintext to
// the app on 127.0.0.1). TLS 1.3 TLS_AES_256_GCM_SHA384, ECDSA P-256, client certificate required.
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isListening, waitListening } from '../support/lab.js';
import type { BenchSystem, Endpoint, HandshakeTarget, Lab, Service } from './types.js';

const HAPROXY = '/usr/sbin/haproxy';
const SERVICES: Service[] = ['iperf', 'http', 'echo'];
/** Distinct from stunnel's 16001/16002 (client) and 16101/16102 (server). */
export const HAPROXY_PORTS = {
  client: { iperf: 17001, http: 17002, echo: 17003 } as Record<Service, number>,
  server: { iperf: 17101, http: 17102, echo: 17103 } as Record<Service, number>,
};

const q = (p: string): string => `"${p}"`;

export function haproxyConf(side: 'client' | 'server', lab: Lab): string {
  const { client, server } = HAPROXY_PORTS;
  const lines = [
    'global',
    '  nbthread 1',
    side === 'client' ? '  ssl-default-server-ciphersuites TLS_AES_256_GCM_SHA384' : '  ssl-default-bind-ciphersuites TLS_AES_256_GCM_SHA384',
    side === 'client' ? '  ssl-default-server-options ssl-min-ver TLSv1.3' : '  ssl-default-bind-options ssl-min-ver TLSv1.3',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    // Long enough that idle keep-alive / iperf3 control connections are never cut mid-measurement.
    '  timeout client 10m',
    '  timeout server 10m',
  ];
  for (const s of SERVICES) {
    if (side === 'client') {
      // haproxy 2.6 matches verifyhost against DNS SANs only (verifyhost <IP> fails the handshake:
      // tested) and the server cert names B by IP SAN alone: the server is verified against the
      // lab CA (chain) only.
      lines.push(`frontend ${s}`, `  bind 127.0.0.1:${client[s]}`, `  default_backend ${s}`, `backend ${s}`,
        `  server b ${lab.b.ip}:${server[s]} ssl verify required ca-file ${q(lab.certs.roots)} crt ${q(lab.certs.client.bundle)}`);
    } else {
      lines.push(`frontend ${s}`, `  bind ${lab.b.ip}:${server[s]} ssl crt ${q(lab.certs.server.bundle)} ca-file ${q(lab.certs.roots)} verify required`,
        `  default_backend ${s}`, `backend ${s}`, `  server app 127.0.0.1:${lab.ports[s]}`);
    }
  }
  return lines.join('\n') + '\n';
}

const tail = (file: string, n = 20): string => {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
};

export function haproxySystem(): BenchSystem {
  let lab: Lab | undefined;
  let cli: ChildProcess | undefined;
  let srv: ChildProcess | undefined;
  const pid = (c: ChildProcess | undefined): number[] => (c?.pid !== undefined && lab?.procs.alive(c) ? [c.pid] : []);

  async function startBoth(l: Lab): Promise<void> {
    // A port already taken would be mistaken for ours coming up below.
    for (const [side, netns] of [['client', l.a.netns], ['server', l.b.netns]] as const) {
      const taken = SERVICES.map((s) => HAPROXY_PORTS[side][s]).filter((p) => isListening(netns, p));
      if (taken.length) throw new Error(`haproxy ${side}: port(s) ${taken.join(', ')} already in use in ${netns}`);
    }
    const files = (['server', 'client'] as const).map((side) => {
      const cfg = path.join(l.tmp, `haproxy-${side}.cfg`);
      fs.writeFileSync(cfg, haproxyConf(side, l), { mode: 0o600 });
      // Config errors show here, clearly, instead of as an early exit.
      const check = spawnSync(HAPROXY, ['-c', '-q', '-f', cfg], { encoding: 'utf8' });
      if (check.status !== 0) throw new Error(`haproxy ${side} config invalid:\n${check.stdout}${check.stderr}`);
      return { side, cfg, log: path.join(l.tmp, `haproxy-${side}.log`) };
    });
    for (const { side, cfg, log } of files) {
      const netns = side === 'server' ? l.b.netns : l.a.netns;
      const child = l.procs.startIn(`haproxy ${side}`, netns, [HAPROXY, '-db', '-f', cfg], log);
      if (side === 'server') srv = child;
      else cli = child;
      for (const s of SERVICES) {
        await waitListening(netns, HAPROXY_PORTS[side][s], 10_000, () => l.procs.alive(child)).catch((e: Error) => {
          throw new Error(`haproxy ${side}: ${e.message}\n${tail(log)}`);
        });
      }
    }
  }

  const sys: BenchSystem = {
    name: 'haproxy',
    description:
      `haproxy 2.6 (tcp mode, nbthread 1) client in A (127.0.0.1:${HAPROXY_PORTS.client.iperf}-${HAPROXY_PORTS.client.echo}) → ` +
      `haproxy server in B (B:${HAPROXY_PORTS.server.iperf}-${HAPROXY_PORTS.server.echo}) → 127.0.0.1; TLS 1.3 TLS_AES_256_GCM_SHA384, ECDSA P-256, client certificate required`,

    async start(l: Lab): Promise<void> {
      if (cli || srv) throw new Error('haproxy: already started');
      if (!fs.existsSync(HAPROXY)) throw new Error(`haproxy: ${HAPROXY} is missing (scripts/setup.sh installs the Debian package haproxy)`);
      lab = l;
      try {
        await startBoth(l);
      } catch (e) {
        await sys.stop();
        throw e;
      }
    },

    target(service: Service): Endpoint {
      return { host: '127.0.0.1', port: HAPROXY_PORTS.client[service] };
    },

    pids() {
      return { client: pid(cli), server: pid(srv) };
    },

    handshakeTarget(): HandshakeTarget {
      if (!lab) throw new Error('haproxy: not started');
      return { host: lab.b.ip, port: HAPROXY_PORTS.server.echo, serverPids: () => pid(srv) };
    },

    async stop(): Promise<void> {
      const [c, s, l] = [cli, srv, lab];
      cli = srv = undefined;
      if (!l) return;
      await Promise.all([c, s].map((p) => (p ? l.procs.stop(p) : undefined)));
    },
  };
  return sys;
}
