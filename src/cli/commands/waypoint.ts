// `ambit waypoint ...`, with istioctl waypoint's habits: apply (a Gateway of class
// istio-waypoint, optionally enrolling the namespace), list, status, delete; and `waypoint run`,
// the process a waypoint pod runs.
import { parseArgs } from 'node:util';
import { KubeApiError } from '../../kube/kube-client.js';
import { parseDuration } from '../../lib/duration.js';
import { AmbitError } from '../../lib/errors.js';
import { logger, setLogLevel } from '../../lib/log.js';
import { K } from '../../model/core/kind-handles.js';
import { KINDS, type KindInfo } from '../../model/core/kinds.js';
import type { KubeObject } from '../../model/core/types.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../context.js';
import { WAYPOINT_FLAGS } from '../specs.js';
import { table } from '../tunnel-config-print.js';
import { shutdown, untilSignal } from './daemon-lifecycle.js';

const GATEWAY: KindInfo = KINDS.find((k) => k.kind === 'Gateway' && k.version === 'v1')!;
export const WAYPOINT_CLASS = 'istio-waypoint';
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
export const WAYPOINT_FOR_LABEL = 'istio.io/waypoint-for';
const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
const TRAFFIC_TYPES = ['service', 'workload', 'all', 'none'];

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface GatewayStatus {
  addresses?: { type?: string; value: string }[];
  conditions?: Condition[];
}

const statusOf = (gw: KubeObject): GatewayStatus => (gw.status ?? {}) as GatewayStatus;
const condition = (gw: KubeObject, type: string): Condition | undefined => statusOf(gw).conditions?.find((c) => c.type === type);
const programmed = (gw: KubeObject): boolean => condition(gw, 'Programmed')?.status === 'True';
const isWaypoint = (o: KubeObject): boolean => (o.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName === WAYPOINT_CLASS;

/** The Gateway `istioctl waypoint apply` makes; the traffic-type label only when asked for (istiod defaults to service). */
export function waypointGateway(ns: string, name: string, trafficType: string | undefined): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace: ns, ...(trafficType ? { labels: { [WAYPOINT_FOR_LABEL]: trafficType } } : {}) },
    spec: { gatewayClassName: WAYPOINT_CLASS, listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  };
}

