// Every `ambit` command in one table: its spec (usage, flags) and what runs it. main dispatches
// through it, `ambit --help` lists it, and the CLI help test walks it. A command's module is
// loaded only when it runs, so help and light commands do not load the daemons' code.
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Ctx } from './context.js';
import { renderHelp, renderOverview, UsageError, type CommandSpec } from './help.js';
import { ANALYZE_SPEC, APP_SPECS, APPLY_SPEC, BENCH_SPEC, CA_SPECS, CLUSTER_SPECS, DAEMON_SPECS, DEMO_SPEC, POD_SPECS, RESOURCE_SPECS, TUNNEL_CONFIG_SPECS, TUNNEL_SPECS, WAYPOINT_SPECS } from './specs.js';
import { TUNNEL_CONFIG_KINDS } from './tunnel-config-print.js';

export type Run = (ctx: Ctx, args: string[]) => Promise<number>;

/** A command; one without run is a group (`ambit cluster`), whose subcommands are the commands named under it. */
export interface Command {
  spec: CommandSpec;
  run?: Run;
}

const HELP_SPEC: CommandSpec = { name: 'help', args: '[COMMAND...]', summary: 'this overview, or the help of a command (same as ambit COMMAND --help)' };
const VERSION_SPEC: CommandSpec = { name: 'version', summary: "print Ambit's version (also: ambit --version)" };

// Type-only: the modules themselves load in `lazy`.
interface Modules {
  analyze: typeof import('./commands/analyze.js');
  app: typeof import('./commands/app.js');
  apply: typeof import('./commands/apply.js');
  bench: typeof import('./commands/bench.js');
  ca: typeof import('./commands/ca.js');
  cluster: typeof import('./commands/cluster.js');
  daemons: typeof import('./commands/daemons.js');
  'mesh-control-plane': typeof import('./commands/mesh-control-plane.js');
  demo: typeof import('./commands/demo.js');
  pods: typeof import('./commands/pods.js');
  resources: typeof import('./commands/resources.js');
  'tunnel-config': typeof import('./commands/tunnel-config.js');
  tunnel: typeof import('./commands/tunnel.js');
  waypoint: typeof import('./commands/waypoint.js');
}

/** A run that imports ./commands/<mod>.js first (import() caches it). */
const lazy =
  <K extends keyof Modules>(mod: K, call: (m: Modules[K], ctx: Ctx, args: string[]) => Promise<number>): Run =>
  async (ctx, args) =>
    call((await import(`./commands/${mod}.js`)) as Modules[K], ctx, args);

const RUNS: Record<string, Run> = {
  'cluster up': lazy('cluster', (m, ctx, a) => m.clusterUpCommand(ctx, a)),
  'cluster down': lazy('cluster', (m, ctx, a) => m.clusterDownCommand(ctx, a)),
  'cluster status': lazy('cluster', (m, ctx, a) => m.clusterStatusCommand(ctx, a)),
  'cluster restart': lazy('cluster', (m, ctx, a) => m.clusterRestartCommand(ctx, a)),
  apply: lazy('apply', (m, ctx, a) => m.applyCommand(ctx, a)),
  get: lazy('resources', (m, ctx, a) => m.getCommand(ctx, a)),
  delete: lazy('resources', (m, ctx, a) => m.deleteCommand(ctx, a)),
  scale: lazy('resources', (m, ctx, a) => m.scaleCommand(ctx, a)),
  label: lazy('resources', (m, ctx, a) => m.labelCommand(ctx, a)),
  exec: lazy('pods', (m, ctx, a) => m.execCommand(ctx, a)),
  logs: lazy('pods', (m, ctx, a) => m.logsCommand(ctx, a)),
  analyze: lazy('analyze', (m, ctx, a) => m.analyzeCommand(ctx, a)),
  'app echo': lazy('app', (m, _ctx, a) => m.echoCommand(a)),
  'app load': lazy('app', (m, _ctx, a) => m.loadCommand(a)),
  demo: lazy('demo', (m, ctx, a) => m.demoCommand(ctx, a)),
  'waypoint apply': lazy('waypoint', (m, ctx, a) => m.waypointApplyCommand(ctx, a)),
  'waypoint list': lazy('waypoint', (m, ctx, a) => m.waypointListCommand(ctx, a)),
  'waypoint status': lazy('waypoint', (m, ctx, a) => m.waypointStatusCommand(ctx, a)),
  'waypoint delete': lazy('waypoint', (m, ctx, a) => m.waypointDeleteCommand(ctx, a)),
  'waypoint run': lazy('waypoint', (m, _ctx, a) => m.waypointRunCommand(a, process.env)),
  'tunnel restart': lazy('tunnel', (m, ctx, a) => m.tunnelRestartCommand(ctx, a)),
  ...Object.fromEntries(TUNNEL_CONFIG_KINDS.map((k) => [`tunnel-config ${k}`, lazy('tunnel-config', (m, ctx, a) => m.tunnelConfigKindCommand(ctx, k, a))])),
  'tunnel-config log': lazy('tunnel-config', (m, ctx, a) => m.tunnelConfigLogCommand(ctx, a)),
  ...Object.fromEntries(CA_SPECS.filter((s) => s.name !== 'ca').map((s) => [s.name, lazy('ca', (m, ctx, a) => m.caCommand(ctx, [s.name.slice('ca '.length), ...a]))])),
  bench: lazy('bench', (m, _ctx, a) => m.benchCommand(a)),
  'control-plane': lazy('daemons', (m, _ctx, a) => m.controlPlaneCommand(a, process.env)),
  'node-agent': lazy('daemons', (m, _ctx, a) => m.nodeAgentCommand(a, process.env)),
  'node-tunnel': lazy('daemons', (m, _ctx, a) => m.nodeTunnelCommand(a, process.env)),
  'mesh-control-plane': lazy('mesh-control-plane', (m, _ctx, a) => m.meshControlPlaneCommand(a, process.env)),
  help: async (ctx, a) => {
    const hit = a.length ? resolve(a) : undefined;
    if (a.length && (!hit || hit.rest.length)) throw new UsageError(`no command 'ambit ${a.join(' ')}'; ambit --help lists them`);
    ctx.out(hit ? helpOf(hit.command) : overview());
    return 0;
  },
  version: async (ctx, a) => {
    parseArgs({ args: a, options: {} }); // takes no arguments: refuse any
    ctx.out(`ambit ${version()}\n`);
    return 0;
  },
};

