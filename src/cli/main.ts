// `ambit` command dispatch through the command table. Commands return exit codes; errors print
// one clear line with their stable code and a hint (usage errors add the command's usage and
// exit 2; docs/errors.md lists the codes); only a bug prints a stack. --help/-h anywhere
// before `--` prints the named command's help to stdout and exits 0.
import { KubeApiError } from '../kube/kube-client.js';
import { formatError } from './error-output.js';
import { helpOf, overview, resolve, subcommandsOf, version } from './command-table.js';
import { UsageError } from './help.js';
import { ConfigError } from '../lib/config.js';
import { parseLogLevel, setLogLevel } from '../lib/log.js';

const DAEMONS = new Set(['control-plane', 'node-agent', 'node-tunnel']); // they take --cluster themselves

const wantsHelp = (args: readonly string[]): boolean => {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

const isUsageError = (e: unknown): boolean => e instanceof UsageError || String((e as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');

export async function main(argv: string[]): Promise<number> {
  let cluster: string | undefined;
  const args = [...argv];
  const ci = args.indexOf('--cluster');
  if (ci >= 0 && !DAEMONS.has(args[0] ?? '')) {
    cluster = args[ci + 1];
    args.splice(ci, 2);
  }
  // Help and usage go straight to the streams; the context (and the cluster code it loads)
  // only once a command runs, so help stays fast.
  const out = (s: string): void => void process.stdout.write(s);
  const err = (s: string): void => void process.stderr.write(s);
  const first = args[0];
  if (first === undefined) {
    out(overview());
    return 2;
  }
  if (first === '--help' || first === '-h') {
    out(overview());
    return 0;
  }
  if (first === '--version') {
    out(`ambit ${version()}\n`);
    return 0;
  }
  const hit = resolve(args);
  if (!hit) {
    err(`error: unknown command '${first}'\n\n${overview()}`);
    return 2;
  }
  const { command, rest } = hit;
  if (wantsHelp(rest)) {
    out(helpOf(command));
    return 0;
  }
  if (!command.run) {
    const subs = subcommandsOf(command).map((c) => c.spec.name.split(' ').pop()).join(', ');
    err(`error: ${rest[0] === undefined ? `name a ${command.spec.name} subcommand` : `unknown ${command.spec.name} subcommand '${rest[0]}'; use one of`}: ${subs}\n\n${helpOf(command)}`);
    return 2;
  }
  // The daemons validate AMBIT_LOG_LEVEL in their config loaders; other commands take it if it is valid.
  const level = parseLogLevel(process.env['AMBIT_LOG_LEVEL']);
  if (level) setLogLevel(level);
  const ctx = (await import('./context.js')).makeCtx(cluster);
  try {
    return await command.run(ctx, rest);
  } catch (e) {
    const x = e as Error;
    // Usage errors keep `error: ` (the usage that follows is the hint). A daemon's config error
    // names the bad value; the command's help replaces the loader's usage line.
    if (e instanceof ConfigError && e.code !== 'AMBIT_E_USAGE') err(`error [${e.code}]: ${x.message.split('\nusage:')[0]}\n\n${helpOf(command)}`);
    else if (e instanceof ConfigError) err(`error: ${x.message.split('\nusage:')[0]}\n\n${helpOf(command)}`);
    else if (isUsageError(e)) err(`error: ${x.message}\n\n${helpOf(command)}`);
    else if (e instanceof KubeApiError) err(`Error from server (${e.reason}): ${e.message}\n`); // kubectl's form
    else err(formatError(e));
    return isUsageError(e) || e instanceof ConfigError ? 2 : 1;
  }
}
