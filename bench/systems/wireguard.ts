// wireguard-go (Debian's userspace WireGuard) between the two pods over the veth: one interface
// in A and one in B, each run by its own wireguard-go process; the client dials B's overlay IP.
// No global sysctl is touched (the reference raised net.core.rmem_default; we run with defaults).
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { netnsExists, sleep } from '../support/lab.js';
import type { BenchSystem, Endpoint, Lab, LabPod, Service } from './types.js';

const WG_PORT = 51820;
const MTU = 1420;
/** wireguard-go's control sockets live here for every netns, so interface names must be unique per lab. */
const UAPI_DIR = '/var/run/wireguard';

const run = (argv: string[], input?: string): { ok: boolean; out: string } => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, timeout: 10_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
};
const must = (argv: string[], input?: string): string => {
  const r = run(argv, input);
  if (!r.ok) throw new Error(`wireguard: ${argv.join(' ')} failed: ${r.out}`);
  return r.out;
};
const linkExists = (netns: string, dev: string): boolean => netnsExists(netns) && run(['ip', '-n', netns, 'link', 'show', dev]).ok;
const tail = (file: string, n = 20): string => {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
};

interface End {
  pod: LabPod;
  dev: string;
  overlay: string;
  key: string;
  pub: string;
  log: string;
  child?: ChildProcess;
}

