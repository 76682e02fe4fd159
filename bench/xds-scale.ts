// Scale benchmark for the delta ADS push (issue 4, deliverable 6), the published ambient
// scenario simulated: N subscribed node clients (real gRPC/TLS streams in a few child
// processes), M namespaces each with one service of 100 pods, churn of one service rescaled
// between 85 and 115 pods every second and one namespace relabeled every minute (modelled as
// istio.io/use-waypoint: every workload of the namespace changes).
//
// The MeshSnapshot is generated directly (translation has its own tests), and fed to a real
// XdsServer with its production defaults (100 ms debounce, 1 s max delay, throttled full syncs).
//
//   npm run bench:xds                 # full: 1000 clients, 500 namespaces (50,000 pods), 60 s churn
//   npm run bench:xds -- --quick      # 200 clients, 100 namespaces (10,000 pods), 30 s churn
//   options: --clients N --namespaces N --seconds S --relabel-every S --procs N --json FILE
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { MeshSnapshot, Service, Workload } from '../src/mesh-api/types.js';
import { CertificateAuthority } from '../src/ca/authority.js';
import { NodeAuthority } from '../src/ca/node-auth.js';
import { MetricsRegistry } from '../src/lib/metrics.js';
import { XdsServer } from '../src/control-plane/xds-server.js';

const quick = process.argv.includes('--quick');
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const CLIENTS = arg('clients', quick ? 200 : 1000);
const NAMESPACES = arg('namespaces', quick ? 100 : 500);
const PODS = 100;
const CHURN_S = arg('seconds', quick ? 30 : 60);
const RELABEL_S = arg('relabel-every', quick ? 15 : 60);
const PROCS = arg('procs', Math.max(2, Math.min(4, os.cpus().length)));
const here = path.dirname(fileURLToPath(import.meta.url));

const ip = (n: number): string => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
let nextIp = 1 << 16;
const ipsOf = new Map<string, string>();
const podIp = (uid: string): string => {
  let v = ipsOf.get(uid);
  if (!v) ipsOf.set(uid, (v = ip(nextIp++)));
  return v;
};

const replicas = new Array<number>(NAMESPACES).fill(PODS);
const waypointOn = new Array<boolean>(NAMESPACES).fill(false);
const svcs: Service[] = [];
for (let n = 0; n < NAMESPACES; n++) svcs.push({ name: 'svc', namespace: `ns-${n}`, hostname: `svc.ns-${n}.svc.cluster.local`, addresses: [{ network: '', address: `10.96.${n >> 8}.${n & 255}` }], ports: [{ servicePort: 80, targetPort: 8080 }], subjectAltNames: [] });
/** Workload objects are reused while unchanged, as an incremental translator would. */
const cache = new Map<string, Workload>();

function workloadsOf(n: number): Workload[] {
  const ns = `ns-${n}`;
  const out: Workload[] = [];
  for (let i = 0; i < (replicas[n] ?? 0); i++) {
    const name = `svc-${i}`;
    const uid = `Kubernetes//Pod/${ns}/${name}`;
    const key = `${uid}|${waypointOn[n] ? 'w' : ''}`;
    let w = cache.get(key);
    if (!w) {
      w = {
        uid, name, namespace: ns, addresses: [podIp(uid)], network: '', tunnelProtocol: 'HBONE', trustDomain: '', serviceAccount: 'svc', node: `node-${(n * PODS + i) % CLIENTS}`,
        canonicalName: 'svc', canonicalRevision: 'v1', workloadType: 'DEPLOYMENT', workloadName: 'svc', nativeTunnel: false,
        services: { [`${ns}/svc.${ns}.svc.cluster.local`]: [{ servicePort: 80, targetPort: 8080 }] }, authorizationPolicies: [], status: 'HEALTHY', clusterId: 'Kubernetes',
        ...(waypointOn[n] ? { waypoint: { hostname: { namespace: ns, hostname: `waypoint.${ns}.svc.cluster.local` }, hboneMtlsPort: 15008 } } : {}),
      };
      cache.set(key, w);
    }
    out.push(w);
  }
  return out;
}

