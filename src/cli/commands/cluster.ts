// `ambit cluster up|down|status|restart control-plane`.
import { parseArgs } from 'node:util';
import { clusterDown, clusterStatus, clusterUp, restartControlPlane } from '../../local/cluster/lifecycle.js';
import { clusterPaths } from '../../local/cluster/paths.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../context.js';
import { DOWN_FLAGS, NAME_FLAGS, UP_FLAGS } from '../specs.js';

const progress = (ctx: Ctx) => (m: string): void => ctx.err(`» ${m}\n`);

export async function clusterUpCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: UP_FLAGS });
  const name = values.name ?? ctx.cluster;
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1) throw new UsageError(`--nodes must be a whole number of at least 1 (got '${values.nodes}')`);
  const apiPort = values['api-port'] === undefined ? undefined : Number(values['api-port']);
  if (apiPort !== undefined && (!Number.isInteger(apiPort) || apiPort < 1 || apiPort > 65535)) throw new UsageError(`--api-port must be a port 1-65535 (got '${values['api-port']}')`);
  await clusterUp({ name, nodes, ...(apiPort !== undefined ? { apiPort } : {}), ...(values['trust-domain'] ? { trustDomain: values['trust-domain'] } : {}), progress: progress(ctx) });
  const flag = name === 'local' ? '' : ` --cluster ${name}`;
  ctx.out(`kubeconfig: ${clusterPaths(name).kubeconfig} (export KUBECONFIG=... to use kubectl)\n`);
  ctx.out(`next: ambit${flag} apply -f examples/demo; ambit${flag} get pods -A -o wide\n`);
  return 0;
}

export async function clusterDownCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: DOWN_FLAGS });
  await clusterDown({ name: values.name ?? ctx.cluster, force: !!values.force, progress: progress(ctx) });
  return 0;
}

export async function clusterStatusCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: NAME_FLAGS });
  const name = values.name ?? ctx.cluster;
  const st = await clusterStatus(name);
  if (!st.info) {
    ctx.out(`cluster '${name}' is not running\n`);
    return 1;
  }
  ctx.out(`cluster '${name}': API https://127.0.0.1:${st.info.apiPort} (control plane ${st.controlPlane ? 'running' : 'NOT RUNNING'})\n`);
  const restarts = (key: string): string => {
    const r = st.info!.restarts?.[key];
    return r ? ` (restarts ${r.count}, last ${r.lastAt}: ${r.lastReason})` : '';
  };
  if (restarts('control-plane')) ctx.out(`  control plane${restarts('control-plane')}\n`);
  for (const n of st.nodes) ctx.out(`  ${n.name}: agent ${n.agent ? 'running' : 'NOT RUNNING'}${restarts(`agent/${n.name}`)}, tunnel ${n.tunnelState}${restarts(`tunnel/${n.name}`)}, ${n.ready ? 'Ready' : 'NotReady'}\n`);
  ctx.out(`  state: ${st.paths.root}\n  kubeconfig: ${st.paths.kubeconfig}\n`);
  return st.controlPlane && st.nodes.every((n) => n.agent && n.tunnel && n.ready) ? 0 : 1;
}

export async function clusterRestartCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: NAME_FLAGS });
  if (positionals.length !== 1 || positionals[0] !== 'control-plane') throw new UsageError(`name what to restart: control-plane (got '${positionals.join(' ')}')`);
  await restartControlPlane(values.name ?? ctx.cluster, progress(ctx));
  return 0;
}
