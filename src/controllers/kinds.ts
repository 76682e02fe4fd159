// Kind handles the controllers and agents use.
import { KINDS, type KindInfo } from '../model/core/kinds.js';

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
