// `ambit tunnel restart [--node N]`: rolling handoff of node tunnels, one node at a time.
import { parseArgs } from 'node:util';
import { readClusterInfo } from '../../local/cluster/lifecycle.js';
import { restartTunnel } from '../../local/cluster/tunnel-restart.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../context.js';
import { RESTART_FLAGS } from '../specs.js';

export async function tunnelRestartCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: RESTART_FLAGS });
  const nodes = values.node ? [values.node] : Object.keys(readClusterInfo(ctx.cluster)?.pids.nodes ?? {});
  if (nodes.length === 0) throw new UsageError(`cluster '${ctx.cluster}' is not running`);
  for (const node of nodes) {
    const r = await restartTunnel(ctx.cluster, node, (m) => ctx.err(`» ${m}\n`));
    ctx.out(`${node}: node tunnel pid ${r.oldPid} → ${r.newPid} (${r.handoffMs} ms)\n`);
  }
  return 0;
}
