// The long-running processes `ambit cluster up` starts: `ambit control-plane`, and per node
// `ambit node-agent` and `ambit node-tunnel`. Each reads its typed config once at start
// (daemon-config.ts), then runs until SIGTERM and shuts down cleanly.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apiCertPaths } from '../../local/cluster/api-certs.js';
import type { TokenEntry } from '../../local/apiserver/auth.js';
import { nodeTokenKeyPath } from '../../ca/node-auth.js';
import { KubeClient } from '../../kube/kube-client.js';
import { nodeFabricIP, nodeIndex, nodeNetns } from '../../local/cluster/addressing.js';
import { ClusterError, DEFAULT_CLUSTER, readAdminToken, readClusterInfo, type ClusterInfo } from '../../local/cluster/lifecycle.js';
import { startSupervisor } from '../../local/cluster/supervisor.js';
import { NetnsPodRuntime } from '../../local/cluster/net/netns-runtime.js';
import { clusterPaths, nodeCaTokenPath, nodeTunnelReadyPath, nodeTunnelSocketPath, type ClusterPaths } from '../../local/cluster/paths.js';
import { readTokens, startControlPlane, type LocalMeshConfig } from '../../local/control-plane.js';
import { DEFAULT_TRUST_DOMAIN } from '../../identity/spiffe.js';
import { logger, setLogLevel } from '../../lib/log.js';
import { NodeAgent } from '../../local/node-agent/agent.js';
import { TunnelLink } from '../../local/node-agent/tunnel-link.js';
import { CONTROL_PLANE_RELAY_PORT, startControlPlaneRelay } from '../../local/node-agent/waypoint-pods.js';
import { podGateway } from '../../local/cluster/addressing.js';
import { startNodeTunnelDaemon } from '../../node-tunnel/daemon.js';
import { startTunnelOperations } from '../../node-tunnel/operations.js';
import { loadControlPlaneConfig, loadNodeAgentConfig, loadNodeTunnelConfig } from './daemon-config.js';
import { shutdown, untilSignal } from './daemon-lifecycle.js';

/**
 * The mesh control plane of a local cluster: its CA directory, and the CA and /metrics ports
 * `cluster up` chose (cluster.json); a cluster.json from before the CA existed runs without it.
 */
export function localMeshConfig(paths: ClusterPaths, info: ClusterInfo | undefined): LocalMeshConfig | undefined {
  if (info?.caPort === undefined) return undefined;
  return {
    clusterId: 'Kubernetes',
    trustDomain: info.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    systemNamespace: 'istio-system',
    caDir: paths.ca,
    nodeTokenKeyFile: nodeTokenKeyPath(paths.ca),
    grpc: { host: '127.0.0.1', port: info.caPort },
    ...(info.metricsPort !== undefined ? { monitoring: { host: '127.0.0.1', port: info.metricsPort } } : {}),
  };
}

export async function controlPlaneCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const cfg = loadControlPlaneConfig(args, env);
  if (cfg instanceof Error) throw cfg;
  setLogLevel(cfg.logLevel);
  const paths = clusterPaths(cfg.cluster, cfg.stateDir);
  const log = logger('control-plane');
  const tokens: TokenEntry[] = readTokens(paths.tokens);
  const certs = apiCertPaths(paths.root);
  const tls = { cert: fs.readFileSync(certs.serverCert, 'utf8'), key: fs.readFileSync(certs.serverKey, 'utf8'), ca: fs.readFileSync(certs.caCert, 'utf8') };
  const mesh = localMeshConfig(paths, readClusterInfo(cfg.cluster, cfg.stateDir));
  const cp = await startControlPlane({ dataDir: paths.dataDir, port: cfg.apiPort, tokens, tls, log, ...(mesh ? { mesh } : {}) });
  const sig = await untilSignal();
  log(`${sig}: shutting down`);
  return shutdown(log, 4000, () => cp.close());
}

/** A daemon started for a cluster that is not up (ambit cluster up starts them itself). */
const noClusterState = (cluster: string, paths: ClusterPaths): ClusterError =>
  new ClusterError(`no cluster state in ${paths.clusterFile}`, 'AMBIT_E_CLUSTER_NOT_RUNNING', `start the cluster with: ambit cluster up${cluster === DEFAULT_CLUSTER ? '' : ` --name ${cluster}`} (it starts this daemon), or pass the --cluster (and AMBIT_STATE_DIR) it runs under`);

