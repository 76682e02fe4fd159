// Config loaders of the local cluster's daemons (`ambit control-plane`, `ambit node-agent`,
// `ambit node-tunnel`): pure functions (argv, env) → typed config | ConfigError, called once at
// start. Values taken from the cluster's state files (ports in cluster.json, credentials) are
// read afterwards by the commands; these loaders only validate what the caller passed.
import { nodeIndex, validateClusterName } from '../../local/cluster/addressing.js';
import { stateRoot } from '../../local/cluster/paths.js';
import { badValue, collect, ConfigError, durationValue, envValue, logLevelValue, parseFlags, portValue, type Env } from '../../lib/config.js';
import { clusterIdFromEnv } from '../../identity/cluster-id.js';
import type { LogLevel } from '../../lib/log.js';
import { parseThreads } from '../../node-tunnel/workers.js';

interface DaemonBase {
  cluster: string;
  /** Root of every cluster's state (AMBIT_STATE_DIR, default /var/lib/ambit). */
  stateDir: string;
  logLevel: LogLevel;
}

export interface ControlPlaneProcessConfig extends DaemonBase {
  /** The API server's port (cluster up picked it). */
  apiPort: number;
}

export interface NodeAgentProcessConfig extends DaemonBase {
  node: string;
}

export interface NodeTunnelProcessConfig extends DaemonBase {
  node: string;
  /** ztunnel's XDS_ADDRESS / CA_ADDRESS as host:port; unset: the cluster's CA port on 127.0.0.1. */
  xdsAddress?: string;
  caAddress?: string;
  /** ztunnel's SECRET_TTL in seconds; unset: the certificate manager's default (24 h). */
  certTtlSeconds?: number;
  /** ISTIO_META_CLUSTER_ID, else CLUSTER_ID, else Kubernetes: sent to the CA as `clusterid`. */
  clusterId: string;
  /** ZTUNNEL_WORKER_THREADS (default 2, at most the cores). */
  threads: number;
  /** CONNECTION_TERMINATION_DEADLINE, else from TERMINATION_GRACE_PERIOD_SECONDS, else 5 s. */
  drainDeadlineMs: number;
}

function base(flags: { cluster?: string }, env: Env, usage: string): DaemonBase {
  if (!flags.cluster) throw new ConfigError(`--cluster is required\nusage: ${usage}`);
  const bad = validateClusterName(flags.cluster);
  if (bad) throw new ConfigError(`--cluster: ${bad}`);
  return { cluster: flags.cluster, stateDir: stateRoot(env), logLevel: logLevelValue(env) };
}

function nodeValue(flag: string | undefined, env: Env, usage: string): string {
  const node = flag ?? envValue(env, 'NODE_NAME');
  if (!node) throw new ConfigError(`--node (or NODE_NAME) is required\nusage: ${usage}`);
  try {
    nodeIndex(node);
  } catch {
    throw badValue('--node', node, 'not a node name (node<N>)');
  }
  return node;
}

const CP_USAGE = 'ambit control-plane --cluster NAME --port PORT (started by ambit cluster up)';
export function loadControlPlaneConfig(argv: readonly string[], env: Env): ControlPlaneProcessConfig | ConfigError {
  return collect(() => {
    const f = parseFlags(argv, ['cluster', 'port'], CP_USAGE);
    const b = base(f, env, CP_USAGE);
    if (f.port === undefined) throw new ConfigError(`--port is required\nusage: ${CP_USAGE}`);
    return { ...b, apiPort: portValue('--port', f.port) };
  });
}

const AGENT_USAGE = 'ambit node-agent --cluster NAME --node nodeN (started by ambit cluster up)';
export function loadNodeAgentConfig(argv: readonly string[], env: Env): NodeAgentProcessConfig | ConfigError {
  return collect(() => {
    const f = parseFlags(argv, ['cluster', 'node'], AGENT_USAGE);
    return { ...base(f, env, AGENT_USAGE), node: nodeValue(f.node, env, AGENT_USAGE) };
  });
}

const TUNNEL_USAGE = 'ambit node-tunnel --cluster NAME --node nodeN (started by ambit cluster up; env: XDS_ADDRESS, CA_ADDRESS, SECRET_TTL, ZTUNNEL_WORKER_THREADS, CONNECTION_TERMINATION_DEADLINE, PROXY_MODE)';
export function loadNodeTunnelConfig(argv: readonly string[], env: Env, cores: number): NodeTunnelProcessConfig | ConfigError {
  return collect(() => {
    const f = parseFlags(argv, ['cluster', 'node'], TUNNEL_USAGE);
    const out: NodeTunnelProcessConfig = { ...base(f, env, TUNNEL_USAGE), node: nodeValue(f.node, env, TUNNEL_USAGE), clusterId: clusterIdFromEnv(env), threads: threadsValue(env, cores), drainDeadlineMs: drainDeadlineValue(env) };
    const xds = envValue(env, 'XDS_ADDRESS');
    if (xds !== undefined) out.xdsAddress = controlPlaneAddress('XDS_ADDRESS', xds);
    const ca = envValue(env, 'CA_ADDRESS');
    if (ca !== undefined) out.caAddress = controlPlaneAddress('CA_ADDRESS', ca);
    const ttl = envValue(env, 'SECRET_TTL');
    if (ttl !== undefined) out.certTtlSeconds = Math.round(durationValue('SECRET_TTL', ttl, 60_000) / 1000);
    const mode = envValue(env, 'PROXY_MODE');
    // ztunnel's modes; a dedicated (per-pod) proxy is not something this node tunnel can be.
    if (mode !== undefined && mode !== 'shared') throw badValue('PROXY_MODE', mode, mode === 'dedicated' ? 'only shared is supported (one node tunnel serves every pod of its node)' : 'want shared');
    return out;
  });
}

/** ztunnel's address form: https://host:port or host:port (TLS either way; plaintext xDS/CA is refused). */
export function controlPlaneAddress(name: string, value: string): string {
  const m = /^(?:https:\/\/)?((?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5}))\/?$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw badValue(name, value, 'not an address (https://host:port or host:port)');
  return m[1]!;
}

function threadsValue(env: Env, cores: number): number {
  const v = envValue(env, 'ZTUNNEL_WORKER_THREADS');
  try {
    return parseThreads(v, cores);
  } catch {
    throw badValue('ZTUNNEL_WORKER_THREADS', v ?? '', `want 1-64 threads or a percentage of the ${cores} cores (e.g. 2 or 50%)`);
  }
}

/** ztunnel's drain deadline (spec §9): explicit, else the pod's grace period less 5 s above 10 s (else less 1 s, at least 1 s), else 5 s. */
function drainDeadlineValue(env: Env): number {
  const explicit = envValue(env, 'CONNECTION_TERMINATION_DEADLINE');
  if (explicit !== undefined) return durationValue('CONNECTION_TERMINATION_DEADLINE', explicit);
  const grace = envValue(env, 'TERMINATION_GRACE_PERIOD_SECONDS');
  if (grace !== undefined) {
    const g = /^\d+(?:\.\d+)?$/.test(grace) ? Number(grace) : Number.NaN;
    if (!Number.isFinite(g)) throw badValue('TERMINATION_GRACE_PERIOD_SECONDS', grace, 'not a number of seconds');
    return Math.max(1, g > 10 ? g - 5 : g - 1) * 1000;
  }
  return 5000;
}
