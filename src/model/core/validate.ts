// Validation entry point: returns path-qualified errors (`spec.ports[1].targetPort: ...`). Pure.
import type { z } from 'zod';
import { kindByApiVersionKind, KINDS, apiVersionOf } from './kinds.js';
import { schemaFor } from '../schemas.js';
import type { KubeObject } from './types.js';

export interface FieldError {
  path: string;
  message: string;
}

export type ValidationResult = { ok: true; value: KubeObject } | { ok: false; errors: FieldError[] };

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function zodErrors(error: z.ZodError): FieldError[] {
  const out: FieldError[] = [];
  // A misspelt field also makes refinements of its object complain (`must set at least one
  // field`); the unknown field is the cause, so only it is reported for that object.
  const unknownAt = new Set(error.issues.filter((i) => i.code === 'unrecognized_keys').map((i) => formatPath(i.path)));
  for (const issue of error.issues) {
    if (issue.code === 'custom' && unknownAt.has(formatPath(issue.path))) continue;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key]), message: 'unknown field' });
    } else if (issue.code === 'invalid_key' && issue.issues[0]) {
      // A record key failed its own schema (a bad label key): report that schema's rule,
      // not zod's generic "Invalid key in record".
      out.push({ path: formatPath(issue.path), message: issue.issues[0].message });
    } else if (issue.code === 'invalid_union' && issue.message === 'Invalid input') {
      out.push({ path: formatPath(issue.path), message: 'has an invalid value' });
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}

export function validateObject(input: unknown): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ path: '', message: 'must be a mapping (a Kubernetes object)' }] };
  }
  const obj = input as Record<string, unknown>;
  const apiVersion = obj['apiVersion'];
  const kind = obj['kind'];
  if (typeof apiVersion !== 'string') return { ok: false, errors: [{ path: 'apiVersion', message: 'required' }] };
  if (typeof kind !== 'string') return { ok: false, errors: [{ path: 'kind', message: 'required' }] };
  const info = kindByApiVersionKind(apiVersion, kind);
  if (!info) {
    const sameKind = KINDS.find((k) => k.kind === kind);
    const hint = sameKind ? `; ${kind} is served as apiVersion ${apiVersionOf(sameKind)}` : `; supported kinds: ${[...new Set(KINDS.map((k) => k.kind))].join(', ')}`;
    return { ok: false, errors: [{ path: 'kind', message: `unsupported kind ${apiVersion}/${kind}${hint}` }] };
  }
  const schema = schemaFor(info);
  if (!schema) return { ok: false, errors: [{ path: 'kind', message: `no schema for ${info.kind}` }] };
  const r = schema.safeParse(input);
  if (!r.success) return { ok: false, errors: zodErrors(r.error) };
  const meta = (obj['metadata'] ?? {}) as Record<string, unknown>;
  if (!meta['name'] && !meta['generateName']) return { ok: false, errors: [{ path: 'metadata.name', message: 'required' }] };
  // Return the input (not the parsed copy) so fields zod normalises stay exactly as written.
  return { ok: true, value: input as KubeObject };
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
}
