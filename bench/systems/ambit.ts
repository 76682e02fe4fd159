// Ambit L4: both pods enrolled in real node tunnels, one NodeTunnel per "node", each in its own
// child process (../support/tunnel-runner.ts). Pod A's app dials B's pod IP; in-pod capture sends
// it to A's 15001, HBONE (mTLS HTTP/2 CONNECT) to B:15008, B's tunnel dials the app. Pods are
// enrolled only during Ambit's slots, so the other systems use the same pods uncaptured.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PORTS } from '../../src/platform/capture-rules.js';
import { deleteNetns, rssMB, sleep, type ProcessSet } from '../support/lab.js';
import { snapshotOf, workloadCertificate, workloadOf, type BenchPod } from '../support/mesh.js';
import type { IdlePod, RunnerReply, RunnerRequest, RunnerStats } from '../support/tunnel-runner.js';
import type { BenchSystem, Endpoint, HandshakeTarget, Lab, Service } from './types.js';

const RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'tunnel-runner.js');

/** One node tunnel child process, driven over IPC (one request at a time). */
class Runner {
  readonly child: ChildProcess;
  #pending: { resolve: (r: RunnerReply) => void; reject: (e: Error) => void } | undefined;

  constructor(readonly node: string, procs: ProcessSet, execArgv: string[]) {
    this.child = fork(RUNNER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv });
    procs.add(`tunnel ${node}`, this.child);
    this.child.on('message', (m: RunnerReply) => {
      const p = this.#pending;
      this.#pending = undefined;
      if (!p) return;
      if (m.type === 'error') p.reject(new Error(`tunnel ${node}: ${m.message}`));
      else p.resolve(m);
    });
    this.child.once('exit', (code, signal) => {
      this.#pending?.reject(new Error(`tunnel ${node} exited (${signal ?? code})`));
      this.#pending = undefined;
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  request(m: RunnerRequest, timeoutMs = 15_000): Promise<RunnerReply> {
    if (this.#pending) return Promise.reject(new Error(`tunnel ${this.node}: request while another is pending`));
    if (!this.child.connected) return Promise.reject(new Error(`tunnel ${this.node} is not running`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#pending = undefined;
        reject(new Error(`tunnel ${this.node}: no answer to '${m.type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending = { resolve: (r) => (clearTimeout(t), resolve(r)), reject: (e) => (clearTimeout(t), reject(e)) };
      this.child.send(m);
    });
  }

  async expect(m: RunnerRequest, type: RunnerReply['type'], timeoutMs?: number): Promise<void> {
    const r = await this.request(m, timeoutMs);
    if (r.type !== type) throw new Error(`tunnel ${this.node}: expected ${type} after ${m.type}, got ${r.type}`);
  }

  async stats(reset = false): Promise<RunnerStats> {
    const r = await this.request({ type: 'stats', reset });
    if (r.type !== 'stats') throw new Error(`tunnel ${this.node}: unexpected reply ${r.type}`);
    return r.stats;
  }

  async close(procs: ProcessSet): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.connected) this.child.send({ type: 'close' } satisfies RunnerRequest);
    else this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(6000)]);
    await procs.stop(this.child);
  }
}

export interface AmbitOptions {
  /** Extra node flags for the two tunnel processes (e.g. --cpu-prof). */
  execArgv?: (node: string) => string[];
}

export interface IdlePodsResult {
  pods: number;
  rssBeforeMB: number;
  rssAfterMB: number;
}

export interface AmbitSystem extends BenchSystem {
  /** Enrolls `count` extra idle pods (own netns, identity and certificate) in the client node's tunnel and reads its RSS. */
  idlePods(count: number): Promise<IdlePodsResult>;
}

export function ambitSystem(opts: AmbitOptions = {}): AmbitSystem {
  let lab: Lab | undefined;
  const runners: Runner[] = [];
  let before: RunnerStats[] | undefined;
  const pods = (l: Lab): [BenchPod, BenchPod] => [
    { name: 'client', namespace: 'bench-a', serviceAccount: 'client', node: 'node1', ip: l.a.ip },
    { name: 'server', namespace: 'bench-b', serviceAccount: 'server', node: 'node2', ip: l.b.ip },
  ];
  const both = async (m: RunnerRequest, type: RunnerReply['type']): Promise<void> => {
    await Promise.all(runners.map((r) => r.expect(m, type)));
  };

  return {
    name: 'ambit',
    description:
      'both pods enrolled in real node tunnels (one per node, each its own process); A dials B’s pod IP, in-pod capture → A:15001 → HBONE (mTLS HTTP/2 CONNECT, pooled) → B:15008 → B’s tunnel → app, client IP preserved',

    async start(l) {
      lab = l;
      const [podA, podB] = pods(l);
      const snapshot = snapshotOf([podA, podB]);
      for (const [pod, ns, cert] of [[podA, l.a.netns, l.certs.podA], [podB, l.b.netns, l.certs.podB]] as const) {
        const r = new Runner(pod.node, l.procs, opts.execArgv?.(pod.node) ?? []);
        runners.push(r);
        await r.expect({ type: 'init', node: pod.node, snapshot, certificate: cert, pod: { netns: ns, ip: pod.ip } }, 'ready');
      }
      await both({ type: 'unenroll' }, 'unenrolled'); // enrolled only during Ambit's slots
    },

    async enter() {
      await both({ type: 'enroll' }, 'ready');
      before = await Promise.all(runners.map((r) => r.stats(true)));
    },

    async leave() {
      await both({ type: 'unenroll' }, 'unenrolled');
    },

    target(service: Service): Endpoint {
      if (!lab) throw new Error('ambit: not started');
      return { host: lab.b.ip, port: lab.ports[service] };
    },

    pids() {
      return { client: runners[0]?.pid ? [runners[0].pid] : [], server: runners[1]?.pid ? [runners[1].pid] : [] };
    },

    handshakeTarget(): HandshakeTarget {
      if (!lab) throw new Error('ambit: not started');
      return { host: lab.b.ip, port: DEFAULT_PORTS.hbone, alpn: ['h2'], serverPids: () => (runners[1]?.pid ? [runners[1].pid] : []) };
    },

    async afterMeasure() {
      // How late each tunnel's event loop ran during the measure, worst of the two tunnels.
      const stats = await Promise.all(runners.map((r) => r.stats(true)));
      return {
        tunnelLoopDelayP99Ms: Math.max(...stats.map((x) => x.loopDelayMs.p99)),
        tunnelLoopDelayMaxMs: Math.max(...stats.map((x) => x.loopDelayMs.max)),
      };
    },

    async verify() {
      if (!before) return 'ambit: verify without enter';
      await sleep(200); // inbound events arrive when the streams close
      const after = await Promise.all(runners.map((r) => r.stats()));
      const d = (f: (s: RunnerStats) => number): number => after.reduce((n, s, i) => n + f(s) - f(before![i]!), 0);
      const hbone = d((s) => s.outbound.hbone);
      const inbound = d((s) => s.inbound.ok + s.inbound.errored);
      // No HBONE streams means the traffic bypassed the tunnels: the numbers would be plain TCP's.
      if (hbone === 0 || inbound === 0) return `traffic did not go through the node tunnels (outbound HBONE ${hbone}, inbound ${inbound}; ${after.flatMap((s) => s.lastErrors).slice(-3).join('; ')})`;
      return undefined;
    },

    async idlePods(count) {
      if (!lab) throw new Error('ambit: not started');
      const l = lab;
      // A fresh tunnel process: the loaded tunnels' RSS says what traffic left behind (their
      // peak RSS is reported with each measure), not what enrolled pods cost.
      const runner = new Runner('idle', l.procs, opts.execArgv?.('idle') ?? []);
      const [podA, podB] = pods(l);
      const idle: BenchPod[] = Array.from({ length: count }, (_, i) => ({ name: `idle-${i}`, namespace: 'bench-idle', serviceAccount: `idle-${i}`, node: 'node1', ip: `10.79.1.${i + 10}` }));
      const netns = idle.map((_, i) => `ambitbi-${l.id}-${i}`);
      const sh = (argv: string[]): void => {
        const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr.trim()}`);
      };
      try {
        const enroll: IdlePod[] = [];
        for (const [i, p] of idle.entries()) {
          // A pod with an address and no traffic: the tunnel's listeners and capture rules are all it costs.
          sh(['ip', 'netns', 'add', netns[i]!]);
          // (a veth pair inside the pod: this kernel has no dummy driver)
          sh(['ip', '-n', netns[i]!, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
          sh(['ip', '-n', netns[i]!, 'link', 'set', 'eth1', 'up']);
          sh(['ip', '-n', netns[i]!, 'addr', 'add', `${p.ip}/32`, 'dev', 'eth0']);
          sh(['ip', '-n', netns[i]!, 'link', 'set', 'eth0', 'up']);
          sh(['ip', '-n', netns[i]!, 'link', 'set', 'lo', 'up']);
          enroll.push({ uid: `bench//Pod/${p.namespace}/${p.name}`, netns: netns[i]!, ip: p.ip, namespace: p.namespace, serviceAccount: p.serviceAccount, certificate: await workloadCertificate(l.certs.ca, p) });
        }
        await runner.expect({ type: 'init', node: 'idle', snapshot: snapshotOf([podA, podB]) }, 'ready');
        await sleep(1000);
        const rssBeforeMB = rssMB(runner.pid);
        await runner.expect({ type: 'enrollIdle', snapshot: { ...snapshotOf([podA, podB]), workloads: [podA, podB, ...idle].map(workloadOf) }, pods: enroll }, 'ready', 60_000);
        await sleep(2000); // let allocation settle (RSS as a node's memory graph would show it)
        const rssAfterMB = rssMB(runner.pid);
        await runner.expect({ type: 'unenrollIdle' }, 'unenrolled', 60_000);
        return { pods: count, rssBeforeMB, rssAfterMB };
      } finally {
        await runner.close(l.procs);
        for (const ns of netns) deleteNetns(ns);
      }
    },

    async stop() {
      if (!lab) return;
      const l = lab;
      await Promise.all(runners.map((r) => r.close(l.procs)));
    },
  };
}
