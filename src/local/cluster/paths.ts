// Where a cluster keeps its state on disk. AMBIT_STATE_DIR overrides the root (tests).
import * as path from 'node:path';

export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env['AMBIT_STATE_DIR'] ?? '/var/lib/ambit';
}

export interface ClusterPaths {
  root: string;
  dataDir: string;
  tokens: string;
  kubeconfig: string;
  clusterFile: string;
  logs: string;
  pods: string;
  bin: string;
  /** The mesh CA (authority files, node-token key); kept by `cluster up` if it exists. */
  ca: string;
  /** Per-node credentials: nodes/<node>/ca-token. */
  nodes: string;
}

export function clusterPaths(cluster: string, root = stateRoot()): ClusterPaths {
  const dir = path.join(root, cluster);
  return {
    root: dir,
    dataDir: path.join(dir, 'data'),
    tokens: path.join(dir, 'tokens.json'),
    kubeconfig: path.join(dir, 'kubeconfig'),
    clusterFile: path.join(dir, 'cluster.json'),
    logs: path.join(dir, 'logs'),
    pods: path.join(dir, 'pods'),
    bin: path.join(dir, 'bin'),
    ca: path.join(dir, 'ca'),
    nodes: path.join(dir, 'nodes'),
  };
}

export const podLogPath = (p: ClusterPaths, ns: string, name: string): string => path.join(p.pods, `${ns}_${name}.log`);
/** The node's CA credential (a node token; see ca/node-auth.ts), mode 0600. */
export const nodeCaTokenPath = (p: ClusterPaths, node: string): string => path.join(p.nodes, node, 'ca-token');
/** The node agent ⇄ node tunnel enrollment socket (Istio: /var/run/ztunnel/ztunnel.sock). */
export const nodeTunnelSocketPath = (p: ClusterPaths, node: string): string => path.join(p.nodes, node, 'ztunnel.sock');
/** Holds the pid of the node tunnel that serves (written once it is synced); a handoff waits for the new pid. */
export const nodeTunnelReadyPath = (p: ClusterPaths, node: string): string => path.join(p.nodes, node, 'tunnel.ready');
