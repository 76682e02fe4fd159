// `ambit exec` and `ambit logs`: run a command inside a pod's network namespace, read its log.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { podNetns } from '../../local/cluster/addressing.js';
import { clusterPaths, podLogPath } from '../../local/cluster/paths.js';
import { K } from '../../local/controllers/kinds.js';
import type { Pod } from '../../model/core/types.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../context.js';
import { EXEC_FLAGS, LOGS_FLAGS } from '../specs.js';

async function runningPod(ctx: Ctx, ns: string, name: string): Promise<Pod> {
  const pod = (await ctx.client().get(K.Pod, ns, name)) as Pod;
  if (!pod.status?.podIP) throw new UsageError(`pod ${ns}/${name} has no IP yet (status ${pod.status?.phase ?? 'Pending'}); wait for it: ambit get pods -n ${ns}`);
  return pod;
}

export async function execCommand(ctx: Ctx, args: string[]): Promise<number> {
  const dd = args.indexOf('--');
  if (dd < 0) throw new UsageError('put the command after --: ambit exec POD -- CMD [ARGS...]');
  const { values, positionals } = parseArgs({ args: args.slice(0, dd), allowPositionals: true, options: EXEC_FLAGS });
  const cmd = args.slice(dd + 1);
  const name = positionals[0];
  if (!name || cmd.length === 0) throw new UsageError(name ? 'give a command after --' : 'name the pod before --');
  const ns = values.namespace ?? 'default';
  const pod = await runningPod(ctx, ns, name);
  const netns = podNetns(ctx.cluster, pod.status!.podIP!);
  const env = { ...process.env, POD_NAME: name, POD_NAMESPACE: ns, POD_IP: pod.status!.podIP!, NODE_NAME: pod.spec.nodeName ?? '' };
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...cmd], { stdio: 'inherit', env });
    child.on('error', (e) => {
      ctx.err(`exec: ${e.message}\n`);
      resolve(126);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : 1)));
  });
}

export async function logsCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: LOGS_FLAGS });
  const name = positionals[0];
  if (!name) throw new UsageError('name the pod: ambit logs POD');
  const ns = values.namespace ?? 'default';
  await ctx.client().get(K.Pod, ns, name); // 404 with a clear message if it does not exist
  const file = podLogPath(clusterPaths(ctx.cluster), ns, name);
  let offset = 0;
  const dump = (): void => {
    if (!fs.existsSync(file)) return;
    const size = fs.statSync(file).size;
    if (size <= offset) return;
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    fs.closeSync(fd);
    offset = size;
    process.stdout.write(buf);
  };
  dump();
  if (!values.follow) return 0;
  return new Promise((resolve) => {
    const t = setInterval(dump, 250);
    process.once('SIGINT', () => {
      clearInterval(t);
      resolve(0);
    });
  });
}
