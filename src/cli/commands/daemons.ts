// The long-running processes `ambit cluster up` starts: `ambit control-plane`, and per node
// `ambit node-agent` and `ambit node-tunnel`. Each runs until SIGTERM, then shuts down cleanly.
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { apiCertPaths } from '../../cluster/api-certs.js';
import type { TokenEntry } from '../../apiserver/auth.js';
import { KubeClient } from '../../client/kube-client.js';
import { nodeFabricIP, nodeIndex, nodeNetns } from '../../cluster/addressing.js';
import { readClusterInfo } from '../../cluster/lifecycle.js';
import { NetnsPodRuntime } from '../../cluster/net/netns-runtime.js';
import { clusterPaths, nodeCaTokenPath, nodeTunnelReadyPath, nodeTunnelSocketPath } from '../../cluster/paths.js';
import * as path from 'node:path';
import { readTokens, startControlPlane } from '../../control/app.js';
import { DEFAULT_TRUST_DOMAIN } from '../../identity/spiffe.js';
import { parseDuration } from '../../lib/duration.js';
import { logger } from '../../lib/log.js';
import { NodeAgent } from '../../node-agent/agent.js';
import { TunnelLink } from '../../node-agent/tunnel-link.js';
import { drainDeadlineMs, startNodeTunnelDaemon } from '../../node/daemon.js';
import { parseThreads } from '../../node/workers.js';
import * as os from 'node:os';
import { startTunnelOperations } from '../../node/operations.js';
import { UsageError } from '../context.js';
import { CP_FLAGS, NODE_FLAGS } from '../specs.js';

/**
 * Daemons end with an explicit exit once their shutdown is done, and at the latest after
 * `deadlineMs`: a stray timer or socket must never keep a stopped daemon alive.
 */
async function shutdown(log: (m: string) => void, deadlineMs: number, close: () => Promise<void>): Promise<number> {
  const watchdog = setTimeout(() => {
    log(`shutdown did not finish within ${deadlineMs / 1000}s; exiting anyway`);
    process.exit(1);
  }, deadlineMs);
  await close();
  clearTimeout(watchdog);
  process.exit(0);
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

export async function controlPlaneCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: CP_FLAGS });
  if (!values.cluster || !values.port) throw new UsageError('control-plane needs --cluster NAME and --port PORT (ambit cluster up starts it)');
  const paths = clusterPaths(values.cluster);
  const log = logger('control-plane');
  const tokens: TokenEntry[] = readTokens(paths.tokens);
  const certs = apiCertPaths(paths.root);
  const tls = { cert: fs.readFileSync(certs.serverCert, 'utf8'), key: fs.readFileSync(certs.serverKey, 'utf8'), ca: fs.readFileSync(certs.caCert, 'utf8') };
  // The mesh CA and /metrics ports were chosen by `cluster up` (cluster.json); a cluster.json
  // from before the CA existed runs without them.
  const info = readClusterInfo(values.cluster);
  const ca = info?.caPort !== undefined ? { dir: paths.ca, trustDomain: info.trustDomain ?? DEFAULT_TRUST_DOMAIN, port: info.caPort } : undefined;
  const cp = await startControlPlane({ dataDir: paths.dataDir, port: Number(values.port), tokens, tls, log, ...(ca ? { ca } : {}), ...(info?.metricsPort !== undefined ? { metricsPort: info.metricsPort } : {}) });
  const sig = await untilSignal();
  log(`${sig}: shutting down`);
  return shutdown(log, 4000, () => cp.close());
}

export async function nodeAgentCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: NODE_FLAGS });
  if (!values.cluster || !values.node) throw new UsageError('node-agent needs --cluster NAME and --node nodeN (ambit cluster up starts it)');
  const cluster = values.cluster;
  const node = values.node;
  const paths = clusterPaths(cluster);
  const info = readClusterInfo(cluster);
  if (!info) throw new Error(`no cluster state in ${paths.clusterFile}`);
  const entry = readTokens(paths.tokens).find((t) => t.role === 'node' && t.node === node);
  if (!entry) throw new Error(`no credential for ${node} in ${paths.tokens}`);
  const log = logger(`node-agent/${node}`);
  const idx = nodeIndex(node);
  // The enrollment socket exists before any pod starts, so no pod misses capture.
  const tunnel = new TunnelLink(nodeTunnelSocketPath(paths, node), log);
  await tunnel.listen();
  const agent = new NodeAgent({
    tunnel,
    client: new KubeClient({ baseUrl: `https://127.0.0.1:${info.apiPort}`, token: entry.token, ca: fs.readFileSync(apiCertPaths(paths.root).caCert, 'utf8') }),
    runtime: new NetnsPodRuntime({ cluster, nodeIndex: idx }),
    nodeIndex: idx,
    nodeNetns: nodeNetns(cluster, node),
    paths,
    log,
  });
  await agent.start();
  log('started');
  const sig = await untilSignal();
  log(`${sig}: stopping pods`);
  return shutdown(log, 13_000, async () => {
    await agent.stop();
    await tunnel.close();
  });
}

export async function nodeTunnelCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: NODE_FLAGS });
  if (!values.cluster || !values.node) throw new UsageError('node-tunnel needs --cluster NAME and --node nodeN (ambit cluster up starts it)');
  const paths = clusterPaths(values.cluster);
  const info = readClusterInfo(values.cluster);
  if (!info) throw new Error(`no cluster state in ${paths.clusterFile}`);
  if (info.caPort === undefined) throw new Error(`cluster '${values.cluster}' has no mesh CA port in ${paths.clusterFile}; recreate it with ambit cluster up`);
  const node = values.node;
  const log = logger(`node-tunnel/${node}`);
  // ztunnel's knob, same format ("24h", "90m"): how long workload certificates live.
  const ttl = process.env['SECRET_TTL'];
  const certTtlSeconds = ttl ? Math.round(parseDuration(ttl) / 1000) : undefined;
  if (certTtlSeconds !== undefined && certTtlSeconds < 60) throw new Error(`SECRET_TTL=${ttl}: must be at least 60s`);
  const daemon = startNodeTunnelDaemon({
    node,
    nodeIp: nodeFabricIP(nodeIndex(node)),
    controlPlane: `127.0.0.1:${info.caPort}`,
    rootsFile: path.join(paths.ca, 'roots.pem'),
    crlFile: path.join(paths.ca, 'crl.pem'),
    caCertFile: path.join(paths.ca, 'ca-cert.pem'),
    tokenFile: nodeCaTokenPath(paths, node),
    zdsSocket: nodeTunnelSocketPath(paths, node),
    trustDomain: info.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    ...(certTtlSeconds !== undefined ? { certTtlSeconds } : {}),
    readyFile: nodeTunnelReadyPath(paths, node),
    threads: parseThreads(process.env['ZTUNNEL_WORKER_THREADS'], os.availableParallelism()),
    log,
  });
  const opsPorts = info.tunnelPorts?.[node];
  const ops = opsPorts ? startTunnelOperations(daemon, { node, ports: opsPorts, trustDomain: info.trustDomain ?? DEFAULT_TRUST_DOMAIN, log }) : undefined;
  const deadlineMs = drainDeadlineMs(process.env, parseDuration);
  log(`started (drain deadline ${deadlineMs} ms, ${daemon.threads} data-plane thread(s))`);
  const sig = await untilSignal();
  log(`${sig}: stopping — no new connections, draining open ones (capture rules stay: until a tunnel serves the pods, their traffic is refused)`);
  return shutdown(log, deadlineMs + 3000, async () => (await ops?.close(), await daemon.close(deadlineMs)));
}
