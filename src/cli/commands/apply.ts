// `ambit apply -f FILE|DIR|-` and `ambit delete -f ...`: create-or-update each object,
// namespaces first (and deleted last) so a single file can hold a whole app.
import { parseArgs } from 'node:util';
import { KubeApiError } from '../../kube/kube-client.js';
import { kindByApiVersionKind, type KindInfo } from '../../model/core/kinds.js';
import type { KubeObject } from '../../model/core/types.js';
import { meshWarnings } from '../../model/mesh/warnings.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../context.js';
import { readManifests, type ManifestDoc } from '../manifest.js';
import { APPLY_FLAGS } from '../specs.js';

// Within the cluster-scoped objects and within the namespaced ones, in this order; kinds not
// listed come after the listed ones. Ties keep document order (Array.prototype.sort is stable).
const ORDER = [
  'Namespace', 'ServiceAccount', 'ConfigMap', 'Service', 'Endpoints', 'Deployment', 'Pod',
  // Mesh config after the workloads it refers to; waypoints (Gateways) before what attaches to them.
  'Gateway', 'ServiceEntry', 'WorkloadEntry', 'DestinationRule', 'VirtualService', 'HTTPRoute', 'GRPCRoute',
  'PeerAuthentication', 'RequestAuthentication', 'AuthorizationPolicy',
];
/** Cluster-scoped objects (Namespaces first) before anything namespaced, so a namespace exists before what lives in it. */
function rank(d: ManifestDoc): number {
  const i = ORDER.indexOf(d.obj.kind);
  const clusterScoped = kindByApiVersionKind(d.obj.apiVersion, d.obj.kind)?.namespaced === false;
  return (clusterScoped ? 0 : ORDER.length + 1) + (i >= 0 ? i : ORDER.length);
}

const ref = (info: KindInfo, o: KubeObject): string => `${info.group ? `${info.singular}.${info.group}` : info.singular}/${o.metadata.name}`;

/** Fields the user manages: labels, annotations, spec (and the top-level data of Endpoints/SA). */
function desired(cur: KubeObject, want: KubeObject): KubeObject {
  const { status: _s, ...rest } = want;
  const next: KubeObject = { ...cur, ...rest, metadata: { ...cur.metadata, labels: want.metadata.labels ?? {}, annotations: want.metadata.annotations ?? {} } };
  if (!want.metadata.labels) delete next.metadata.labels;
  if (!want.metadata.annotations) delete next.metadata.annotations;
  // ClusterIP is allocated by the server; keep it unless the manifest sets one.
  if (cur.kind === 'Service') {
    const spec = { ...(want.spec as Record<string, unknown>) };
    const curSpec = cur.spec as Record<string, unknown>;
    spec['clusterIP'] ??= curSpec['clusterIP'];
    spec['clusterIPs'] ??= curSpec['clusterIPs'];
    next.spec = spec;
  }
  return next;
}

export async function applyCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: APPLY_FLAGS, allowPositionals: false });
  if (!values.filename?.length) throw new UsageError('apply needs -f FILE|DIR|- (e.g. ambit apply -f examples/demo)');
  const docs = readManifests(values.filename).sort((a, b) => rank(a) - rank(b));
  const client = ctx.client();
  let failed = 0;
  for (const d of docs) {
    const info = kindByApiVersionKind(d.obj.apiVersion, d.obj.kind)!;
    const obj = structuredClone(d.obj);
    if (info.namespaced) obj.metadata.namespace ??= values.namespace ?? 'default';
    // Valid but surprising config (an L7 rule a node tunnel drops): the same checks the server runs.
    const warn = (): void => {
      for (const w of meshWarnings(obj)) ctx.err(`Warning: ${d.source}: document ${d.index}: ${w.path}: ${w.message}\n`);
    };
    try {
      const cur = await client.getOrUndefined(info, obj.metadata.namespace, obj.metadata.name!);
      if (!cur) {
        await client.create(info, obj);
        ctx.out(`${ref(info, obj)} created\n`);
        warn();
        continue;
      }
      const next = desired(cur, obj);
      if (JSON.stringify(next) === JSON.stringify(cur)) {
        ctx.out(`${ref(info, obj)} unchanged\n`);
        warn();
        continue;
      }
      await client.update(info, next);
      ctx.out(`${ref(info, obj)} configured\n`);
      warn();
    } catch (e) {
      failed++;
      ctx.err(`error: ${d.source}: document ${d.index}: ${ref(info, obj)}: ${(e as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

export async function deleteFromFiles(ctx: Ctx, files: string[], ns: string | undefined, force: boolean, ignoreNotFound: boolean): Promise<number> {
  const docs = readManifests(files).sort((a, b) => rank(b) - rank(a));
  let failed = 0;
  for (const d of docs) {
    const info = kindByApiVersionKind(d.obj.apiVersion, d.obj.kind)!;
    const namespace = info.namespaced ? (d.obj.metadata.namespace ?? ns ?? 'default') : undefined;
    failed += await deleteOne(ctx, info, namespace, d.obj.metadata.name!, force, ignoreNotFound);
  }
  return failed ? 1 : 0;
}

export async function deleteOne(ctx: Ctx, info: KindInfo, ns: string | undefined, name: string, force: boolean, ignoreNotFound: boolean): Promise<number> {
  try {
    await ctx.client().delete(info, ns, name, force ? 0 : undefined);
    ctx.out(`${info.singular} "${name}" deleted\n`);
    return 0;
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 404 && ignoreNotFound) return 0;
    ctx.err(`error: ${(e as Error).message}\n`);
    return 1;
  }
}
