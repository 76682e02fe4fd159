// What every CLI command needs: the cluster name (from --cluster or AMBIT_CLUSTER) and a client.
import type { KubeClient } from '../kube/kube-client.js';
import { adminClient, DEFAULT_CLUSTER } from '../local/cluster/lifecycle.js';

export { UsageError } from './help.js';

export interface Ctx {
  cluster: string;
  client(): KubeClient;
  out: (s: string) => void;
  err: (s: string) => void;
}

export function makeCtx(cluster: string | undefined): Ctx {
  const name = cluster ?? process.env['AMBIT_CLUSTER'] ?? DEFAULT_CLUSTER;
  let c: KubeClient | undefined;
  return {
    cluster: name,
    client: () => (c ??= adminClient(name)),
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  };
}