export function wireguardSystem(): BenchSystem {
  let lab: Lab | undefined;
  let ends: [End, End] | undefined;
  /** B's received bytes on the tunnel at the last verify (or at start). */
  let rxMark = 0;

  const rxBytes = (e: End): number => {
    const r = run(['ip', '-n', e.pod.netns, '-j', '-s', 'link', 'show', e.dev]);
    try {
      return r.ok ? Number((JSON.parse(r.out) as { stats64?: { rx?: { bytes?: number } } }[])[0]?.stats64?.rx?.bytes ?? 0) : 0;
    } catch {
      return 0;
    }
  };

  async function bringUp(l: Lab, [a, b]: [End, End]): Promise<void> {
    for (const e of [a, b]) {
      e.child = l.procs.startIn(`wireguard-go ${e.dev}`, e.pod.netns, ['env', 'WG_PROCESS_FOREGROUND=1', 'LOG_LEVEL=error', 'wireguard-go', '-f', e.dev], e.log);
      const child = e.child;
      for (let i = 0; !linkExists(e.pod.netns, e.dev); i++) {
        if (!l.procs.alive(child) || i > 100) throw new Error(`wireguard: ${e.dev} did not appear in ${e.pod.netns}\n${tail(e.log)}`);
        await sleep(50);
      }
    }
    // The UAPI socket comes up just after the device: `wg set` retries briefly.
    for (const [self, peer] of [[a, b], [b, a]] as const) {
      const argv = ['ip', 'netns', 'exec', self.pod.netns, 'wg', 'set', self.dev, 'listen-port', String(WG_PORT), 'private-key', self.key,
        'peer', peer.pub, 'allowed-ips', `${peer.overlay}/32`, 'endpoint', `${peer.pod.ip}:${WG_PORT}`];
      for (let i = 0; ; i++) {
        const r = run(argv);
        if (r.ok) break;
        if (i > 40) throw new Error(`wireguard: ${argv.join(' ')} failed: ${r.out}\n${tail(self.log)}`);
        await sleep(50);
      }
      must(['ip', '-n', self.pod.netns, 'addr', 'add', `${self.overlay}/24`, 'dev', self.dev]);
      must(['ip', '-n', self.pod.netns, 'link', 'set', self.dev, 'mtu', String(MTU), 'up']);
    }
    // The first ping also carries the handshake; allow a few tries.
    let last = '';
    for (let i = 0; i < 3; i++) {
      const r = run(['ip', 'netns', 'exec', a.pod.netns, 'ping', '-c1', '-W2', b.overlay]);
      if (r.ok) return;
      last = r.out;
    }
    const show = run(['ip', 'netns', 'exec', a.pod.netns, 'wg', 'show', a.dev]).out;
    throw new Error(`wireguard: the tunnel passes no traffic (ping ${b.overlay} from ${a.pod.netns}: ${last})\n${show}\n${tail(a.log)}\n${tail(b.log)}`);
  }

  const sys: BenchSystem = {
    name: 'wireguard',
    description: `wireguard-go (userspace, Debian) in A and in B, UDP ${WG_PORT} over the veth, MTU ${MTU}: A dials B's overlay IP; ChaCha20-Poly1305, Curve25519 keys, no per-connection handshake`,

    async start(l: Lab): Promise<void> {
      if (ends) throw new Error('wireguard: already started');
      const missing = ['wireguard-go', 'wg', 'ping'].filter((t) => !run(['sh', '-c', `command -v ${t}`]).ok);
      if (missing.length) throw new Error(`wireguard: missing ${missing.join(', ')} (scripts/setup.sh installs wireguard-go wireguard-tools iputils-ping)`);
      lab = l;
      const tag = l.id.replace(/[^a-zA-Z0-9]/g, '').slice(-8);
      // 10.99.0.0/24 unless the underlay already uses it.
      const net = l.a.ip.startsWith('10.99.0.') || l.b.ip.startsWith('10.99.0.') ? '10.99.1' : '10.99.0';
      const mk = (pod: LabPod, side: 'a' | 'b', host: number): End => {
        const dev = `wg${side}${tag}`;
        const key = path.join(l.tmp, `wg-${side}.key`);
        fs.writeFileSync(key, must(['wg', 'genkey']) + '\n', { mode: 0o600 });
        const pub = must(['wg', 'pubkey'], fs.readFileSync(key, 'utf8'));
        return { pod, dev, overlay: `${net}.${host}`, key, pub, log: path.join(l.tmp, `wireguard-${side}.log`) };
      };
      const pair: [End, End] = [mk(l.a, 'a', 1), mk(l.b, 'b', 2)];
      // Not ours: stop() must not delete it.
      for (const e of pair) if (linkExists(e.pod.netns, e.dev)) throw new Error(`wireguard: ${e.dev} already exists in ${e.pod.netns}`);
      ends = pair;
      try {
        await bringUp(l, ends);
      } catch (e) {
        await sys.stop();
        throw e;
      }
      rxMark = rxBytes(pair[1]);
    },

    target(service: Service): Endpoint {
      if (!ends || !lab) throw new Error('wireguard: not started');
      return { host: ends[1].overlay, port: lab.ports[service] };
    },

    pids() {
      const p = (e: End | undefined): number[] => (e?.child?.pid !== undefined && lab?.procs.alive(e.child) ? [e.child.pid] : []);
      return { client: p(ends?.[0]), server: p(ends?.[1]) };
    },

    /** The slot's traffic must have arrived in B through the tunnel device. */
    async verify(): Promise<string | undefined> {
      if (!ends || !lab) return 'wireguard: not started';
      for (const e of ends) if (!e.child || !lab.procs.alive(e.child)) return `wireguard-go for ${e.dev} exited:\n${tail(e.log)}`;
      const rx = rxBytes(ends[1]);
      const grew = rx > rxMark;
      rxMark = rx;
      return grew ? undefined : `wireguard: no bytes arrived on ${ends[1].dev} in ${ends[1].pod.netns} since the last check`;
    },

    async stop(): Promise<void> {
      const [es, l] = [ends, lab];
      ends = undefined;
      if (!es || !l) return;
      // SIGTERM: wireguard-go removes its device and UAPI socket itself; clean up after a SIGKILL too.
      await Promise.all(es.map((e) => (e.child ? l.procs.stop(e.child) : undefined)));
      for (const e of es) {
        if (linkExists(e.pod.netns, e.dev)) run(['ip', '-n', e.pod.netns, 'link', 'del', e.dev]);
        fs.rmSync(path.join(UAPI_DIR, `${e.dev}.sock`), { force: true });
      }
    },
  };
  return sys;
}
