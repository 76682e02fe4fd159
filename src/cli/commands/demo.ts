// `ambit demo` (what `npm start` runs): bring up a 2-node cluster, apply examples/demo,
// send real traffic from the client pod, and show what happened and where to go next.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { podNetns } from '../../local/cluster/addressing.js';
import { clusterPaths } from '../../local/cluster/paths.js';
import { clusterUp, readClusterInfo, pidAlive } from '../../local/cluster/lifecycle.js';
import { K } from '../../local/controllers/kinds.js';
import { podIsReady, type Deployment, type Pod } from '../../model/core/types.js';
import type { Ctx } from '../context.js';
import { applyCommand } from './apply.js';
import { meshDemo } from './demo-mesh.js';
import { getCommand } from './resources.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const NS = 'demo';

async function waitReady(ctx: Ctx, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deps = (await ctx.client().list(K.Deployment, NS)).items as Deployment[];
    const pending = names.filter((n) => {
      const d = deps.find((x) => x.metadata.name === n);
      return !d || (d.status?.readyReplicas ?? 0) < (d.spec.replicas ?? 1);
    });
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`deployments not ready after ${timeoutMs / 1000}s: ${pending.join(', ')}; look at: ambit get pods -n ${NS} and ambit logs <pod> -n ${NS}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function inPod(cluster: string, ip: string, cmd: string[]): { code: number; out: string; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', podNetns(cluster, ip), ...cmd], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? 1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

export async function demoCommand(ctx: Ctx, args: string[]): Promise<number> {
  parseArgs({ args, options: {} }); // takes no arguments: refuse any
  const say = (s: string): void => ctx.out(`${s}\n`);
  const flag = ctx.cluster === 'local' ? '' : ` --cluster ${ctx.cluster}`;
  say('== Ambit demo: a 2-node local cluster made of network namespaces ==\n');
  const info = readClusterInfo(ctx.cluster);
  if (info && pidAlive(info.pids.controlPlane)) say(`cluster '${ctx.cluster}' is already up; reusing it`);
  else await clusterUp({ name: ctx.cluster, nodes: 2, progress: (m) => say(`  » ${m}`) });

  say(`\n$ ambit apply -f examples/demo`);
  if ((await applyCommand(ctx, ['-f', path.join(ROOT, 'examples', 'demo')])) !== 0) return 1;
  say('\nwaiting for the echo, client and legacy-client deployments to be ready...');
  await waitReady(ctx, ['echo', 'client', 'legacy-client'], 60_000);
  say(`\n$ ambit get pods -n ${NS} -o wide`);
  await getCommand(ctx, ['pods', '-n', NS, '-o', 'wide']);
  say(`\n$ ambit get services -n ${NS}`);
  await getCommand(ctx, ['services', '-n', NS]);

  const pods = (await ctx.client().list(K.Pod, NS)).items as Pod[];
  const client = pods.find((p) => p.metadata.labels?.['app'] === 'client' && podIsReady(p));
  if (!client?.status?.podIP) throw new Error('no ready client pod');
  const cname = client.metadata.name!;
  const url = `http://echo.${NS}.svc.cluster.local/`;
  say(`\n-- 6 requests from ${cname} (${client.status.podIP} on ${client.spec.nodeName}) to ${url}`);
  // Readiness reaches the node's service rules through Endpoints; wait until it has.
  const deadline = Date.now() + 15_000;
  while (inPod(ctx.cluster, client.status.podIP, ['curl', '-s', '-o', '/dev/null', '--max-time', '2', url]).code !== 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < 6; i++) {
    const r = inPod(ctx.cluster, client.status.podIP, ['curl', '-s', '--max-time', '5', url]);
    if (r.code !== 0) {
      say(`   request ${i + 1} failed: curl exit ${r.code} ${r.err.trim()}`);
      continue;
    }
    const body = JSON.parse(r.out) as { pod: string; node: string; podIP: string; client: { address: string } };
    seen.set(`${body.pod} on ${body.node}`, (seen.get(`${body.pod} on ${body.node}`) ?? 0) + 1);
    say(`   answered by ${body.pod} (${body.podIP}, ${body.node}); it saw the caller as ${body.client.address}`);
  }
  say(`   -> ${seen.size} echo pod(s) answered through the Service VIP; the caller's pod IP is preserved.`);

  say(`\n-- 3 s of constant-rate load (200 req/s, 1 KiB bodies) from ${cname} with ambit app load:`);
  const load = inPod(ctx.cluster, client.status.podIP, [path.join(readClusterBinDir(ctx), 'ambit'), 'app', 'load', '--url', url, '--rate', '200', '--duration', '3s', '--connections', '4', '--payload', '1024']);
  say(`   ${(load.out || load.err).trim()}`);

  await meshDemo(ctx, url);

  say(`
== What next ==
  ambit${flag} get pods -A -o wide                  everything that runs
  ambit${flag} exec ${cname} -n ${NS} -- curl -s ${url}
  ambit${flag} scale deployment/echo -n ${NS} --replicas 4 && ambit${flag} get endpoints -n ${NS}
  ambit${flag} logs <echo-pod> -n ${NS}
  less ${clusterPaths(ctx.cluster).logs}/node1-tunnel.log   what a node tunnel did (enrollment, HBONE tunnels, denials)
  ambit bench --quick                        the mesh vs plain TCP, stunnel, haproxy, wireguard-go: same path, same run
  KUBECONFIG=${clusterPaths(ctx.cluster).kubeconfig} kubectl get pods -A
  ambit${flag} cluster down                         remove every namespace, link and process
`);
  return 0;
}

function readClusterBinDir(ctx: Ctx): string {
  return clusterPaths(ctx.cluster).bin;
}
