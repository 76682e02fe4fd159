// `ambit analyze [-f FILE|DIR|- ...] [-A | -n NS] [-o json]`: runs the checks of src/analyze
// over files, the live cluster, or both (files overlay the cluster's objects, as with
// `istioctl analyze`). Exit code 1 if any finding is an Error; Warnings do not fail.
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { analyze, formatFinding, type Finding } from '../../analyze/index.js';
import { KubeApiError, type KubeClient } from '../../kube/kube-client.js';
import { pidAlive, readClusterInfo } from '../../local/cluster/lifecycle.js';
import { apiVersionOf, kindByApiVersionKind, KINDS } from '../../model/core/kinds.js';
import type { KubeObject } from '../../model/core/types.js';
import { validateObject } from '../../model/core/validate.js';
import type { Ctx } from '../context.js';
import { UsageError } from '../context.js';
import { listFiles, ManifestError } from '../manifest.js';
import { ANALYZE_FLAGS } from '../specs.js';

/** Kinds without a namespace, for objects whose kind the registry does not know. */
const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'GatewayClass', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);

interface FileObject {
  obj: KubeObject;
  source: string;
}

/**
 * Reads objects as they are written. Not readManifests: that rejects a whole file on the
 * first invalid object (and, before the mesh kinds were registered, every Istio kind),
 * while analyze must look at invalid and unknown objects too. Schema errors of registered
 * kinds become AMB016 findings instead.
 */
export function readObjects(targets: string[], defaultNs: string, stdin: () => string = () => fs.readFileSync(0, 'utf8')): { objects: FileObject[]; findings: Finding[] } {
  const objects: FileObject[] = [];
  const findings: Finding[] = [];
  const errors: string[] = [];
  for (const file of targets.flatMap(listFiles)) {
    const text = file === '-' ? stdin() : fs.readFileSync(file, 'utf8');
    parseAllDocuments(text, { prettyErrors: false }).forEach((doc, index) => {
      if ('errors' in doc && doc.errors.length) {
        errors.push(`${file}: document ${index}: YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
        return;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return;
      const v = value as { kind?: unknown; items?: unknown };
      const items: unknown[] = v.kind === 'List' && Array.isArray(v.items) ? v.items : [value];
      for (const item of items) {
        const o = item as Partial<KubeObject> | null;
        if (typeof o !== 'object' || o === null || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
          errors.push(`${file}: document ${index}: not a Kubernetes object (needs apiVersion, kind and metadata.name)`);
          continue;
        }
        const obj = structuredClone(o) as KubeObject;
        const info = kindByApiVersionKind(obj.apiVersion, obj.kind);
        if (info ? info.namespaced : !CLUSTER_SCOPED.has(obj.kind)) obj.metadata.namespace ??= defaultNs;
        if (info) {
          const r = validateObject(obj);
          if (!r.ok) {
            const where = `${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
            for (const e of r.errors) findings.push({ code: 'AMB016', level: 'Error', object: where, ...(e.path ? { path: e.path } : {}), message: `${file}: document ${index}: ${e.message}; ambit apply would reject this object. Fix the field.` });
          }
        }
        objects.push({ obj, source: file });
      }
    });
  }
  if (errors.length) throw new ManifestError(errors.join('\n'));
  return { objects, findings };
}

/** Every kind the API server serves, one version per kind; kinds it does not serve are skipped. */
async function listCluster(client: KubeClient): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  const seen = new Set<string>();
  for (const k of KINDS) {
    if (seen.has(`${k.group}/${k.kind}`)) continue;
    seen.add(`${k.group}/${k.kind}`);
    try {
      const items = (await client.list(k)).items;
      out.push(...items.map((o) => ({ ...o, apiVersion: o.apiVersion || apiVersionOf(k), kind: o.kind || k.kind })));
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) continue;
      throw e;
    }
  }
  return out;
}

const groupOf = (o: KubeObject): string => (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '');
const keyOf = (o: KubeObject): string => `${groupOf(o)}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

const inNamespace = (f: Finding, ns: string): boolean => f.object === `Namespace ${ns}` || (f.object.split(' ')[1] ?? '').startsWith(`${ns}/`);

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function analyzeCommand(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: ANALYZE_FLAGS });
  // istioctl also takes files as positionals: `istioctl analyze a.yaml b.yaml`.
  const files = [...(values.filename ?? []), ...positionals];
  if (values.output !== undefined && values.output !== 'json') throw new UsageError(`-o must be json (got '${values.output}')`);
  if (values.namespace !== undefined && values['all-namespaces']) throw new UsageError('-n and -A exclude each other');
  const ns = values.namespace;
  const note = (s: string): void => ctx.err(`${s}\n`);

  const read = files.length ? readObjects(files, ns ?? 'default') : { objects: [], findings: [] };
  const info = readClusterInfo(ctx.cluster);
  const running = info !== undefined && pidAlive(info.pids.controlPlane);
  let live: KubeObject[] = [];
  if (!files.length) {
    live = await listCluster(ctx.client()); // no cluster: the client says how to start one
  } else if (running) {
    try {
      live = await listCluster(ctx.client());
    } catch (e) {
      note(`note: cluster '${ctx.cluster}' did not answer (${(e as Error).message}); analyzing the files alone`);
    }
  }
  // Files overlay the cluster: an object in a file replaces its live version.
  const merged = new Map<string, KubeObject>();
  for (const o of live) merged.set(keyOf(o), o);
  for (const f of read.objects) merged.set(keyOf(f.obj), f.obj);
  const sources = [files.length ? plural(read.objects.length, 'object') + ` from ${plural(new Set(read.objects.map((f) => f.source)).size, 'file')}` : '', live.length || !files.length ? `cluster '${ctx.cluster}'` : ''].filter(Boolean).join(' and ');
  note(`analyzing ${sources}${files.length && !running ? ` (cluster '${ctx.cluster}' is not running: files alone)` : ''}`);

  let findings = [...read.findings, ...analyze([...merged.values()])];
  if (ns !== undefined) findings = findings.filter((f) => inNamespace(f, ns));
  const scope = ns !== undefined ? `namespace: ${ns}` : 'all namespaces';
  const errors = findings.filter((f) => f.level === 'Error').length;

  if (values.output === 'json') ctx.out(`${JSON.stringify(findings, null, 2)}\n`);
  else {
    for (const f of findings) ctx.out(`${formatFinding(f)}\n`);
    if (findings.length === 0) ctx.out(`\u2714 No validation issues found when analyzing ${scope}.\n`);
    else {
      const warnings = findings.filter((f) => f.level === 'Warning').length;
      const infos = findings.length - errors - warnings;
      ctx.out(`${errors ? 'Error' : 'Warning'}: analyzers found issues when analyzing ${scope}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}${infos ? `, ${infos} info` : ''}. See docs/analyze.md for causes and fixes.\n`);
    }
  }
  return errors ? 1 : 0;
}
