// BENCHMARKS.md sections for the control-plane benchmarks embedded in a run (bench/ca.ts and
// bench/xds-scale.ts write these objects). Their shape is read defensively: a field that is
// missing shows as '–', and an unrecognised result is shown as its JSON rather than dropped.
import { formatBytes, formatValue, mdCell, mdTable } from './format.js';
import type { BenchReport } from './types.js';

type Embedded = BenchReport['ca'];

function get(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

const num = (obj: unknown, path: string): number | undefined => {
  const v = get(obj, path);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};
const or = (v: number | undefined, f: (v: number) => string): string => (v === undefined ? '–' : f(v));
// Control-plane latencies run from ms to seconds: keep 3 significant figures at most.
const ms = (v: number | undefined): string => or(v, (x) => `${x >= 100 ? Math.round(x) : x >= 10 ? x.toFixed(1) : x.toFixed(2)} ms`);
const int = (v: number | undefined): string => or(v, (x) => formatValue('perSecond', x));

function header(e: Embedded): string[] | undefined {
  if (e === undefined) return ['Not run in this invocation.'];
  if (!e.ok) return [`**failed**: ${mdCell(e.error, 2000)}`];
  return undefined;
}

const rawJson = (result: unknown): string[] => ['The result was not in the expected shape; as recorded:', '', '```json', JSON.stringify(result, null, 2), '```'];

export function caSection(ca: Embedded): string[] {
  const out = ['## CA', ''];
  const h = header(ca);
  if (h) return [...out, ...h];
  const r = (ca as { ok: true; result: unknown }).result;
  const sign = get(r, 'sign');
  const cc = get(r, 'createCertificate');
  if (sign === undefined && cc === undefined) return [...out, ...rawJson(r)];
  const rows: string[][] = [];
  if (sign !== undefined) {
    rows.push([`\`CertificateAuthority.sign\`, sequential, one core (${int(num(sign, 'count'))} CSRs)`, `${or(num(sign, 'perSecond'), (x) => x.toFixed(1))} signatures/s`, ms(num(sign, 'p50Ms')), ms(num(sign, 'p99Ms'))]);
  }
  if (cc !== undefined) {
    const what = `\`CreateCertificate\` end to end, ${int(num(cc, 'concurrency'))} concurrent callers (${int(num(cc, 'requests'))} requests in ${or(num(cc, 'seconds'), (x) => x.toFixed(0))} s, ${int(num(cc, 'errors'))} errors)`;
    rows.push([what, `${int(num(cc, 'perSecond'))} certificates/s`, ms(num(cc, 'p50Ms')), ms(num(cc, 'p99Ms'))]);
  }
  return [
    ...out,
    ...mdTable(['Measure', 'Rate', 'p50', 'p99'], rows),
    '',
    '*sign*: a throwaway CA signs CSRs one after the other (parse and verify the CSR, sign an ECDSA P-256 SPIFFE leaf, append to the issuance ledger). ' +
      '*CreateCertificate*: the real CA server inside an in-process control plane, gRPC over TLS with a node JWT and `ImpersonatedIdentity`; ' +
      'callers share one HTTP/2 connection in a closed loop, so under saturation the latency is mostly queueing. CSRs are made before timing (`bench/ca.ts`).',
  ];
}

export function xdsSection(xds: Embedded): string[] {
  const out = ['## xDS push at scale', ''];
  const h = header(xds);
  if (h) return [...out, ...h];
  const r = (xds as { ok: true; result: unknown }).result;
  if (num(r, 'clients') === undefined && get(r, 'changeToAllAcked') === undefined) return [...out, ...rawJson(r)];
  const bytes = (v: number | undefined): string => or(v, formatBytes);
  const util = num(r, 'controlPlaneCpuDuringChurn.utilisation');
  const p99 = num(r, 'changeToAllAcked.p99Ms');
  const rss = num(r, 'controlPlanePeakRssMB');
  const dropped = num(r, 'clientsDropped');
  const preset = get(r, 'preset');
  const row = [
    `${typeof preset === 'string' ? preset : '–'} (${int(num(r, 'churnSeconds'))} s churn, ${int(num(r, 'changes'))} changes, ${int(num(r, 'relabels'))} relabels)`,
    int(num(r, 'clients')),
    int(num(r, 'workloads')),
    `${or(num(r, 'fullSync.allClientsSeconds'), (x) => `${x.toFixed(1)} s`)} (${bytes(num(r, 'fullSync.bytes'))})`,
    `${ms(num(r, 'changeToAllAcked.p50Ms'))} / ${ms(p99)}`,
    `${bytes(num(r, 'bytesPushedPerChange'))} (${bytes(num(r, 'bytesPushedPerChangePerClient'))} per client)`,
    or(util, (x) => `${Math.round(x * 100)} % of one core`),
    or(rss, (x) => `${Math.round(x)} MB`),
    int(dropped),
  ];
  // Issue #4's targets, judged here because they only exist in this result.
  const verdict = (ok: boolean | undefined): string => (ok === undefined ? 'not measured' : ok ? 'met' : '**NOT met**');
  const targets = [
    `change → all ACKed p99 ≤ 1 s: ${verdict(p99 === undefined ? undefined : p99 <= 1000)}`,
    `control-plane RSS ≤ 2 GB: ${verdict(rss === undefined ? undefined : rss <= 2048)}`,
    `0 clients dropped: ${verdict(dropped === undefined ? undefined : dropped === 0)}`,
  ];
  const note = get(r, 'note');
  return [
    ...out,
    'The ambient scale scenario against the real delta ADS server (`src/xds/server.ts`, production defaults): node clients are real gRPC/TLS streams in child processes, each ACKing every response; churn rescales one service per second and periodically relabels a namespace (`bench/xds-scale.ts`).',
    '',
    ...mdTable(['Preset', 'Clients', 'Workloads', 'Full sync, all clients', 'Change → all ACKed p50 / p99', 'Bytes per change (all clients)', 'CP CPU during churn', 'CP peak RSS', 'Dropped'], [row]),
    '',
    `Issue #4 targets: ${targets.join('; ')}.`,
    ...(typeof note === 'string' ? ['', mdCell(note, 2000)] : []),
  ];
}
