// `ambit tunnel-config workloads|services|policies|certificates|connections [--node N] [-o json]`
// and `ambit tunnel-config log [--level L] [--node N]`: what each node tunnel holds, read from
// its admin port (127.0.0.1, cluster.json `tunnelPorts`), like `istioctl ztunnel-config`.
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { ClusterError, DEFAULT_CLUSTER, pidAlive, readAdminToken, readClusterInfo, type ClusterInfo } from '../../local/cluster/lifecycle.js';
import { clusterPaths } from '../../local/cluster/paths.js';
import { LOG_LEVELS, parseLogLevel, type LogLevel } from '../../lib/log.js';
import type { ConfigDump } from '../../dataplane/admin/config-dump.js';
import { jsonFor, renderTunnelConfig, type TunnelConfigKind } from '../tunnel-config-print.js';
import { UsageError, type Ctx } from '../context.js';
import { KIND_FLAGS, LOG_FLAGS } from '../specs.js';

const TIMEOUT_MS = 5000;

interface Target {
  node: string;
  port: number;
}

function targets(cluster: string, info: ClusterInfo | undefined, node: string | undefined): Target[] {
  const up = cluster === DEFAULT_CLUSTER ? 'ambit cluster up' : `ambit cluster up --name ${cluster}`;
  if (!info) throw new ClusterError(`cluster '${cluster}' is not running (no ${clusterPaths(cluster).clusterFile}). Start it with: ${up}`);
  const nodes = Object.keys(info.pids.nodes);
  if (node !== undefined && !nodes.includes(node)) throw new UsageError(`no node '${node}' in cluster '${cluster}' (nodes: ${nodes.join(', ')})`);
  if (!info.tunnelPorts) throw new ClusterError(`cluster '${cluster}' was created without node tunnel admin ports; recreate it (ambit cluster down && ${up})`);
  return (node !== undefined ? [node] : nodes).map((n) => {
    const ports = info.tunnelPorts![n];
    if (!ports) throw new ClusterError(`no node tunnel admin port for ${n} in ${clusterPaths(cluster).clusterFile}`);
    return { node: n, port: ports.admin };
  });
}

async function call(cluster: string, info: ClusterInfo, t: Target, method: 'GET' | 'POST', pathAndQuery: string): Promise<string> {
  const pid = info.pids.tunnels?.[t.node];
  const logFile = path.join(clusterPaths(cluster).logs, `${t.node}-tunnel.log`);
  if (pid !== undefined && !pidAlive(pid)) throw new ClusterError(`the node tunnel on ${t.node} is not running (pid ${pid} is gone); see ${logFile}`);
  // The admin port wants the cluster's admin token (tokens.json is root's, like the cluster itself).
  const headers = { authorization: `Bearer ${readAdminToken(cluster)}` };
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${t.port}${pathAndQuery}`, { method, headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new ClusterError(`the node tunnel on ${t.node} does not answer on its admin port 127.0.0.1:${t.port} (${cause}); is it running? see ${logFile}`);
  }
  const body = await res.text();
  if (!res.ok) throw new ClusterError(`node tunnel on ${t.node}: ${method} ${pathAndQuery} → HTTP ${res.status}: ${body.trim()}`);
  return body;
}

/** Runs fn per target; failures are reported per node and make the exit code 1. */
async function each<T>(ctx: Ctx, ts: Target[], fn: (t: Target) => Promise<T>): Promise<{ ok: { t: Target; v: T }[]; failed: boolean }> {
  const results = await Promise.allSettled(ts.map(fn));
  const ok: { t: Target; v: T }[] = [];
  let failed = false;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') ok.push({ t: ts[i]!, v: r.value });
    else {
      failed = true;
      ctx.err(`error: ${(r.reason as Error).message}\n`);
    }
  });
  return { ok, failed };
}

export async function tunnelConfigKindCommand(ctx: Ctx, kind: TunnelConfigKind, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: KIND_FLAGS });
  const output = values.output;
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o must be table or json (got '${output}')`);
  const info = readClusterInfo(ctx.cluster);
  const ts = targets(ctx.cluster, info, values.node);
  const { ok, failed } = await each(ctx, ts, async (t) => JSON.parse(await call(ctx.cluster, info!, t, 'GET', '/config_dump')) as ConfigDump);
  const dumps = ok.map((r) => ({ ...r.v, node: r.v.node || r.t.node }));
  if (output === 'json') ctx.out(`${JSON.stringify(jsonFor(kind, dumps), null, 2)}\n`);
  else if (dumps.length) ctx.out(renderTunnelConfig(kind, dumps, Date.now(), { prefixNode: values.node === undefined }));
  return failed ? 1 : 0;
}

export async function tunnelConfigLogCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: LOG_FLAGS });
  let level: LogLevel | undefined;
  if (values.level !== undefined) {
    level = parseLogLevel(values.level);
    if (!level) throw new UsageError(`--level must be one of ${LOG_LEVELS.join(', ')} (got '${values.level}')`);
  }
  const info = readClusterInfo(ctx.cluster);
  const ts = targets(ctx.cluster, info, values.node);
  const { ok, failed } = await each(ctx, ts, async (t) => {
    const body = level ? await call(ctx.cluster, info!, t, 'POST', `/logging?level=${level}`) : await call(ctx.cluster, info!, t, 'GET', '/logging');
    return (JSON.parse(body) as { level: string }).level;
  });
  for (const r of ok) ctx.out(`${r.t.node}: ${level ? 'log level set to ' : 'log level '}${r.v}\n`);
  return failed ? 1 : 0;
}