export async function nodeAgentCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const cfg = loadNodeAgentConfig(args, env);
  if (cfg instanceof Error) throw cfg;
  setLogLevel(cfg.logLevel);
  const { cluster, node } = cfg;
  const paths = clusterPaths(cluster, cfg.stateDir);
  const info = readClusterInfo(cluster, cfg.stateDir);
  if (!info) throw noClusterState(cluster, paths);
  const entry = readTokens(paths.tokens).find((t) => t.role === 'node' && t.node === node);
  if (!entry) throw new ClusterError(`no credential for ${node} in ${paths.tokens}`, 'AMBIT_E_CLUSTER_STATE');
  const log = logger(`node-agent/${node}`);
  const idx = nodeIndex(node);
  // The enrollment socket exists before any pod starts, so no pod misses capture.
  const tunnel = new TunnelLink(nodeTunnelSocketPath(paths, node), log);
  await tunnel.listen();
  // Waypoint pods reach the control plane through a relay on their gateway address (see waypoint-pods.ts).
  let relay: import('node:net').Server | undefined;
  if (info.caPort !== undefined) {
    try {
      relay = startControlPlaneRelay(`/run/netns/${nodeNetns(cluster, node)}`, podGateway(idx), { host: '127.0.0.1', port: info.caPort }, log);
    } catch (e) {
      log(`control-plane relay for waypoint pods not started: ${(e as Error).message}`);
    }
  }
  const agent = new NodeAgent({
    ...(relay
      ? {
          waypoint: {
            trustDomain: info.trustDomain ?? DEFAULT_TRUST_DOMAIN,
            clusterId: 'Kubernetes',
            controlPlane: `${podGateway(idx)}:${CONTROL_PLANE_RELAY_PORT}`,
            caRootFile: path.join(paths.ca, 'roots.pem'),
          },
        }
      : {}),
    tunnel,
    client: new KubeClient({ baseUrl: `https://127.0.0.1:${info.apiPort}`, token: entry.token, ca: fs.readFileSync(apiCertPaths(paths.root).caCert, 'utf8') }),
    runtime: new NetnsPodRuntime({ cluster, nodeIndex: idx }),
    nodeIndex: idx,
    nodeNetns: nodeNetns(cluster, node),
    paths,
    log,
  });
  await agent.start();
  // Like a kubelet for its DaemonSet pod: this node's tunnel (and, on node1, the control plane and peer agents) come back when they die.
  const supervisor = startSupervisor({ cluster, node, ...(cfg.stateDir !== undefined ? { root: cfg.stateDir } : {}), log });
  log('started');
  const sig = await untilSignal();
  supervisor.stop();
  log(`${sig}: stopping pods`);
  return shutdown(log, 13_000, async () => {
    await agent.stop();
    relay?.close();
    await tunnel.close();
  });
}

export async function nodeTunnelCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const cfg = loadNodeTunnelConfig(args, env, os.availableParallelism());
  if (cfg instanceof Error) throw cfg;
  setLogLevel(cfg.logLevel);
  const { node } = cfg;
  const paths = clusterPaths(cfg.cluster, cfg.stateDir);
  const info = readClusterInfo(cfg.cluster, cfg.stateDir);
  if (!info) throw noClusterState(cfg.cluster, paths);
  if (info.caPort === undefined && cfg.xdsAddress === undefined) throw new ClusterError(`cluster '${cfg.cluster}' has no mesh CA port in ${paths.clusterFile}; recreate it with ambit cluster up (or set XDS_ADDRESS)`, 'AMBIT_E_CLUSTER_STATE');
  const log = logger(`node-tunnel/${node}`);
  const xdsAddress = cfg.xdsAddress ?? `127.0.0.1:${info.caPort}`;
  const daemon = startNodeTunnelDaemon({
    node,
    nodeIp: nodeFabricIP(nodeIndex(node)),
    controlPlane: xdsAddress,
    ...(cfg.caAddress !== undefined ? { caAddress: cfg.caAddress } : {}),
    rootsFile: path.join(paths.ca, 'roots.pem'),
    crlFile: path.join(paths.ca, 'crl.pem'),
    caCertFile: path.join(paths.ca, 'ca-cert.pem'),
    tokenFile: nodeCaTokenPath(paths, node),
    zdsSocket: nodeTunnelSocketPath(paths, node),
    trustDomain: info.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    clusterId: cfg.clusterId,
    ...(cfg.certTtlSeconds !== undefined ? { certTtlSeconds: cfg.certTtlSeconds } : {}),
    readyFile: nodeTunnelReadyPath(paths, node),
    threads: cfg.threads,
    log,
  });
  const opsPorts = info.tunnelPorts?.[node];
  const ops = opsPorts ? startTunnelOperations(daemon, { node, ports: opsPorts, trustDomain: info.trustDomain ?? DEFAULT_TRUST_DOMAIN, log, adminToken: () => readAdminToken(cfg.cluster, cfg.stateDir) }) : undefined;
  const deadlineMs = cfg.drainDeadlineMs;
  log(`started (drain deadline ${deadlineMs} ms, ${daemon.threads} data-plane thread(s))`);
  const sig = await untilSignal();
  log(`${sig}: stopping — no new connections, draining open ones (capture rules stay: until a tunnel serves the pods, their traffic is refused)`);
  return shutdown(log, deadlineMs + 3000, async () => (await ops?.close(), await daemon.close(deadlineMs)));
}
