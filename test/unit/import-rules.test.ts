// The import rules (scripts/layers.mjs → .dependency-cruiser.mjs) hold for src/, no folder of src/
// imports another in a cycle, and ARCHITECTURE.md's folder map is the one the rules generate.
// Runs dependency-cruiser as a user would (`npm run check:imports`), on the TypeScript sources.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}
interface CruiseJson {
  modules: { source: string; dependencies: { resolved: string; coreModule: boolean }[] }[];
  summary: { violations: Violation[]; error: number };
}
interface Layers {
  LAYERS: { dir: string }[];
  folderMap(): string;
}

const cruise = (() => {
  let cached: CruiseJson | undefined;
  return (): CruiseJson => {
    if (cached) return cached;
    const bin = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
    const r = spawnSync(process.execPath, [bin, 'src', '--config', '.dependency-cruiser.mjs', '--output-type', 'json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    assert.ok(r.stdout.startsWith('{'), `dependency-cruiser did not run: ${r.stderr}`);
    cached = JSON.parse(r.stdout) as CruiseJson;
    return cached;
  };
})();

test('every import in src/ follows the layer rules, and no module cycle exists', { timeout: 120_000 }, () => {
  const { summary, modules } = cruise();
  assert.ok(modules.length > 150, `cruised ${modules.length} modules`);
  const lines = summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`);
  assert.deepEqual(lines, [], `import rule violations (see scripts/layers.mjs):\n${lines.join('\n')}`);
});

test('no two folders of src/ import each other, directly or around a loop', { timeout: 120_000 }, () => {
  // Folder = the path below src/ up to the file (src/model/mesh/x.ts → model/mesh). Edges between a
  // folder and one of its own ancestors are left out: a folder's index uses its subfolders and they
  // use its shared types; what must not happen is siblings (model/core ↔ model/mesh) or layers
  // depending on each other.
  const folder = (f: string): string => path.dirname(f).replace(/^src\/?/, '');
  const related = (a: string, b: string): boolean => a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  const edges = new Map<string, Set<string>>();
  for (const m of cruise().modules) {
    if (!m.source.startsWith('src/')) continue;
    for (const d of m.dependencies) {
      if (d.coreModule || !d.resolved.startsWith('src/')) continue;
      const [a, b] = [folder(m.source), folder(d.resolved)];
      if (a !== b && !related(a, b)) edges.set(a, (edges.get(a) ?? new Set()).add(b));
    }
  }
  // Tarjan's strongly connected components: any with more than one folder is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  assert.deepEqual(cycles, [], `folder cycles: ${cycles.map((c) => c.join(' ↔ ')).join('; ')}`);
});

test('ARCHITECTURE.md shows the folder map the rules generate, and every folder of src/ is a layer', async () => {
  const layers = (await import(pathToFileURL(path.join(ROOT, 'scripts', 'layers.mjs')).href)) as Layers;
  const doc = fs.readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  const map = layers.folderMap();
  assert.ok(doc.includes(map), `ARCHITECTURE.md's folder map is out of date; paste the output of \`node scripts/layers.mjs\`:\n${map}`);
  const dirs = fs.readdirSync(path.join(ROOT, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const declared = layers.LAYERS.map((l) => l.dir);
  assert.deepEqual(dirs.filter((d) => !declared.includes(d)), [], 'folders of src/ that scripts/layers.mjs does not declare');
});
