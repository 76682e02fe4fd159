// CA benchmark (not a test): (1) CSR signatures per second, sequential CertificateAuthority.sign
// on one core; (2) CreateCertificate end to end through the real CA server (an in-process
// control plane: TLS gRPC, node-token auth, pod-on-node rule, ledger) under 32 concurrent
// callers. Writes bench/results/ca-<date>.json and prints a summary.
// Run: npm run build --silent && node dist/bench/ca.js [--requests 2000] [--seconds 20] [--sign-count 1000] [--json FILE]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { CertificateAuthority } from '../src/ca/authority.js';
import { istioCertificateService, type IstioCertificateResponse } from '../src/identity/ca-proto.js';
import { NodeAuthority } from '../src/ca/node-auth.js';
import { K } from '../src/local/controllers/kinds.js';
import { createCsr, generateKeyPair } from '../src/identity/x509.js';
import type { KubeObject } from '../src/model/core/types.js';
import { TestControlPlane } from '../test/unit/support/control-plane.js';

const TD = 'cluster.local';
const ID = `spiffe://${TD}/ns/bench/sa/client`;
const CONCURRENCY = 32;

const { values } = parseArgs({ options: { requests: { type: 'string' }, seconds: { type: 'string' }, 'sign-count': { type: 'string' }, json: { type: 'string' } } });
const maxRequests = Number(values.requests ?? 2000);
const maxSeconds = Number(values.seconds ?? 20);
const signCount = Number(values['sign-count'] ?? 1000);

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;

/** CSRs made up front, so only the CA's work is timed (ztunnel makes its key and CSR itself). */
async function csrs(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await createCsr(ID, await generateKeyPair()));
  return out;
}

async function benchSign(pool: string[]): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-sign-'));
  try {
    const ca = await CertificateAuthority.open(dir, { trustDomain: TD });
    for (let i = 0; i < 20; i++) await ca.sign(pool[i % pool.length]!, ID, 3600); // warm-up (JIT)
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < signCount; i++) {
      const s = performance.now();
      await ca.sign(pool[i % pool.length]!, ID, 3600);
      lat.push(performance.now() - s);
    }
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    return { count: signCount, seconds: round(secs, 3), perSecond: round(signCount / secs, 1), p50Ms: round(pct(lat, 50)), p99Ms: round(pct(lat, 99)) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function benchServer(pool: string[]): Promise<Record<string, number>> {
  const cp = await TestControlPlane.start('ambit-bench-ca-', { ca: { trustDomain: TD } });
  const svc = istioCertificateService();
  const method = svc['CreateCertificate']!;
  const client = new grpc.Client(`127.0.0.1:${cp.cp.caPort!}`, grpc.credentials.createSsl(Buffer.from(cp.cp.authority!.rootsPem)), { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' });
  try {
    const admin = cp.client();
    await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    await admin.create(K.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'client', namespace: 'bench' } });
    await admin.create(K.Node, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } } as KubeObject);
    await admin.create(K.Pod, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client-1', namespace: 'bench' }, spec: { containers: [{ name: 'app', command: ['sleep', 'infinity'] }], serviceAccountName: 'client', nodeName: 'node1' } } as KubeObject);
    const token = NodeAuthority.open(cp.caDir).issueNodeToken('node1');
    const call = (csr: string): Promise<IstioCertificateResponse> => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      const body = { csr, validity_duration: 3600, metadata: { fields: { ImpersonatedIdentity: { stringValue: ID } } } };
      return new Promise((resolve, reject) =>
        client.makeUnaryRequest(method.path, (m: object) => Buffer.from(method.requestSerialize(m)), (b: Buffer) => method.responseDeserialize(b) as IstioCertificateResponse, body, md, { deadline: Date.now() + 30_000 }, (err, res) =>
          err || !res ? reject(err ?? new Error('empty response')) : resolve(res),
        ),
      );
    };
    // Until the CA's pod informer has seen client-1, calls are refused (not_on_node).
    for (let i = 0; ; i++) {
      try {
        await call(pool[0]!);
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (let i = 0; i < 50; i++) await call(pool[i % pool.length]!); // warm-up
    const lat: number[] = [];
    let errors = 0;
    let next = 0;
    const deadline = performance.now() + maxSeconds * 1000;
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      while (next < maxRequests && performance.now() < deadline) {
        const i = next++;
        const s = performance.now();
        try {
          const r = await call(pool[i % pool.length]!);
          if (r.cert_chain.length < 2) errors++;
          lat.push(performance.now() - s);
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    return { concurrency: CONCURRENCY, requests: lat.length + errors, ok: lat.length, errors, seconds: round(secs, 3), perSecond: round(lat.length / secs, 1), p50Ms: round(pct(lat, 50)), p90Ms: round(pct(lat, 90)), p99Ms: round(pct(lat, 99)), maxMs: round(lat[lat.length - 1] ?? NaN) };
  } finally {
    client.close();
    await cp.destroy();
  }
}

const pool = await csrs(256);
const sign = await benchSign(pool);
console.log(`sign (sequential, one core): ${sign['perSecond']}/s, p50 ${sign['p50Ms']} ms, p99 ${sign['p99Ms']} ms over ${sign['count']}`);
const e2e = await benchServer(pool);
console.log(`CreateCertificate x${CONCURRENCY} concurrent: ${e2e['perSecond']}/s, p50 ${e2e['p50Ms']} ms, p99 ${e2e['p99Ms']} ms, ${e2e['ok']} ok / ${e2e['errors']} errors in ${e2e['seconds']} s`);

const cpus = os.cpus();
const result = {
  benchmark: 'ca',
  date: new Date().toISOString(),
  machine: { cpuModel: cpus[0]?.model ?? 'unknown', cores: cpus.length, memGiB: round(os.totalmem() / 2 ** 30, 1), node: process.version, platform: `${os.platform()} ${os.release()}` },
  params: { signCount, maxRequests, maxSeconds, concurrency: CONCURRENCY, csrPool: pool.length, ttlSeconds: 3600 },
  sign,
  createCertificate: e2e,
};
const file = values.json ?? path.join('bench', 'results', `ca-${result.date.slice(0, 10)}.json`);
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${file}`);