const SECTIONS: readonly { title: string; specs: readonly CommandSpec[] }[] = [
  { title: 'cluster', specs: CLUSTER_SPECS },
  { title: 'resources (kubectl habits)', specs: [APPLY_SPEC, ...RESOURCE_SPECS, ...POD_SPECS, ANALYZE_SPEC] },
  { title: 'apps', specs: [...APP_SPECS, DEMO_SPEC] },
  { title: 'mesh', specs: [...TUNNEL_SPECS, ...TUNNEL_CONFIG_SPECS, ...WAYPOINT_SPECS.filter((s) => s.name !== 'waypoint run')] },
  { title: 'certificate authority', specs: CA_SPECS },
  { title: 'benchmarks', specs: [BENCH_SPEC] },
  { title: 'daemons (started by ambit cluster up)', specs: [...DAEMON_SPECS, ...WAYPOINT_SPECS.filter((s) => s.name === 'waypoint run')] },
  { title: 'about', specs: [HELP_SPEC, VERSION_SPEC] },
];

export const COMMANDS: readonly Command[] = SECTIONS.flatMap((s) => s.specs.map((spec) => ({ spec, ...(RUNS[spec.name] ? { run: RUNS[spec.name] } : {}) })));

export const subcommandsOf = (c: Command): Command[] => COMMANDS.filter((x) => x.spec.name.startsWith(`${c.spec.name} `) && !x.spec.name.slice(c.spec.name.length + 1).includes(' '));

/** The most specific command the leading words name (`cluster up`), and the arguments after them. */
export function resolve(args: readonly string[]): { command: Command; rest: string[] } | undefined {
  let found: Command | undefined;
  let used = 0;
  for (const arg of args) {
    const word = arg.toLowerCase();
    const candidates = found ? subcommandsOf(found) : COMMANDS.filter((c) => !c.spec.name.includes(' '));
    const next = candidates.find((c) => c.spec.name.split(' ').pop() === word || c.spec.aliases?.includes(word));
    if (!next) break;
    found = next;
    used++;
  }
  return found ? { command: found, rest: args.slice(used) } : undefined;
}

export const helpOf = (c: Command): string => renderHelp(c.spec, subcommandsOf(c).map((s) => s.spec));

export function overview(): string {
  return renderOverview(
    'ambit: a sidecarless service mesh, with a local cluster made of network namespaces\n\nusage: ambit [--cluster NAME] COMMAND [ARGS...]',
    SECTIONS.map((s) => ({ title: s.title, specs: s.specs.filter((spec) => RUNS[spec.name]) })),
    'global: --cluster NAME (or AMBIT_CLUSTER) selects the cluster (default: local)\nambit COMMAND --help (or -h) shows a command\'s flags.',
  );
}

/** package.json's version (dist/src/cli/ → the checkout's root). */
export function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') return pkg.version;
  } catch {
    // fall through: a copy of dist without its package.json
  }
  return 'unknown';
}
