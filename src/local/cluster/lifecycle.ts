// `ambit cluster up|down|status`: creates the cluster network, writes credentials, starts
// the control plane and one node agent per node as background processes, and removes all
// of it again (also after a crash, by naming prefix and by namespace membership).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TokenEntry } from '../apiserver/auth.js';
import { KubeClient } from '../../kube/kube-client.js';
import { AmbitError, type AmbitCode } from '../../lib/errors.js';
import { K } from '../controllers/kinds.js';
import { apiCertPaths, createApiCerts } from './api-certs.js';
import { isRoot, NotRootError, requireTools } from '../../platform/exec.js';
import { nodeIsReady, type NodeObject } from '../../model/core/types.js';
import { MAX_NODES, nodeName, validateClusterName } from './addressing.js';
import { createClusterNetwork, destroyClusterNetwork } from './net/fabric.js';
import { findLeftovers, isEmpty, removeLeftovers } from './net/leftovers.js';
import { clusterPaths, nodeCaTokenPath, type ClusterPaths } from './paths.js';
import { NodeAuthority } from '../../ca/node-auth.js';
import { DEFAULT_CA_PORT } from '../../ca/server.js';
import { DEFAULT_METRICS_PORT } from '../../control-plane/monitoring.js';
import { DEFAULT_TRUST_DOMAIN, validateTrustDomain } from '../../identity/spiffe.js';
import { ADMIN_PORT, READINESS_PORT, STATS_PORT } from '../../mesh-api/ports.js';

export interface ClusterInfo {
  name: string;
  nodes: number;
  apiPort: number;
  /** The mesh CA's gRPC/TLS port and the control plane's /metrics port (absent before the CA existed). */
  caPort?: number;
  metricsPort?: number;
  /** SPIFFE trust domain of the mesh (default cluster.local). */
  trustDomain?: string;
  createdAt: string;
  /**
   * Per node tunnel: its admin (Istio 15000), stats (15020) and readiness (15021) ports on
   * 127.0.0.1. Every tunnel lives in the host netns here, so each node gets its own; absent in a
   * cluster.json from before them.
   */
  tunnelPorts?: Record<string, { admin: number; stats: number; readiness: number }>;
  /** nodes: node agents; tunnels: node tunnels (absent in a cluster.json from before them). */
  pids: { controlPlane: number; nodes: Record<string, number>; tunnels?: Record<string, number> };
  /** Set by `cluster down` before it stops anything: the supervisors restart nothing from then on. */
  stopping?: boolean;
  /** Restarts by the supervisors (supervisor.ts), by process key: control-plane, agent/<node>, tunnel/<node>. */
  restarts?: Record<string, RestartRecord>;
}

export interface RestartRecord {
  count: number;
  /** Restarts in a row without a minute of uptime between (drives the back-off). */
  consecutive: number;
  lastAt: string;
  lastReason: string;
}

export const DEFAULT_CLUSTER = 'local';
export const DEFAULT_API_PORT = 6443;
/** ztunnel's defaults (spec §1); the first free port from each is taken, node by node. */
export const DEFAULT_TUNNEL_PORTS = { admin: ADMIN_PORT, stats: STATS_PORT, readiness: READINESS_PORT } as const;

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'ambit.js');

/** A cluster lifecycle failure the user can act on; the code says which (docs/errors.md). */
export class ClusterError extends AmbitError {
  constructor(message: string, code: AmbitCode = 'AMBIT_E_CLUSTER_START_FAILED', hint?: string) {
    super(code, message, hint === undefined ? {} : { hint });
  }
}