const perNs: Workload[][] = [];
for (let n = 0; n < NAMESPACES; n++) perNs.push(workloadsOf(n));
const snapshot = (): MeshSnapshot => ({ workloads: perNs.flat(), services: svcs, authorizations: [] });

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0) : 0;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-xds-'));
  const authority = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  const nodeAuth = NodeAuthority.open(path.join(dir, 'ca'));
  const tls = await authority.issueServerCert(['istiod.istio-system.svc'], ['127.0.0.1'], 3600);
  const metrics = new MetricsRegistry();
  const logs: string[] = [];
  const xds = new XdsServer({ nodeAuth, metrics, log: (m) => logs.push(m) });
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  xds.register(server);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.certChain), private_key: Buffer.from(tls.key) }], false), (e, p) => (e ? rej(e) : res(p))));

  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const pushed = new Promise<void>((r) => xds.once('pushed', () => r()));
  xds.updateSnapshot(snapshot());
  await pushed;
  console.error(`snapshot: ${NAMESPACES * PODS} workloads, ${NAMESPACES} services; ${CLIENTS} clients in ${PROCS} processes`);

  // Full sync of every client.
  const tokens = Array.from({ length: CLIENTS }, (_, i) => ({ node: `node-${i}`, token: nodeAuth.issueNodeToken(`node-${i}`) }));
  const syncMs: number[] = [];
  let closed = 0;
  const closedDetails: string[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  let allReady!: () => void;
  const ready = new Promise<void>((r) => (allReady = r));
  const children = Array.from({ length: PROCS }, (_, p) => {
    const child = fork(path.join(here, 'xds-scale-client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m: { ready?: string; ms?: number; closed?: string; details?: string }) => {
      if (m.ready) {
        syncMs.push(m.ms ?? 0);
        if (syncMs.length === CLIENTS) allReady();
      } else if (m.closed) {
        closed++;
        closedDetails.push(`${m.closed}: ${m.details ?? ''}`);
      }
    });
    child.send({ address: `127.0.0.1:${port}`, roots: authority.rootsPem, tokens: tokens.filter((_, i) => i % PROCS === p) });
    return child;
  });
  await ready;
  const fullSyncS = (Date.now() - t0) / 1000;
  const cpuSync = process.cpuUsage(cpu0);
  console.error(`full sync of ${CLIENTS} clients: ${fullSyncS.toFixed(1)} s`);
  const bytesAfterSync = metrics.render();
  const totalBytes = (): number => {
    let sum = 0;
    for (const line of metrics.render().split('\n')) if (line.startsWith('ambit_xds_pushed_bytes_total{')) sum += Number(line.split(' ')[1]);
    return sum;
  };
  const syncBytes = totalBytes();
  void bytesAfterSync;

  // Churn.
  const latencies: number[] = [];
  const changeAt = new Map<number, number>();
  let pendingChange: number | undefined;
  xds.on('pushed', (g) => {
    if (pendingChange !== undefined) changeAt.set(g, pendingChange);
    pendingChange = undefined;
  });
  xds.on('synced', (g) => {
    const at = changeAt.get(g);
    if (at !== undefined) latencies.push(Date.now() - at);
  });
  const cpu1 = process.cpuUsage();
  const tChurn = Date.now();
  let changes = 0;
  let relabels = 0;
  for (let s = 1; s <= CHURN_S; s++) {
    await sleep(tChurn + s * 1000 - Date.now());
    const n = Math.floor(Math.random() * NAMESPACES);
    replicas[n] = 85 + Math.floor(Math.random() * 31);
    perNs[n] = workloadsOf(n);
    if (s % RELABEL_S === 0) {
      const m = Math.floor(Math.random() * NAMESPACES);
      waypointOn[m] = !waypointOn[m];
      perNs[m] = workloadsOf(m);
      relabels++;
    }
    pendingChange ??= Date.now();
    xds.updateSnapshot(snapshot());
    changes++;
  }
  await sleep(3000); // let the last change settle
  const churnS = (Date.now() - tChurn) / 1000;
  const cpuChurn = process.cpuUsage(cpu1);
  const churnBytes = totalBytes() - syncBytes;
  clearInterval(rssTimer);
  const dropped = Number(/ambit_xds_dropped_clients_total\{[^}]*\} (\d+)/.exec(metrics.render())?.[1] ?? 0);

  const result = {
    preset: quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? '?',
    cpus: os.cpus().length,
    clients: CLIENTS,
    clientProcesses: PROCS,
    namespaces: NAMESPACES,
    workloads: NAMESPACES * PODS,
    churnSeconds: CHURN_S,
    changes,
    relabels,
    fullSync: { allClientsSeconds: fullSyncS, perClientP50Ms: pct(syncMs, 50), perClientP99Ms: pct(syncMs, 99), bytes: syncBytes, controlPlaneCpuSeconds: (cpuSync.user + cpuSync.system) / 1e6 },
    changeToAllAcked: { samples: latencies.length, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99), maxMs: pct(latencies, 100) },
    bytesPushedPerChange: Math.round(churnBytes / Math.max(1, changes)),
    bytesPushedPerChangePerClient: Math.round(churnBytes / Math.max(1, changes) / CLIENTS),
    controlPlaneCpuDuringChurn: { cpuSeconds: (cpuChurn.user + cpuChurn.system) / 1e6, utilisation: (cpuChurn.user + cpuChurn.system) / 1e6 / churnS },
    controlPlanePeakRssMB: Math.round(peakRss / 1024 / 1024),
    clientsDropped: dropped,
    streamsClosed: closed,
    note: 'Control plane = the benchmark process (XdsServer + snapshot generation); clients in child processes on the same machine share its CPUs.',
  };
  console.log(JSON.stringify(result, null, 2));
  if (closedDetails.length) console.error(`closed streams: ${closedDetails.slice(0, 5).join('; ')}`);
  const jsonAt = process.argv.indexOf('--json');
  const out = jsonAt >= 0 ? process.argv[jsonAt + 1]! : path.join(here, '..', '..', 'bench', 'results', `xds-scale-${result.preset}-${result.date.slice(0, 10)}.json`);
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.error(`wrote ${out}`);
  for (const c of children) c.kill();
  xds.close();
  server.forceShutdown();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

void main();