export async function waypointApplyCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: WAYPOINT_FLAGS.apply, allowPositionals: true });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'; name the waypoint with --name`);
  const ns = values.namespace ?? 'default';
  const name = values.name ?? 'waypoint';
  if (name === 'none') throw new UsageError("--name none: 'none' is reserved (istio.io/use-waypoint=none opts a workload out)");
  const trafficType = values.for;
  if (trafficType !== undefined && !TRAFFIC_TYPES.includes(trafficType)) throw new UsageError(`--for ${trafficType}: want one of ${TRAFFIC_TYPES.join(', ')}`);
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout ?? '90s');
  } catch {
    throw new UsageError(`--timeout ${values.timeout}: not a duration (e.g. 90s, 2m)`);
  }
  const client = ctx.client();
  const nsObj = await client.getOrUndefined(K.Namespace, undefined, ns);
  if (!nsObj) throw new AmbitError('AMBIT_E_API_NOT_FOUND', `namespace ${ns} does not exist`, { hint: 'create it first (ambit apply -f a Namespace manifest), or pass -n with an existing namespace' });
  const enroll = values['enroll-namespace'] ?? false;
  if (enroll) {
    const current = nsObj.metadata.labels?.[USE_WAYPOINT_LABEL];
    // istioctl: an enrolled namespace is only moved to another waypoint with --overwrite (a warning, not an error).
    if (current !== undefined && current !== name && !values.overwrite) {
      ctx.err(`warning: namespace ${ns} already uses waypoint ${current}; add --overwrite to enroll it with ${name}\n`);
      return 0;
    }
    if (nsObj.metadata.labels?.['istio.io/dataplane-mode'] !== 'ambient') ctx.err(`warning: namespace ${ns} is not in the mesh; consider: ambit label namespace ${ns} istio.io/dataplane-mode=ambient\n`);
  }
  const want = waypointGateway(ns, name, trafficType);
  const cur = await client.getOrUndefined(GATEWAY, ns, name);
  if (!cur) await client.create(GATEWAY, want);
  else {
    if (!isWaypoint(cur)) throw new AmbitError('AMBIT_E_API_ALREADY_EXISTS', `Gateway ${ns}/${name} exists and is not a waypoint (class ${(cur.spec as { gatewayClassName?: string }).gatewayClassName})`, { hint: 'pick another --name' });
    // A merge patch, not an update: the waypoint controller writes the status concurrently.
    await client.patch(GATEWAY, ns, name, { ...(want.metadata.labels ? { metadata: { labels: want.metadata.labels } } : {}), spec: want.spec });
  }
  ctx.out(`waypoint ${ns}/${name} applied\n`);
  if (values.wait) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const gw = await client.getOrUndefined(GATEWAY, ns, name);
      if (gw && programmed(gw)) break;
      if (Date.now() > deadline) {
        const c = gw && condition(gw, 'Programmed');
        throw new AmbitError('AMBIT_E_CLUSTER_START_FAILED', `waypoint ${ns}/${name} is not programmed after ${timeoutMs / 1000}s${c ? `: ${c.reason}: ${c.message}` : ''}`, { hint: `see ambit waypoint status -n ${ns} --name ${name} and the waypoint pod's log (ambit logs -n ${ns} POD)` });
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    ctx.out(`waypoint ${ns}/${name} is ready!\n`);
  }
  // Enrolled last, as istioctl does: the services move to the waypoint once it is there.
  if (enroll) {
    await client.patch(K.Namespace, undefined, ns, { metadata: { labels: { [USE_WAYPOINT_LABEL]: name } } });
    ctx.out(`namespace ${ns} labeled with "${USE_WAYPOINT_LABEL}: ${name}"\n`);
  }
  return 0;
}

// istioctl's columns; an unset traffic type shows as none, as istioctl prints it (istiod serves it as service).
const gatewayRow = (gw: KubeObject): string[] => [gw.metadata.name!, gw.metadata.labels?.['istio.io/rev'] ?? 'default', gw.metadata.labels?.[WAYPOINT_FOR_LABEL] ?? 'none', condition(gw, 'Programmed')?.status ?? 'False'];

export async function waypointListCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: WAYPOINT_FLAGS.list, allowPositionals: true });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const all = values['all-namespaces'] ?? false;
  const ns = values.namespace ?? 'default';
  const gws = (await ctx.client().list(GATEWAY, all ? undefined : ns)).items.filter(isWaypoint);
  if (!gws.length) {
    ctx.out('No waypoints found.\n');
    return 0;
  }
  gws.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  const header = ['NAME', 'REVISION', 'TRAFFIC TYPE', 'PROGRAMMED'];
  ctx.out(table(all ? ['NAMESPACE', ...header] : header, gws.map((g) => (all ? [g.metadata.namespace!, ...gatewayRow(g)] : gatewayRow(g)))));
  return 0;
}

/** Services that use the waypoint: their own label names it, or their namespace's does and they have none. */
export function boundServices(waypoint: string, nsLabels: Record<string, string> | undefined, services: readonly KubeObject[]): string[] {
  const byNs = nsLabels?.[USE_WAYPOINT_LABEL] === waypoint;
  return services
    .filter((s) => {
      const own = s.metadata.labels?.[USE_WAYPOINT_LABEL];
      return own === waypoint || (own === undefined && byNs && s.metadata.labels?.[GATEWAY_NAME_LABEL] === undefined);
    })
    .map((s) => s.metadata.name!)
    .sort();
}

