// Builders for translation tests: cluster objects, multi-document YAML → TranslateInput, and an
// end-to-end "translate, then decide this connection" helper.
import { parseAllDocuments } from 'yaml';
import type { Workload } from '../../../src/mesh-api/types.js';
import { evaluate, type Connection, type Decision } from '../../../src/authz/evaluate.js';
import type { z } from 'zod';
import { authorizationPolicySchema } from '../../../src/model/mesh/authorization-policy.js';
import { gatewaySchema } from '../../../src/model/mesh/gateway.js';
import { grpcRouteSchema } from '../../../src/model/mesh/grpc-route.js';
import { httpRouteSchema } from '../../../src/model/mesh/http-route.js';
import { peerAuthenticationSchema } from '../../../src/model/mesh/peer-authentication.js';
import { serviceEntrySchema } from '../../../src/model/mesh/service-entry.js';
import { workloadEntrySchema } from '../../../src/model/mesh/workload-entry.js';
import { translate, type TranslateInput, type TranslateResult } from '../../../src/control-plane/translate/snapshot.js';
import type { Namespace, NodeObject, ObjectMeta, OwnerReference, Pod, Service } from '../../../src/model/core/types.js';

export interface PodOpts {
  labels?: Record<string, string>;
  ip?: string;
  ready?: boolean;
  sa?: string;
  node?: string;
  ports?: { name?: string; containerPort: number }[];
  owner?: Partial<OwnerReference> & { kind: string; name: string };
  terminating?: boolean;
  annotations?: Record<string, string>;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
}

let ipSeq = 10;
export function pod(ns: string, name: string, o: PodOpts = {}): Pod {
  const ip = 'ip' in o ? o.ip : `10.0.1.${ipSeq++}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: o.labels ?? { app: name },
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', uid: 'u', controller: true, ...o.owner }] } : {}),
      ...(o.terminating ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    spec: { containers: [{ name: 'app', ports: o.ports ?? [] }], serviceAccountName: o.sa ?? 'default', nodeName: o.node ?? 'node1' },
    status: {
      phase: o.phase ?? 'Running',
      ...(ip ? { podIP: ip } : {}),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

export const namespace = (name: string, labels: Record<string, string> = {}): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

export function service(
  ns: string,
  name: string,
  selector: Record<string, string> | undefined,
  ports: Service['spec']['ports'],
  o: { clusterIP?: string; labels?: Record<string, string>; spec?: Partial<Service['spec']> } = {},
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, ...(o.labels ? { labels: o.labels } : {}) },
    spec: { ...(selector ? { selector } : {}), ports: ports ?? [], clusterIP: o.clusterIP ?? '10.96.0.10', ...o.spec },
  };
}

/** A Node with topology labels (region, zone, subzone; empty ones left out). */
export function node(name: string, region = '', zone = '', subzone = ''): NodeObject {
  const labels: Record<string, string> = { 'kubernetes.io/hostname': name };
  if (region) labels['topology.kubernetes.io/region'] = region;
  if (zone) labels['topology.kubernetes.io/zone'] = zone;
  if (subzone) labels['topology.istio.io/subzone'] = subzone;
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } };
}

/** The annotation the node agent writes once it has captured a pod. */
export const CAPTURED = { 'ambient.istio.io/redirection': 'enabled' };

type Bucketed = Required<Omit<TranslateInput, 'clusterId' | 'trustDomain' | 'rootNamespace'>>;

/** One fixture document through its kind's schema (fixtures are valid objects), typed as the model types it. */
function parsed<T extends { metadata: Omit<ObjectMeta, 'creationTimestamp'> & { creationTimestamp?: string | null } }>(schema: z.ZodType<T>, o: unknown): Omit<T, 'metadata'> & { metadata: ObjectMeta } {
  const r = schema.safeParse(o);
  if (!r.success) throw new Error(`fixture is not a valid object: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  // The schema admits a null creationTimestamp (as the API server does); ObjectMeta leaves it out instead.
  const { creationTimestamp, ...meta } = r.data.metadata;
  return { ...r.data, metadata: { ...meta, ...(creationTimestamp != null ? { creationTimestamp } : {}) } };
}

/** Multi-document YAML → the input buckets, by kind. */
export function fromYaml(text: string): Bucketed {
  const out: Bucketed = { pods: [], namespaces: [], services: [], nodes: [], serviceEntries: [], workloadEntries: [], authorizationPolicies: [], peerAuthentications: [], gateways: [], httpRoutes: [], grpcRoutes: [] };
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as { kind?: string; metadata: { namespace?: string } } | null;
    if (!o) continue;
    o.metadata.namespace ??= 'default';
    switch (o.kind) {
      case 'AuthorizationPolicy':
        out.authorizationPolicies = [...out.authorizationPolicies, parsed(authorizationPolicySchema, o)];
        break;
      case 'PeerAuthentication':
        out.peerAuthentications = [...out.peerAuthentications, parsed(peerAuthenticationSchema, o)];
        break;
      case 'ServiceEntry':
        out.serviceEntries = [...out.serviceEntries, parsed(serviceEntrySchema, o)];
        break;
      case 'WorkloadEntry':
        out.workloadEntries = [...out.workloadEntries, parsed(workloadEntrySchema, o)];
        break;
      case 'Gateway':
        out.gateways = [...out.gateways, parsed(gatewaySchema, o)];
        break;
      case 'HTTPRoute':
        out.httpRoutes = [...out.httpRoutes, parsed(httpRouteSchema, o)];
        break;
      case 'GRPCRoute':
        out.grpcRoutes = [...out.grpcRoutes, parsed(grpcRouteSchema, o)];
        break;
      default:
        throw new Error(`fixture: unexpected kind ${String(o.kind)}`);
    }
  }
  return out;
}

export interface World {
  pods?: Pod[];
  namespaces?: Namespace[];
  services?: Service[];
  nodes?: NodeObject[];
  /** Mesh config; each document must pass its kind's schema. */
  yaml?: string;
  /**
   * Mesh objects the schema refuses but whose shape is typed (a refinement fails), as an API server
   * without Ambit's validation could still hand them to translation.
   */
  unvalidated?: Partial<Pick<Bucketed, 'authorizationPolicies' | 'peerAuthentications'>>;
}

export function run(w: World): TranslateResult {
  const y = fromYaml(w.yaml ?? '');
  const u = w.unvalidated ?? {};
  y.authorizationPolicies = [...y.authorizationPolicies, ...(u.authorizationPolicies ?? [])];
  y.peerAuthentications = [...y.peerAuthentications, ...(u.peerAuthentications ?? [])];
  return translate({ ...y, pods: w.pods ?? [], namespaces: w.namespaces ?? [], services: w.services ?? [], nodes: w.nodes ?? [], clusterId: 'Kubernetes' });
}

export function workloadNamed(r: TranslateResult, name: string): Workload {
  const w = r.snapshot.workloads.find((x) => x.name === name);
  if (!w) throw new Error(`no workload ${name}`);
  return w;
}

/** A connection to pod `to`: plaintext unless `from` names a peer (`ns/sa`). */
export function decide(r: TranslateResult, to: string, port: number, from?: string, srcIp = '10.0.2.5'): Decision {
  const dest = workloadNamed(r, to);
  const conn: Connection = { srcIp, dstIp: dest.addresses[0] ?? '', dstPort: port };
  if (from) {
    const [ns = '', sa = ''] = from.split('/');
    conn.identity = { trustDomain: 'cluster.local', namespace: ns, serviceAccount: sa };
  }
  return evaluate(r.snapshot.authorizations, dest, conn);
}
