// The address and naming plan of a local cluster. Pure: no I/O.
//
//   fabric netns  ambit-<cluster>-fabric   bridge br0, 10.255.0.254/24
//   node i netns  ambit-<cluster>-node<i>  eth0 10.255.0.<i>/24 on the fabric, gateway of 10.0.<i>.0/24
//   pod netns     ambit-<cluster>-pod-10-0-<i>-<p>   eth0 10.0.<i>.<p>/24, default via 10.0.<i>.1
//   services      10.96.0.0/16 (ClusterIP VIPs, DNAT in each node netns)
//
// Every cluster lives in its own namespaces, so two clusters may reuse the same addresses.

export const NETNS_PREFIX = 'ambit-';
export const FABRIC_CIDR_PREFIX = '10.255.0.';
export const SERVICE_CIDR = '10.96.0.0/16';
export const MAX_NODES = 250;
export const FIRST_POD_HOST = 2;
export const LAST_POD_HOST = 254;

const CLUSTER_NAME = /^[a-z][a-z0-9]{0,11}$/;

export function validateClusterName(name: string): string | undefined {
  if (!CLUSTER_NAME.test(name)) return `cluster name '${name}' must be 1-12 lowercase letters/digits, starting with a letter`;
  return undefined;
}

export const nodeName = (index: number): string => `node${index}`;

export function nodeIndex(name: string): number {
  const m = /^node(\d+)$/.exec(name);
  if (!m) throw new Error(`'${name}' is not a node name (expected node<N>)`);
  return Number(m[1]);
}

export const clusterPrefix = (cluster: string): string => `${NETNS_PREFIX}${cluster}-`;
export const fabricNetns = (cluster: string): string => `${clusterPrefix(cluster)}fabric`;
export const nodeNetns = (cluster: string, node: string): string => `${clusterPrefix(cluster)}${node}`;
export const podNetns = (cluster: string, podIP: string): string => `${clusterPrefix(cluster)}pod-${podIP.replaceAll('.', '-')}`;

export const nodeFabricIP = (index: number): string => `${FABRIC_CIDR_PREFIX}${index}`;
export const fabricBridgeIP = `${FABRIC_CIDR_PREFIX}254`;
export const podCIDR = (index: number): string => `10.0.${index}.0/24`;
export const podGateway = (index: number): string => `10.0.${index}.1`;
export const podIP = (nodeIdx: number, host: number): string => `10.0.${nodeIdx}.${host}`;
/** Name of the node-side veth of a pod: unique inside its node netns, <= 15 chars. */
export const podVethName = (podIPAddr: string): string => `vp${podIPAddr.split('.')[3]}`;
