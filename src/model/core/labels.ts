// Label and field selectors with Kubernetes syntax (`a=b,c!=d,e in (x,y),!f`). Pure.
import type { LabelSelector } from './types.js';

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export class SelectorError extends Error {
  readonly code = 'BAD_SELECTOR';
}

export function parseSelector(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  const src = text.trim();
  let i = 0;
  const skipWs = (): void => {
    while (src[i] === ' ') i++;
  };
  const readToken = (): string => {
    skipWs();
    const start = i;
    while (i < src.length && !/[\s,=!()]/.test(src[i]!)) i++;
    return src.slice(start, i);
  };
  while (i < src.length) {
    skipWs();
    if (src[i] === '!') {
      i++;
      const key = readToken();
      if (!key) throw new SelectorError(`selector '${text}': expected a key after '!'`);
      reqs.push({ key, op: 'notexists' });
    } else {
      const key = readToken();
      if (!key) throw new SelectorError(`selector '${text}': expected a key at position ${i}`);
      skipWs();
      if (src.startsWith('!=', i)) {
        i += 2;
        reqs.push({ key, op: 'notin', values: [readToken()] });
      } else if (src.startsWith('==', i)) {
        i += 2;
        reqs.push({ key, op: 'in', values: [readToken()] });
      } else if (src[i] === '=') {
        i += 1;
        reqs.push({ key, op: 'in', values: [readToken()] });
      } else if (i < src.length && src[i] !== ',') {
        const word = readToken();
        if (word !== 'in' && word !== 'notin') throw new SelectorError(`selector '${text}': unknown operator '${word}'`);
        skipWs();
        if (src[i] !== '(') throw new SelectorError(`selector '${text}': expected '(' after ${word}`);
        const close = src.indexOf(')', i);
        if (close < 0) throw new SelectorError(`selector '${text}': missing ')'`);
        const values = src.slice(i + 1, close).split(',').map((v) => v.trim()).filter((v) => v !== '');
        if (values.length === 0) throw new SelectorError(`selector '${text}': '${word} ()' needs at least one value`);
        i = close + 1;
        reqs.push({ key, op: word, values });
      } else {
        reqs.push({ key, op: 'exists' });
      }
    }
    skipWs();
    if (i < src.length) {
      if (src[i] !== ',') throw new SelectorError(`selector '${text}': expected ',' at position ${i}`);
      i++;
      skipWs();
      if (i >= src.length) throw new SelectorError(`selector '${text}': trailing ','`);
    }
  }
  return reqs;
}

export function matches(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}

export function fromLabelSelector(sel: LabelSelector | undefined): Requirement[] {
  const reqs: Requirement[] = [];
  for (const [key, v] of Object.entries(sel?.matchLabels ?? {})) reqs.push({ key, op: 'in', values: [v] });
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') reqs.push({ key: e.key, op: 'in', values: e.values ?? [] });
    else if (e.operator === 'NotIn') reqs.push({ key: e.key, op: 'notin', values: e.values ?? [] });
    else if (e.operator === 'Exists') reqs.push({ key: e.key, op: 'exists' });
    else reqs.push({ key: e.key, op: 'notexists' });
  }
  return reqs;
}

export function selectorToString(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

/** Field selectors: equality on a few well-known paths (metadata.name, spec.nodeName, ...). */
export function parseFieldSelector(text: string): { path: string; op: '=' | '!='; value: string }[] {
  if (!text.trim()) return [];
  return text.split(',').map((part) => {
    const m = /^\s*([\w.]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new SelectorError(`field selector '${text}': cannot parse '${part}'`);
    return { path: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
  });
}

export const SUPPORTED_FIELDS = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase', 'status.podIP'];

export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}
