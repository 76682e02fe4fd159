// `ambit get|delete|scale|label`: kubectl habits over the API server.
import { parseArgs } from 'node:util';
import { kindByUserName, KINDS_PREFERRED, type KindInfo } from '../../model/core/kinds.js';
import type { KubeObject } from '../../model/core/types.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../context.js';
import { renderObjects, renderTable } from '../print.js';
import { deleteFromFiles, deleteOne } from './apply.js';
import { DELETE_FLAGS, GET_FLAGS, LABEL_FLAGS, SCALE_FLAGS } from '../specs.js';

function kindArg(name: string | undefined): KindInfo {
  if (!name) throw new UsageError(`name a kind: ${KINDS_PREFERRED.map((k) => k.resource).join(', ')}`);
  const k = kindByUserName(name);
  if (!k) throw new UsageError(`unknown kind '${name}'; known: ${KINDS_PREFERRED.map((x) => (x.shortNames.length ? `${x.resource} (${x.shortNames.join(',')})` : x.resource)).join(', ')}`);
  return k;
}

/** Accepts `KIND NAME` and `KIND/NAME`. */
function kindAndName(pos: string[]): { info: KindInfo; name: string | undefined } {
  const first = pos[0] ?? '';
  if (first.includes('/')) {
    const [k, n] = first.split('/');
    return { info: kindArg(k), name: n };
  }
  return { info: kindArg(pos[0]), name: pos[1] };
}

export async function getCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: GET_FLAGS });
  const { info, name } = kindAndName(positionals);
  const out = values.output;
  if (out !== undefined && !['wide', 'yaml', 'json'].includes(out)) throw new UsageError(`-o must be wide, yaml or json (got '${out}')`);
  const all = !!values['all-namespaces'] && info.namespaced;
  const ns = info.namespaced ? (all ? undefined : (values.namespace ?? 'default')) : undefined;
  const client = ctx.client();
  let items: KubeObject[];
  if (name) items = [await client.get(info, ns, name)];
  else items = (await client.list(info, ns, values.selector ? { labelSelector: values.selector } : {})).items;
  if (out === 'yaml' || out === 'json') {
    ctx.out(renderObjects(items, out, !!name));
    return 0;
  }
  if (items.length === 0) {
    ctx.err(ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
    return 0;
  }
  ctx.out(renderTable(info, items, { wide: out === 'wide', allNamespaces: all }));
  return 0;
}

export async function deleteCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: DELETE_FLAGS });
  const force = !!values.force;
  const ign = !!values['ignore-not-found'];
  if (values.filename?.length) return deleteFromFiles(ctx, values.filename, values.namespace, force, ign);
  const { info, name } = kindAndName(positionals);
  if (!name) throw new UsageError('delete needs KIND NAME or -f FILE');
  const names = positionals[0]?.includes('/') ? [name] : positionals.slice(1);
  let failed = 0;
  for (const n of names) failed += await deleteOne(ctx, info, info.namespaced ? (values.namespace ?? 'default') : undefined, n, force, ign);
  return failed ? 1 : 0;
}

export async function scaleCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: SCALE_FLAGS });
  const { info, name } = kindAndName(positionals);
  if (info.kind !== 'Deployment' || !name) throw new UsageError(`scale works on one Deployment: deployment/NAME (got '${positionals.join(' ')}')`);
  const replicas = Number(values.replicas);
  if (values.replicas === undefined || !Number.isInteger(replicas) || replicas < 0) throw new UsageError('--replicas must be a non-negative integer');
  await ctx.client().patch(info, values.namespace ?? 'default', name, { spec: { replicas } }, 'scale');
  ctx.out(`deployment.apps/${name} scaled\n`);
  return 0;
}

export async function labelCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: LABEL_FLAGS });
  const { info, name } = kindAndName(positionals);
  if (!name) throw new UsageError('name the object to label: KIND NAME or KIND/NAME');
  const changes = positionals.slice(positionals[0]?.includes('/') ? 1 : 2);
  if (changes.length === 0) throw new UsageError('give at least one label: key=value to set, key- to remove');
  const ns = info.namespaced ? (values.namespace ?? 'default') : undefined;
  const cur = await ctx.client().get(info, ns, name);
  const labels: Record<string, string | null> = {};
  for (const c of changes) {
    if (c.endsWith('-') && !c.includes('=')) {
      labels[c.slice(0, -1)] = null;
      continue;
    }
    const eq = c.indexOf('=');
    if (eq <= 0) throw new UsageError(`'${c}' is not key=value or key-`);
    const k = c.slice(0, eq);
    const v = c.slice(eq + 1);
    const old = cur.metadata.labels?.[k];
    if (old !== undefined && old !== v && !values.overwrite) throw new UsageError(`'${k}' already has a value (${old}), and --overwrite is false`);
    labels[k] = v;
  }
  await ctx.client().patch(info, ns, name, { metadata: { labels } });
  ctx.out(`${info.singular}/${name} labeled\n`);
  return 0;
}
