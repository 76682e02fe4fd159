// Output for `ambit get`: kubectl-style aligned tables, or YAML/JSON.
import { stringify } from 'yaml';
import type { KindInfo } from '../model/core/kinds.js';
import { tableFor } from '../model/core/printers.js';
import type { KubeObject } from '../model/core/types.js';

export function renderTable(info: KindInfo, items: KubeObject[], opts: { wide: boolean; allNamespaces: boolean }, now = Date.now()): string {
  const spec = tableFor(info.kind);
  const cols = spec.columns.map((c, i) => ({ c, i })).filter(({ c }) => c.priority === 0 || opts.wide);
  const header = [...(opts.allNamespaces && info.namespaced ? ['NAMESPACE'] : []), ...cols.map(({ c }) => c.name.toUpperCase())];
  const rows = items.map((o) => {
    const cells = spec.cells(o, now);
    return [...(opts.allNamespaces && info.namespaced ? [o.metadata.namespace ?? ''] : []), ...cols.map(({ i }) => String(cells[i] ?? ''))];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function renderObjects(items: KubeObject[], format: 'yaml' | 'json', single: boolean): string {
  const value = single ? items[0] : { apiVersion: 'v1', kind: 'List', items };
  return format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value);
}
