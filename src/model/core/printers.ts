// Column definitions and cells per kind, shared by the API server's Table responses
// (what kubectl prints) and `ambit get`. Pure: `now` is passed in.
import { nodeIsReady, type Deployment, type Endpoints, type KubeObject, type NodeObject, type Pod, type Service } from './types.js';

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  /** 0 = always shown; 1 = only with -o wide. */
  priority: 0 | 1;
}

export interface TableSpec {
  columns: Column[];
  cells(obj: KubeObject, now: number): (string | number)[];
}

export function age(created: string | undefined, now: number): string {
  if (!created) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d`;
}

const col = (name: string, type: Column['type'] = 'string', priority: 0 | 1 = 0): Column => ({ name, type, priority });

export function podStatusText(pod: Pod): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  const cs = pod.status?.containerStatuses?.[0];
  if (cs?.state?.waiting?.reason) return cs.state.waiting.reason;
  if (cs?.state?.terminated) return cs.state.terminated.reason ?? 'Completed';
  return pod.status?.reason ?? pod.status?.phase ?? 'Pending';
}

function servicePorts(svc: Service): string {
  return (svc.spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') || '<none>';
}

function endpointsText(ep: Endpoints): string {
  const out: string[] = [];
  for (const s of ep.subsets ?? []) for (const a of s.addresses ?? []) for (const p of s.ports ?? []) out.push(`${a.ip}:${p.port}`);
  if (out.length === 0) return '<none>';
  return out.length > 3 ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...` : out.join(',');
}

const TABLES: Record<string, TableSpec> = {
  Pod: {
    columns: [col('Name'), col('Ready'), col('Status'), col('Restarts', 'integer'), col('Age'), col('IP', 'string', 1), col('Node', 'string', 1)],
    cells(o, now) {
      const p = o as Pod;
      const cs = p.status?.containerStatuses ?? [];
      const ready = cs.filter((c) => c.ready).length;
      const restarts = cs.reduce((n, c) => n + c.restartCount, 0);
      return [p.metadata.name!, `${ready}/${p.spec.containers.length}`, podStatusText(p), restarts, age(p.metadata.creationTimestamp, now), p.status?.podIP ?? '<none>', p.spec.nodeName ?? '<none>'];
    },
  },
  Deployment: {
    columns: [col('Name'), col('Ready'), col('Up-to-date', 'integer'), col('Available', 'integer'), col('Age'), col('Selector', 'string', 1)],
    cells(o, now) {
      const d = o as Deployment;
      const st = d.status ?? {};
      const sel = Object.entries(d.spec.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      return [d.metadata.name!, `${st.readyReplicas ?? 0}/${d.spec.replicas ?? 1}`, st.updatedReplicas ?? 0, st.availableReplicas ?? 0, age(d.metadata.creationTimestamp, now), sel];
    },
  },
  Service: {
    columns: [col('Name'), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), col('Age'), col('Selector', 'string', 1)],
    cells(o, now) {
      const s = o as Service;
      const sel = Object.entries(s.spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';
      return [s.metadata.name!, s.spec.type ?? 'ClusterIP', s.spec.clusterIP ?? '<none>', '<none>', servicePorts(s), age(s.metadata.creationTimestamp, now), sel];
    },
  },
  Endpoints: {
    columns: [col('Name'), col('Endpoints'), col('Age')],
    cells: (o, now) => [o.metadata.name!, endpointsText(o as Endpoints), age(o.metadata.creationTimestamp, now)],
  },
  Namespace: {
    columns: [col('Name'), col('Status'), col('Age'), col('Labels', 'string', 1)],
    cells: (o, now) => [
      o.metadata.name!,
      ((o.status as { phase?: string } | undefined)?.phase) ?? 'Active',
      age(o.metadata.creationTimestamp, now),
      Object.entries(o.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>',
    ],
  },
  Node: {
    columns: [col('Name'), col('Status'), col('Roles'), col('Age'), col('Version'), col('Internal-IP', 'string', 1), col('Pod-CIDR', 'string', 1)],
    cells: (o, now) => {
      const n = o as NodeObject;
      return [n.metadata.name!, nodeIsReady(n) ? 'Ready' : 'NotReady', '<none>', age(n.metadata.creationTimestamp, now), 'ambit', n.status?.addresses?.[0]?.address ?? '<none>', n.spec?.podCIDR ?? '<none>'];
    },
  },
  ConfigMap: {
    columns: [col('Name'), col('Data', 'integer'), col('Age')],
    cells: (o, now) => [o.metadata.name!, Object.keys((o as { data?: Record<string, string> }).data ?? {}).length, age(o.metadata.creationTimestamp, now)],
  },
  ServiceAccount: {
    columns: [col('Name'), col('Secrets', 'integer'), col('Age')],
    cells: (o, now) => [o.metadata.name!, 0, age(o.metadata.creationTimestamp, now)],
  },
};

// Mesh kinds: the columns Istio's and Gateway API's CRDs print (additionalPrinterColumns).
type Spec = Record<string, unknown>;
const specOf = (o: KubeObject): Spec => (o.spec && typeof o.spec === 'object' ? (o.spec as Spec) : {});
const list = (v: unknown): string => (Array.isArray(v) && v.length ? JSON.stringify(v) : '');
const meshTable = (extra: [Column, (s: Spec, o: KubeObject) => string | number][]): TableSpec => ({
  columns: [col('Name'), ...extra.map(([c]) => c), col('Age')],
  cells: (o, now) => [o.metadata.name!, ...extra.map(([, f]) => f(specOf(o), o)), age(o.metadata.creationTimestamp, now)],
});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const condition = (o: KubeObject, type: string): string =>
  str(((o.status as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === type)?.status) || 'Unknown';

Object.assign(TABLES, {
  AuthorizationPolicy: meshTable([[col('Action'), (s) => str(s['action']) || 'ALLOW']]),
  PeerAuthentication: meshTable([[col('Mode'), (s) => str((s['mtls'] as Spec | undefined)?.['mode'])]]),
  RequestAuthentication: meshTable([]),
  ServiceEntry: meshTable([
    [col('Hosts'), (s) => list(s['hosts'])],
    [col('Location'), (s) => str(s['location'])],
    [col('Resolution'), (s) => str(s['resolution'])],
  ]),
  WorkloadEntry: meshTable([[col('Address'), (s) => str(s['address'])]]),
  DestinationRule: meshTable([[col('Host'), (s) => str(s['host'])]]),
  VirtualService: meshTable([
    [col('Gateways'), (s) => list(s['gateways'])],
    [col('Hosts'), (s) => list(s['hosts'])],
  ]),
  Gateway: meshTable([
    [col('Class'), (s) => str(s['gatewayClassName'])],
    [col('Address'), (_s, o) => str((o.status as { addresses?: { value?: string }[] } | undefined)?.addresses?.[0]?.value)],
    [col('Programmed'), (_s, o) => condition(o, 'Programmed')],
  ]),
  HTTPRoute: meshTable([[col('Hostnames'), (s) => list(s['hostnames'])]]),
  GRPCRoute: meshTable([[col('Hostnames'), (s) => list(s['hostnames'])]]),
} satisfies Record<string, TableSpec>);

export function tableFor(kind: string): TableSpec {
  return TABLES[kind] ?? { columns: [col('Name'), col('Age')], cells: (o, now) => [o.metadata.name!, age(o.metadata.creationTimestamp, now)] };
}
