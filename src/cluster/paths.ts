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
  };
}

export const podLogPath = (p: ClusterPaths, ns: string, name: string): string => path.join(p.pods, `${ns}_${name}.log`);
