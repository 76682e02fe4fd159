// Running host tools (ip, nft, ...) with errors that say what failed and how to fix it.
import { spawn, spawnSync } from 'node:child_process';
import { AmbitError } from '../lib/errors.js';

export class CommandError extends AmbitError {
  constructor(readonly argv: string[], readonly status: number | null, readonly stderr: string) {
    super('AMBIT_E_COMMAND_FAILED', `command failed (exit ${status}): ${argv.join(' ')}${stderr ? `\n  ${stderr.trim()}` : ''}`);
  }
}

/** Runs a command synchronously; throws CommandError on non-zero exit. Returns stdout. */
export function run(argv: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('run: empty argv');
  const r = spawnSync(cmd, args, { input: opts.input, encoding: 'utf8' });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingToolError(cmd);
    throw r.error;
  }
  if (r.status !== 0 && !opts.allowFail) throw new CommandError(argv, r.status, r.stderr);
  return r.stdout;
}

/** Async variant for long-running or parallel commands. */
export function runAsync(argv: string[], opts: { input?: string } = {}): Promise<string> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error('runAsync: empty argv'));
  return new Promise((resolve, reject) => {
    // No stdin pipe unless there is input: writing to a child that exits without reading
    // it raises EPIPE, which would otherwise surface as an uncaught error.
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new MissingToolError(cmd) : e));
    child.on('close', (status) => (status === 0 ? resolve(out) : reject(new CommandError(argv, status, err))));
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

const TOOL_PACKAGES: Record<string, string> = {
  ip: 'iproute2',
  nft: 'nftables',
  iperf3: 'iperf3',
  curl: 'curl',
  kubectl: 'kubernetes-client',
  hey: 'hey',
};

export class MissingToolError extends AmbitError {
  constructor(readonly tool: string) {
    const pkg = TOOL_PACKAGES[tool] ?? tool;
    super('AMBIT_E_MISSING_TOOL', `'${tool}' is not installed. Fix: apt-get install -y ${pkg}`);
  }
}

export function hasTool(tool: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return r.status === 0;
}

/** Throws a MissingToolError naming the first missing tool and its Debian package. */
export function requireTools(tools: string[]): void {
  for (const t of tools) if (!hasTool(t)) throw new MissingToolError(t);
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export class NotRootError extends AmbitError {
  constructor(what: string) {
    super('AMBIT_E_NOT_ROOT', `${what} needs root (it creates network namespaces, veth links and nftables rules). Run it as root, e.g. sudo ambit ...`);
  }
}
