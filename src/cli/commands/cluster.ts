// `ambit cluster up|down|status`.
import { parseArgs } from 'node:util';
import { clusterDown, clusterStatus, clusterUp, restartControlPlane } from '../../cluster/lifecycle.js';
import { clusterPaths } from '../../cluster/paths.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../context.js';

export async function clusterCommand(ctx: Ctx, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { name: { type: 'string' }, nodes: { type: 'string' }, 'api-port': { type: 'string' }, 'trust-domain': { type: 'string' }, force: { type: 'boolean' } },
  });
  const name = values.name ?? ctx.cluster;
  const progress = (m: string): void => ctx.err(`» ${m}\n`);
  switch (sub) {
    case 'up': {
      const info = await clusterUp({ name, nodes: values.nodes ? Number(values.nodes) : 2, ...(values['api-port'] ? { apiPort: Number(values['api-port']) } : {}), ...(values['trust-domain'] ? { trustDomain: values['trust-domain'] } : {}), progress });
      const flag = name === 'local' ? '' : ` --cluster ${name}`;
      ctx.out(`kubeconfig: ${clusterPaths(name).kubeconfig} (export KUBECONFIG=... to use kubectl)\n`);
      ctx.out(`next: ambit${flag} apply -f examples/demo; ambit${flag} get pods -A -o wide\n`);
      void info;
      return 0;
    }
    case 'restart': {
      const what = rest.find((a) => !a.startsWith('-'));
      if (what !== 'control-plane') throw new UsageError('usage: ambit cluster restart control-plane');
      await restartControlPlane(name, progress);
      return 0;
    }
    case 'down':
      await clusterDown({ name, force: !!values.force, progress });
      return 0;
    case 'status': {
      const st = await clusterStatus(name);
      if (!st.info) {
        ctx.out(`cluster '${name}' is not running\n`);
        return 1;
      }
      ctx.out(`cluster '${name}': API https://127.0.0.1:${st.info.apiPort} (control plane ${st.controlPlane ? 'running' : 'NOT RUNNING'})\n`);
      for (const n of st.nodes) ctx.out(`  ${n.name}: agent ${n.agent ? 'running' : 'NOT RUNNING'}, tunnel ${n.tunnel ? 'running' : 'NOT RUNNING'}, ${n.ready ? 'Ready' : 'NotReady'}\n`);
      ctx.out(`  state: ${st.paths.root}\n  kubeconfig: ${st.paths.kubeconfig}\n`);
      return st.controlPlane && st.nodes.every((n) => n.agent && n.tunnel && n.ready) ? 0 : 1;
    }
    default:
      throw new UsageError('usage: ambit cluster up [--nodes N] [--name NAME] [--api-port P] [--trust-domain TD] | down [--force] | status | restart control-plane');
  }
}