export function readClusterInfo(name: string, root?: string): ClusterInfo | undefined {
  const p = root === undefined ? clusterPaths(name) : clusterPaths(name, root);
  try {
    return JSON.parse(fs.readFileSync(p.clusterFile, 'utf8')) as ClusterInfo;
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie (a killed daemon is reaped by init, not by us). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false; // kill(0) would signal our own group
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The cluster's admin token (tokens.json, 0600, root's): the API's admin and the node tunnels' admin-port credential. */
export function readAdminToken(name: string, root?: string): string {
  const file = (root === undefined ? clusterPaths(name) : clusterPaths(name, root)).tokens;
  let tokens: TokenEntry[];
  try {
    tokens = JSON.parse(fs.readFileSync(file, 'utf8')) as TokenEntry[];
  } catch (e) {
    throw new ClusterError(`cannot read the cluster's admin token in ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run this as root, on a cluster made by ambit cluster up`);
  }
  const admin = tokens.find((t) => t.role === 'admin');
  if (!admin) throw new ClusterError(`no admin token in ${file}`);
  return admin.token;
}

/** A client with the cluster's admin credentials, or a ClusterError saying what to do. */
export function adminClient(name: string): KubeClient {
  const info = readClusterInfo(name);
  if (!info) throw new ClusterError(`cluster '${name}' is not running (no ${clusterPaths(name).clusterFile}). Start it with: ambit cluster up${name === DEFAULT_CLUSTER ? '' : ` --name ${name}`}`, 'AMBIT_E_CLUSTER_NOT_RUNNING');
  const tokens = JSON.parse(fs.readFileSync(clusterPaths(name).tokens, 'utf8')) as TokenEntry[];
  const admin = tokens.find((t) => t.role === 'admin');
  if (!admin) throw new ClusterError(`no admin token in ${clusterPaths(name).tokens}`, 'AMBIT_E_CLUSTER_STATE');
  const ca = fs.readFileSync(apiCertPaths(clusterPaths(name).root).caCert, 'utf8');
  return new KubeClient({ baseUrl: `https://127.0.0.1:${info.apiPort}`, token: admin.token, ca });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function pickPort(requested: number | undefined): Promise<number> {
  if (requested !== undefined) {
    if (!(await portFree(requested))) throw new ClusterError(`port ${requested} on 127.0.0.1 is in use; pick another with --api-port`, 'AMBIT_E_PORT_IN_USE');
    return requested;
  }
  for (let p = DEFAULT_API_PORT; p < DEFAULT_API_PORT + 50; p++) if (await portFree(p)) return p;
  throw new ClusterError(`no free port in ${DEFAULT_API_PORT}-${DEFAULT_API_PORT + 49}; pass --api-port`, 'AMBIT_E_PORT_IN_USE');
}

/** First free port from `start` not already `taken` by this cluster (so two clusters coexist). */
async function firstFreePort(start: number, taken: Set<number>, what: string): Promise<number> {
  for (let p = start; p < start + 100; p++) {
    if (!taken.has(p) && (await portFree(p))) {
      taken.add(p);
      return p;
    }
  }
  throw new ClusterError(`no free port for the ${what} in ${start}-${start + 99} on 127.0.0.1; stop what uses them or remove an old cluster (ambit cluster down)`, 'AMBIT_E_PORT_IN_USE');
}

/**
 * The trust domain: --trust-domain, else the one a CA made by `ambit ca init` records in
 * <ca>/config.json, else cluster.local. Disagreeing with an existing CA is an error.
 */
function chooseTrustDomain(paths: ClusterPaths, requested: string | undefined): string {
  let existing: string | undefined;
  try {
    existing = (JSON.parse(fs.readFileSync(path.join(paths.ca, 'config.json'), 'utf8')) as { trustDomain?: string }).trustDomain;
  } catch {
    existing = undefined;
  }
  const td = requested ?? existing ?? DEFAULT_TRUST_DOMAIN;
  const bad = validateTrustDomain(td);
  if (bad) throw new ClusterError(`--trust-domain: ${bad}`, 'AMBIT_E_CLUSTER_OPTION');
  if (existing && existing !== td) {
    throw new ClusterError(`the CA in ${paths.ca} is for trust domain '${existing}', not '${td}'. Run cluster up with --trust-domain ${existing}, or remove that CA (rm -rf ${paths.ca}) to make a new one`, 'AMBIT_E_TRUST_DOMAIN_MISMATCH');
  }
  return td;
}

/** Removes the previous cluster's state but keeps a CA directory (`ambit ca init` may have made it). */
function resetStateDir(paths: ClusterPaths): void {
  if (!fs.existsSync(paths.root)) return;
  for (const e of fs.readdirSync(paths.root)) {
    const p = path.join(paths.root, e);
    if (p !== paths.ca) fs.rmSync(p, { recursive: true, force: true });
  }
}

/** One CA credential per node (nodes/<node>/ca-token, 0600); the node tunnel presents it to the CA. */
function provisionNodeTokens(paths: ClusterPaths, nodes: number): void {
  const auth = NodeAuthority.open(paths.ca);
  for (let i = 1; i <= nodes; i++) {
    const n = nodeName(i);
    const file = nodeCaTokenPath(paths, n);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeSecret(file, `${auth.issueNodeToken(n)}\n`);
  }
}

function writeSecret(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

function kubeconfig(name: string, port: number, token: string, caPem: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ambit-${name}`,
    'clusters:',
    `- name: ambit-${name}`,
    '  cluster:',
    `    server: https://127.0.0.1:${port}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'contexts:',
    `- name: ambit-${name}`,
    '  context:',
    `    cluster: ambit-${name}`,
    `    user: ambit-${name}-admin`,
    '    namespace: default',
    'users:',
    `- name: ambit-${name}-admin`,
    '  user:',
    `    token: ${token}`,
    '',
  ].join('\n');
}

export function startDaemon(args: string[], logFile: string): number {
  const out = fs.openSync(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [BIN, ...args], { detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.unref();
  if (!child.pid) throw new ClusterError(`could not start ${args[0]}`);
  return child.pid;
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new ClusterError(`${what} did not become ready within ${timeoutMs / 1000}s. Last lines of ${logFile}:\n${tail}`);
}

export interface UpOptions {
  name: string;
  nodes: number;
  apiPort?: number;
  /** SPIFFE trust domain (default: the existing CA's, else cluster.local). */
  trustDomain?: string;
  progress: (msg: string) => void;
}

export async function clusterUp(opts: UpOptions): Promise<ClusterInfo> {
  const bad = validateClusterName(opts.name);
  if (bad) throw new ClusterError(bad, 'AMBIT_E_CLUSTER_OPTION');
  if (!isRoot()) throw new NotRootError('ambit cluster up');
  requireTools(['ip', 'nft', 'curl', 'bash', 'timeout', 'openssl']);
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > MAX_NODES) throw new ClusterError(`--nodes must be 1-${MAX_NODES}`, 'AMBIT_E_CLUSTER_OPTION');
  const existing = readClusterInfo(opts.name);
  if (existing && pidAlive(existing.pids.controlPlane)) {
    throw new ClusterError(`cluster '${opts.name}' is already up (API on 127.0.0.1:${existing.apiPort}). Use it, or remove it with: ambit cluster down${opts.name === DEFAULT_CLUSTER ? '' : ` --name ${opts.name}`}`, 'AMBIT_E_CLUSTER_EXISTS');
  }
  const left = findLeftovers(opts.name);
  if (!isEmpty(left)) {
    throw new ClusterError(`leftovers of an earlier cluster '${opts.name}' exist (${left.netns.length} namespaces, ${left.pids.length} processes). Remove them with: ambit cluster down --force${opts.name === DEFAULT_CLUSTER ? '' : ` --name ${opts.name}`}`, 'AMBIT_E_CLUSTER_LEFTOVERS');
  }
  const paths = clusterPaths(opts.name);
  const trustDomain = chooseTrustDomain(paths, opts.trustDomain);
  resetStateDir(paths);
  for (const d of [paths.root, paths.dataDir, paths.logs, paths.pods, paths.bin, paths.nodes]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  // Pods run `ambit app ...` through this shim: same node binary, same build.
  fs.writeFileSync(path.join(paths.bin, 'ambit'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`, { mode: 0o755 });
  const port = await pickPort(opts.apiPort);
  const taken = new Set([port]);
  let caPort = await firstFreePort(DEFAULT_CA_PORT, taken, 'CA');
  const metricsPort = await firstFreePort(DEFAULT_METRICS_PORT, taken, 'metrics endpoint');
  const tunnelPorts: NonNullable<ClusterInfo['tunnelPorts']> = {};
  for (let i = 1; i <= opts.nodes; i++) {
    const n = nodeName(i);
    tunnelPorts[n] = {
      admin: await firstFreePort(DEFAULT_TUNNEL_PORTS.admin, taken, `${n} tunnel admin port`),
      stats: await firstFreePort(DEFAULT_TUNNEL_PORTS.stats, taken, `${n} tunnel stats port`),
      readiness: await firstFreePort(DEFAULT_TUNNEL_PORTS.readiness, taken, `${n} tunnel readiness port`),
    };
  }

  const tokens: TokenEntry[] = [{ token: randomBytes(32).toString('hex'), user: 'admin', role: 'admin' }];
  for (let i = 1; i <= opts.nodes; i++) tokens.push({ token: randomBytes(32).toString('hex'), user: `system:node:${nodeName(i)}`, role: 'node', node: nodeName(i) });
  writeSecret(paths.tokens, JSON.stringify(tokens, null, 2));
  const certs = createApiCerts(paths.root);
  writeSecret(paths.kubeconfig, kubeconfig(opts.name, port, tokens[0]!.token, fs.readFileSync(certs.caCert, 'utf8')));
  provisionNodeTokens(paths, opts.nodes);

  try {
    opts.progress(`creating network: fabric + ${opts.nodes} node namespaces`);
    await createClusterNetwork(opts.name, opts.nodes);
    opts.progress(`starting control plane on 127.0.0.1:${port}`);
    const cpLog = path.join(paths.logs, 'control-plane.log');
    const info: ClusterInfo = { name: opts.name, nodes: opts.nodes, apiPort: port, caPort, metricsPort, tunnelPorts, trustDomain, createdAt: new Date().toISOString(), pids: { controlPlane: 0, nodes: {}, tunnels: {} } };
    const client = adminClient.bind(null, opts.name);
    // The CA port was free when picked, but another process can bind it before the control
    // plane does (seen once in CI): then move to the next free port rather than fail the cluster.
    for (let attempt = 1; ; attempt++) {
      const logStart = fs.existsSync(cpLog) ? fs.statSync(cpLog).size : 0;
      info.pids.controlPlane = startDaemon(['control-plane', '--cluster', opts.name, '--port', String(port)], cpLog);
      fs.writeFileSync(paths.clusterFile, JSON.stringify(info, null, 2));
      const caTaken = (): boolean => !pidAlive(info.pids.controlPlane) && new RegExp(`EADDRINUSE[^\\n]*:${caPort}\\b`).test(fs.readFileSync(cpLog, 'utf8').slice(logStart));
      await waitFor('the control plane', async () => {
        if (caTaken()) return true;
        await client().request('GET', '/api');
        return true;
      }, 20_000, cpLog);
      await waitFor('the CA', async () => caTaken() || !(await portFree(caPort)), 20_000, cpLog);
      if (!caTaken()) break;
      if (attempt >= 3) throw new ClusterError(`the CA port ${caPort} was taken by another process ${attempt} times in a row; see ${cpLog}`, 'AMBIT_E_PORT_IN_USE');
      caPort = await firstFreePort(caPort + 1, taken, 'CA');
      info.caPort = caPort;
      opts.progress(`the CA port was taken meanwhile by another process; retrying on ${caPort}`);
    }
    const api = client();
    for (let i = 1; i <= opts.nodes; i++) {
      const n = nodeName(i);
      opts.progress(`starting node agent ${n}`);
      info.pids.nodes[n] = startDaemon(['node-agent', '--cluster', opts.name, '--node', n], path.join(paths.logs, `${n}.log`));
      opts.progress(`starting node tunnel ${n}`);
      info.pids.tunnels![n] = startDaemon(['node-tunnel', '--cluster', opts.name, '--node', n], path.join(paths.logs, `${n}-tunnel.log`));
    }
    fs.writeFileSync(paths.clusterFile, JSON.stringify(info, null, 2));
    await waitFor('the node agents', async () => {
      const nodes = (await api.list(K.Node)).items as NodeObject[];
      return nodes.filter(nodeIsReady).length >= opts.nodes;
    }, 20_000, path.join(paths.logs, 'node1.log'));
    opts.progress(`cluster '${opts.name}' is up: ${opts.nodes} nodes, API https://127.0.0.1:${port}, CA 127.0.0.1:${caPort} (trust domain ${trustDomain}), metrics http://127.0.0.1:${metricsPort}/metrics`);
    opts.progress(`node tunnels (admin/stats/readiness on 127.0.0.1): ${Object.entries(tunnelPorts).map(([n, p]) => `${n} ${p.admin}/${p.stats}/${p.readiness}`).join(', ')}`);
    return info;
  } catch (e) {
    opts.progress('cluster up failed; cleaning up what it started');
    await clusterDown({ name: opts.name, force: true, progress: () => undefined, keepLogs: true }).catch(() => undefined);
    throw e;
  }
}

/** Restarts the control plane process (also after it crashed); node agents reconnect by themselves. */
export async function restartControlPlane(name: string, progress: (m: string) => void): Promise<ClusterInfo> {
  if (!isRoot()) throw new NotRootError('ambit cluster restart');
  const info = readClusterInfo(name);
  if (!info) throw new ClusterError(`cluster '${name}' is not running; start it with: ambit cluster up`, 'AMBIT_E_CLUSTER_NOT_RUNNING');
  const paths = clusterPaths(name);
  progress(`stopping control plane (pid ${info.pids.controlPlane})`);
  await stopPid(info.pids.controlPlane, 5000);
  const cpLog = path.join(paths.logs, 'control-plane.log');
  info.pids.controlPlane = startDaemon(['control-plane', '--cluster', name, '--port', String(info.apiPort)], cpLog);
  fs.writeFileSync(paths.clusterFile, JSON.stringify(info, null, 2));
  const client = adminClient(name);
  await waitFor('the control plane', async () => {
    await client.request('GET', '/api');
    return true;
  }, 20_000, cpLog);
  const caPort = info.caPort;
  if (caPort !== undefined) await waitFor('the CA', async () => !(await portFree(caPort)), 20_000, cpLog);
  progress(`control plane running again (pid ${info.pids.controlPlane})`);
  return info;
}

export interface DownOptions {
  name: string;
  force: boolean;
  progress: (msg: string) => void;
  /** Keep logs (used when `up` fails, so the user can read why). */
  keepLogs?: boolean;
}

export async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pidAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  if (pidAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    // Wait for the kernel to tear it down, so callers can rely on it being gone.
    const killDeadline = Date.now() + 3000;
    while (Date.now() < killDeadline && fs.existsSync(`/proc/${pid}`) && pidAlive(pid)) await new Promise((r) => setTimeout(r, 20));
  }
}

export async function clusterDown(opts: DownOptions): Promise<void> {
  if (!isRoot()) throw new NotRootError('ambit cluster down');
  const info = readClusterInfo(opts.name);
  const paths = clusterPaths(opts.name);
  if (!info && !opts.force) {
    const left = findLeftovers(opts.name);
    if (isEmpty(left)) throw new ClusterError(`cluster '${opts.name}' is not running; nothing to remove`, 'AMBIT_E_CLUSTER_NOT_RUNNING', 'nothing to do; check the name with ambit cluster status --name NAME');
    throw new ClusterError(`cluster '${opts.name}' has no state file but leftovers exist; remove them with: ambit cluster down --force${opts.name === DEFAULT_CLUSTER ? '' : ` --name ${opts.name}`}`, 'AMBIT_E_CLUSTER_LEFTOVERS');
  }
  if (info) {
    // Supervisors (in the node agents) restart nothing from here on.
    info.stopping = true;
    fs.writeFileSync(paths.clusterFile, JSON.stringify(info, null, 2));
    // Node agents first: they stop their pods and remove the pod namespaces.
    opts.progress('stopping node agents and their pods');
    await Promise.all(Object.values(info.pids.nodes).map((pid) => stopPid(pid, 15_000)));
    opts.progress('stopping node tunnels');
    await Promise.all(Object.values(info.pids.tunnels ?? {}).map((pid) => stopPid(pid, 10_000)));
    opts.progress('stopping control plane');
    await stopPid(info.pids.controlPlane, 5000);
  }
  opts.progress('removing namespaces');
  await destroyClusterNetwork(opts.name);
  const rest = findLeftovers(opts.name);
  if (!isEmpty(rest)) await removeLeftovers(rest);
  if (opts.keepLogs) {
    for (const f of [paths.clusterFile, paths.tokens, paths.kubeconfig]) fs.rmSync(f, { force: true });
  } else {
    fs.rmSync(paths.root, { recursive: true, force: true });
  }
  opts.progress(`cluster '${opts.name}' removed`);
}

export interface ClusterStatus {
  info?: ClusterInfo;
  /** Process alive and its API answers. */
  controlPlane: boolean;
  /** tunnel: process alive and its readiness endpoint says ready. */
  nodes: { name: string; agent: boolean; tunnel: boolean; tunnelState: string; ready: boolean }[];
  paths: ClusterPaths;
}

/** 'ready', or why not: the process is gone, or its readiness endpoint says otherwise / does not answer. */
async function tunnelState(pid: number | undefined, port: number | undefined): Promise<string> {
  if (!pid || !pidAlive(pid)) return 'NOT RUNNING';
  if (port === undefined) return 'running';
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz/ready`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? 'ready' : `NOT READY (${(await r.text()).trim().slice(0, 120)})`;
  } catch {
    return `NOT READY (readiness port ${port} does not answer)`;
  }
}

export async function clusterStatus(name: string): Promise<ClusterStatus> {
  const paths = clusterPaths(name);
  const info = readClusterInfo(name);
  if (!info) return { controlPlane: false, nodes: [], paths };
  let readyNodes = new Set<string>();
  let cp = pidAlive(info.pids.controlPlane);
  if (cp) {
    const items = await adminClient(name).list(K.Node).then((l) => l.items as NodeObject[], () => undefined);
    cp = items !== undefined;
    readyNodes = new Set((items ?? []).filter(nodeIsReady).map((n) => n.metadata.name!));
  }
  const nodes = await Promise.all(
    Object.entries(info.pids.nodes).map(async ([n, pid]) => {
      const state = await tunnelState(info.pids.tunnels?.[n], info.tunnelPorts?.[n]?.readiness);
      const agent = pidAlive(pid);
      // A node whose agent is gone is not Ready, whatever the API still says (its lease may not have lapsed yet).
      return { name: n, agent, tunnel: state === 'ready' || state === 'running', tunnelState: state, ready: agent && readyNodes.has(n) };
    }),
  );
  return { info, controlPlane: cp, nodes, paths };
}
