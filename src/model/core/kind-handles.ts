// Kind handles (`K.Pod`, `K.ConfigMap`, ...) for any API client: the controllers, the node
// agents and the mesh control plane. Here, not under controllers/, so the mesh control plane
// can use them without depending on the local cluster's stand-in.
import { KINDS, type KindInfo } from './kinds.js';

const byKind = (kind: string): KindInfo => {
  const k = KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(`unknown kind ${kind}`);
  return k;
};

export const K = {
  Namespace: byKind('Namespace'),
  Node: byKind('Node'),
  Pod: byKind('Pod'),
  Service: byKind('Service'),
  Endpoints: byKind('Endpoints'),
  Deployment: byKind('Deployment'),
  ServiceAccount: byKind('ServiceAccount'),
  ConfigMap: byKind('ConfigMap'),
};
