// Import rules, generated from scripts/layers.mjs. Run: npx depcruise src --config .dependency-cruiser.mjs
import { LAYERS, NO_YAML, PURE } from './scripts/layers.mjs';

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
const layerRules = LAYERS.filter((l) => !l.may.includes('*')).map((l) => ({
  name: `layer-${l.dir}`,
  comment: `src/${l.dir}/ may import only: ${l.may.length ? l.may.join(', ') : 'itself'} (scripts/layers.mjs)`,
  severity: 'error',
  from: { path: `^src/${esc(l.dir)}/` },
  to: { path: '^src/', pathNot: [`^src/${esc(l.dir)}/`, ...l.may.map((m) => `^src/${esc(m)}/`)] },
}));

export default {
  forbidden: [
    ...layerRules,
    { name: 'no-circular', comment: 'modules must not import each other in a cycle', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    { name: 'no-unknown-folder', comment: 'every folder of src/ is a layer in scripts/layers.mjs', severity: 'error', from: { path: '^src/', pathNot: LAYERS.map((l) => `^src/${esc(l.dir)}/`) }, to: {} },
    { name: 'pure-logic-no-io', comment: 'translation, authz evaluation and analysis stay free of I/O', severity: 'error', from: { path: PURE.map((p) => `^${esc(p)}`) }, to: { dependencyTypes: ['core'], path: '^(node:)?(fs|net|tls|http|http2|https|dgram|child_process|worker_threads|dns)(/|$)' } },
    { name: 'data-plane-no-yaml', comment: 'the data plane never parses user YAML', severity: 'error', from: { path: NO_YAML.map((p) => `^${esc(p)}`) }, to: { path: 'node_modules/yaml/' } },
    { name: 'src-not-tests', comment: 'product code does not import tests or benchmarks', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
