// PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch (treated as a merge
// patch: the kinds served here have no merge-keyed lists that clients patch by element;
// `$`-directives are dropped) and JSON patch (RFC 6902).
import { ApiError } from './errors.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
    return out;
  }
  return v;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new ApiError('BadRequest', 'a JSON patch must be an array of operations');
  let doc = structuredClone(target) as Json;
  for (const [i, raw] of ops.entries()) {
    const op = raw as { op?: string; path?: string; value?: Json; from?: string };
    if (typeof op.path !== 'string') throw new ApiError('BadRequest', `JSON patch op ${i}: missing path`);
    const parts = op.path.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = parts.pop();
    if (last === undefined) {
      if (op.op === 'replace' || op.op === 'add') doc = op.value ?? null;
      continue;
    }
    let parent: Json = doc;
    for (const p of parts) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(p)] : parent && typeof parent === 'object' ? (parent as Record<string, Json>)[p] : undefined;
      if (next === undefined || next === null || typeof next !== 'object') throw new ApiError('BadRequest', `JSON patch op ${i}: path ${op.path} does not exist`);
      parent = next;
    }
    const container = parent as Record<string, Json> | Json[];
    switch (op.op) {
      case 'add':
      case 'replace':
        if (Array.isArray(container)) {
          const idx = last === '-' ? container.length : Number(last);
          if (op.op === 'add') container.splice(idx, 0, op.value ?? null);
          else container[idx] = op.value ?? null;
        } else container[last] = op.value ?? null;
        break;
      case 'remove':
        if (Array.isArray(container) ? !(Number(last) < container.length) : !(last in container)) {
          throw new ApiError('Invalid', `JSON patch op ${i}: cannot remove ${op.path}: it does not exist`);
        }
        if (Array.isArray(container)) container.splice(Number(last), 1);
        else delete container[last];
        break;
      case 'test': {
        const cur = Array.isArray(container) ? container[Number(last)] : container[last];
        if (JSON.stringify(cur) !== JSON.stringify(op.value)) throw new ApiError('Invalid', `JSON patch test failed at ${op.path}`);
        break;
      }
      default:
        throw new ApiError('BadRequest', `JSON patch op ${i}: unsupported op '${String(op.op)}'`);
    }
  }
  return doc;
}

export function applyPatch(contentType: string, target: unknown, body: unknown): unknown {
  const ct = contentType.split(';')[0]!.trim();
  switch (ct) {
    case 'application/merge-patch+json':
      return mergePatch(target, body);
    case 'application/strategic-merge-patch+json':
      return stripDirectives(mergePatch(target, body));
    case 'application/json-patch+json':
      return jsonPatch(target, body);
    case 'application/apply-patch+yaml':
      throw new ApiError('UnsupportedMediaType', 'server-side apply is not supported; use client-side apply (kubectl apply without --server-side, or ambit apply)');
    default:
      throw new ApiError('UnsupportedMediaType', `unsupported patch content type '${ct}'`);
  }
}
