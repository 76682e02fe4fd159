// Small helpers shared by the netns runtime: where namespaces live, listing them, and
// running `ip`/commands inside one. All tool calls go through platform/exec.
import { existsSync, readdirSync } from 'node:fs';
import { run } from '../../../platform/exec.js';

// Why sync `run` behind async signatures: exec.runAsync always pipes stdin and has no
// error listener on it, so a command that exits before reading stdin (most `ip` calls)
// raises an uncaught EPIPE in about half the calls, which would crash the node agent.
// These calls take milliseconds; once runAsync ignores stdin without input, switch here.
const tool = async (argv: string[], input?: string): Promise<string> => run(argv, input === undefined ? {} : { input });

/** Where `ip netns add` pins namespaces. */
export const NETNS_RUN_DIR = '/run/netns';
/** Per-namespace files that `ip netns exec` bind-mounts over /etc (hosts, resolv.conf). */
export const NETNS_ETC_DIR = '/etc/netns';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Namespace names end up in paths; refuse anything that could escape the directory. */
export function assertNetnsName(name: string): void {
  if (!SAFE_NAME.test(name) || name.length > 200) throw new Error(`invalid network namespace name '${name}'`);
}

export function netnsExists(name: string): boolean {
  assertNetnsName(name);
  return existsSync(`${NETNS_RUN_DIR}/${name}`);
}

/** Entries of dir starting with prefix (sorted); [] if the directory does not exist. */
export function listWithPrefix(dir: string, prefix: string): string[] {
  try {
    return readdirSync(dir).filter((n) => n.startsWith(prefix)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export const listNetns = (prefix: string): string[] => listWithPrefix(NETNS_RUN_DIR, prefix);

export const addNetns = (name: string): Promise<string> => tool(['ip', 'netns', 'add', name]);

/** `ip -n <ns> <args...>`: ip switches namespace itself, no extra exec. */
export const ipIn = (ns: string, args: string[]): Promise<string> => tool(['ip', '-n', ns, ...args]);

/** Several `ip` commands in one process (`ip -batch`); an error names the failing line. */
export const ipBatchIn = (ns: string, lines: string[]): Promise<string> =>
  tool(['ip', '-n', ns, '-batch', '-'], lines.join('\n') + '\n');

/** Runs argv inside the namespace via `ip netns exec`. */
export const execIn = (ns: string, argv: string[], input?: string): Promise<string> => tool(['ip', 'netns', 'exec', ns, ...argv], input);