export async function waypointStatusCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: WAYPOINT_FLAGS.status, allowPositionals: true });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'; name the waypoint with --name`);
  const ns = values.namespace ?? 'default';
  const client = ctx.client();
  let gws = (await client.list(GATEWAY, ns)).items.filter(isWaypoint);
  if (values.name) {
    gws = gws.filter((g) => g.metadata.name === values.name);
    if (!gws.length) throw new AmbitError('AMBIT_E_API_NOT_FOUND', `no waypoint ${values.name} in namespace ${ns}`, { hint: `list them: ambit waypoint list -n ${ns}` });
  }
  if (!gws.length) {
    ctx.out(`No waypoints found in namespace ${ns}.\n`);
    return 0;
  }
  const [nsObj, services, pods] = await Promise.all([client.getOrUndefined(K.Namespace, undefined, ns), client.list(K.Service, ns), client.list(K.Pod, ns)]);
  let notReady = 0;
  for (const gw of gws) {
    const name = gw.metadata.name!;
    const mine = pods.items.filter((p) => p.metadata.labels?.[GATEWAY_NAME_LABEL] === name && !p.metadata.deletionTimestamp);
    const ready = mine.filter((p) => ((p.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
    if (!programmed(gw)) notReady++;
    const bound = boundServices(name, nsObj?.metadata.labels, services.items);
    const lines = [
      `waypoint ${ns}/${name} (for ${gw.metadata.labels?.[WAYPOINT_FOR_LABEL] ?? 'service'})`,
      `  pods:       ${ready.length}/${mine.length} ready${mine.length ? ` (${mine.map((p) => p.metadata.name).join(', ')})` : ''}`,
      `  addresses:  ${(statusOf(gw).addresses ?? []).map((a) => a.value).join(', ') || '<none>'}`,
      ...(statusOf(gw).conditions ?? []).map((c) => `  ${`${c.type}:`.padEnd(11)} ${c.status} ${c.reason ?? ''}${c.message ? ` (${c.message})` : ''}`),
      `  services:   ${bound.join(', ') || '<none>'}`,
    ];
    ctx.out(`${lines.join('\n')}\n`);
  }
  return notReady ? 1 : 0;
}

export async function waypointDeleteCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: WAYPOINT_FLAGS.delete, allowPositionals: true });
  const ns = values.namespace ?? 'default';
  if (values.all && positionals.length) throw new UsageError('give waypoint names or --all, not both');
  if (!values.all && !positionals.length) throw new UsageError('name the waypoints to delete, or pass --all');
  const client = ctx.client();
  const names = values.all ? (await client.list(GATEWAY, ns)).items.filter(isWaypoint).map((g) => g.metadata.name!) : positionals;
  let failed = 0;
  for (const name of names) {
    const gw = await client.getOrUndefined(GATEWAY, ns, name);
    if (!gw || !isWaypoint(gw)) {
      ctx.err(`waypoint ${ns}/${name} not found\n`);
      failed++;
      continue;
    }
    await client.delete(GATEWAY, ns, name).catch((e: unknown) => {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e;
    });
    ctx.out(`waypoint ${ns}/${name} deleted\n`);
  }
  return failed ? 1 : 0;
}

export async function waypointRunCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { loadWaypointConfig } = await import('../../waypoint/config.js');
  const { startWaypointDaemon } = await import('../../waypoint/daemon.js');
  const cfg = loadWaypointConfig(args, env);
  if (cfg instanceof Error) throw cfg;
  setLogLevel(cfg.logLevel);
  const log = logger('waypoint');
  const d = startWaypointDaemon(cfg, { log, accessLog: (line) => process.stdout.write(`${line}\n`) });
  log(`waypoint ${cfg.podNamespace}/${cfg.waypointName} (pod ${cfg.podName}, ${d.identity}) starting; control plane ${cfg.xdsAddress}`);
  const sig = await untilSignal();
  log(`${sig}: draining`);
  return shutdown(log, 5000, async () => {
    await d.close();
    log('stopped');
  });
}
