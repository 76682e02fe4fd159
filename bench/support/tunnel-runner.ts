// One "node tunnel" for the tunnel benchmark, run as a child process (one per node, as in
// production): `node dist/bench/support/tunnel-runner.js`, forked with an IPC channel
// (advanced serialization). The parent sends the mesh snapshot, this node's pod and its workload
// certificate (PEMs never touch the disk); the runner builds a real NodeTunnel, enrolls the pod
// and answers 'ready'. The parent can unenroll/enroll the pod between measurements (so other
// systems can use the same pods uncaptured), ask for counters, and close it.
import type { MeshSnapshot } from '../../src/mesh-api/types.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import { NodeTunnel } from '../../src/node-tunnel/tunnel.js';
import { LoopDelay, type LoopDelayMs } from './loop-delay.js';

export type RunnerRequest =
  /** Without `pod` the tunnel starts with nothing enrolled (the idle-pods measure). */
  | { type: 'init'; node: string; snapshot: MeshSnapshot; certificate?: WorkloadCertificate; pod?: { netns: string; ip: string } }
  | { type: 'enroll' }
  | { type: 'unenroll' }
  /** Enroll extra pods that carry no traffic (memory per enrolled pod); `snapshot` then lists them too. */
  | { type: 'enrollIdle'; snapshot: MeshSnapshot; pods: IdlePod[] }
  | { type: 'unenrollIdle' }
  /** `reset` restarts the event-loop delay histogram after reading it. */
  | { type: 'stats'; reset?: boolean }
  | { type: 'close' };

export interface IdlePod {
  uid: string;
  netns: string;
  ip: string;
  namespace: string;
  serviceAccount: string;
  certificate: WorkloadCertificate;
}

export interface RunnerStats {
  enrolled: string[];
  /** HBONE CONNECTs that ended on this node's pod: tunnels closed normally / with an error / refused. */
  inbound: { ok: number; errored: number; refused: number; bytesIn: number; bytesOut: number };
  /** Outbound connections from this node's pod by route, and how many failed. */
  outbound: { hbone: number; tcp: number; failed: number };
  lastErrors: string[];
  rssMB: number;
  /** Event-loop delay since the last reset (ms): how long ready I/O could wait for this tunnel. */
  loopDelayMs: LoopDelayMs;
}

export type RunnerReply = { type: 'ready' } | { type: 'unenrolled' } | { type: 'stats'; stats: RunnerStats } | { type: 'error'; message: string };

const send = (m: RunnerReply): void => {
  process.send?.(m);
};

let tunnel: NodeTunnel | undefined;
let pod: { netns: string; ip: string } | undefined;
const certificates = new Map<string, WorkloadCertificate>();
let idle: IdlePod[] = [];
const stats: RunnerStats = { enrolled: [], inbound: { ok: 0, errored: 0, refused: 0, bytesIn: 0, bytesOut: 0 }, outbound: { hbone: 0, tcp: 0, failed: 0 }, lastErrors: [], rssMB: 0, loopDelayMs: { p50: 0, p99: 0, max: 0 } };
const loop = new LoopDelay();
loop.enable();
const noteError = (e: string): void => {
  stats.lastErrors.push(e);
  if (stats.lastErrors.length > 10) stats.lastErrors.shift();
};

async function closeAndExit(code: number): Promise<never> {
  const t = setTimeout(() => process.exit(code), 5000);
  t.unref();
  try {
    await tunnel?.close();
  } catch (e) {
    process.stderr.write(`tunnel-runner: close: ${(e as Error).message}\n`);
  }
  process.exit(code);
}

async function handle(m: RunnerRequest): Promise<void> {
  switch (m.type) {
    case 'init': {
      pod = m.pod;
      if (m.certificate) certificates.set(m.certificate.identity, m.certificate);
      tunnel = new NodeTunnel({
        snapshot: m.snapshot,
        certificateFor: (identity) => certificates.get(identity) ?? Promise.reject(new Error(`no certificate for ${identity}`)),
      });
      tunnel.on('inbound', (t) => {
        if (t.status !== 200) {
          stats.inbound.refused++;
          noteError(`inbound ${t.status}: ${t.reason ?? ''}`);
        } else if (t.reason) {
          stats.inbound.errored++;
          noteError(`inbound tunnel: ${t.reason}`);
        } else stats.inbound.ok++;
        stats.inbound.bytesIn += t.bytesIn;
        stats.inbound.bytesOut += t.bytesOut;
      });
      tunnel.on('outbound', (ev) => {
        if (ev.error) {
          stats.outbound.failed++;
          noteError(`outbound ${ev.dst} (${ev.route}): ${ev.error}`);
        } else if (ev.route === 'hbone') stats.outbound.hbone++;
        else stats.outbound.tcp++;
      });
      if (pod) await tunnel.enroll(pod);
      return send({ type: 'ready' });
    }
    case 'enroll':
      if (!tunnel || !pod) throw new Error('enroll before init');
      await tunnel.enroll(pod);
      return send({ type: 'ready' });
    case 'unenroll':
      if (tunnel && pod) await tunnel.unenroll(pod.ip);
      return send({ type: 'unenrolled' });
    case 'enrollIdle': {
      if (!tunnel) throw new Error('enrollIdle before init');
      tunnel.setSnapshot(m.snapshot);
      for (const p of m.pods) {
        certificates.set(p.certificate.identity, p.certificate);
        await tunnel.enroll({ uid: p.uid, netns: p.netns, ip: p.ip, namespace: p.namespace, serviceAccount: p.serviceAccount });
        idle.push(p);
      }
      return send({ type: 'ready' });
    }
    case 'unenrollIdle':
      for (const p of idle) await tunnel?.unenroll(p.uid);
      idle = [];
      return send({ type: 'unenrolled' });
    case 'stats': {
      stats.enrolled = tunnel?.enrolled() ?? [];
      stats.rssMB = Math.round(process.memoryUsage().rss / 2 ** 20);
      stats.loopDelayMs = loop.read(m.reset);
      return send({ type: 'stats', stats });
    }
    case 'close':
      await closeAndExit(0);
  }
}

process.on('message', (m: RunnerRequest) => {
  handle(m).catch((e: Error) => send({ type: 'error', message: `${m.type}: ${e.message}` }));
});
// The parent went away (crash, Ctrl-C): remove the capture rules and go.
process.on('disconnect', () => void closeAndExit(1));
process.on('SIGTERM', () => void closeAndExit(0));
process.on('SIGINT', () => void closeAndExit(0));
