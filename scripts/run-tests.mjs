// Runs the compiled test suite with node's test runner: unit tests in parallel, then the
// network-namespace tests one file at a time (they create namespaces and processes).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  let out = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const filter = process.argv[2];
const pick = (files) => (filter ? files.filter((f) => f.includes(filter)) : files);
const unit = pick(find('dist/test/unit'));
const netns = pick(find('dist/test/netns'));
if (netns.length && process.getuid?.() !== 0) {
  console.error('NOTE: the network-namespace tests need root (they create namespaces, veth links and nftables rules); they will report as skipped.');
}
const files = [...unit, ...netns];
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
// One runner invocation so the summary at the end counts every test.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
