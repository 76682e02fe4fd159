// The cluster's wire: a fabric namespace holding bridge br0, and one namespace per node
// plugged into it, each routing the other nodes' pod CIDRs. Nothing is created in the
// host namespace, so clusters with different names coexist on the same addresses.
import { MAX_NODES, SERVICE_CIDR, clusterPrefix, fabricBridgeIP, fabricNetns, nodeFabricIP, nodeIndex, nodeName, nodeNetns, podCIDR, podGateway, validateClusterName } from '../addressing.js';
import { NotRootError, isRoot, requireTools } from '../../../platform/exec.js';
import { AmbitError } from '../../../lib/errors.js';
import { type Leftovers, findLeftovers, removeLeftovers } from './leftovers.js';
import { addNetns, execIn, ipBatchIn, listNetns } from './netns.js';

const BRIDGE = 'br0';
/** Nodes are set up concurrently (once the exec helpers are truly async), a few at a time. */
const PARALLEL_NODES = 16;

// Forwarding on. Reverse-path filtering off: the node routes by per-pod /32s plus DNAT,
// where a source check only drops legitimate asymmetric flows, and a new namespace's
// default depends on the host's sysctls. No ICMP redirects: hairpinned service traffic
// leaves on the interface it came in on, by design. Set before any link exists in the
// namespace, so links created later inherit conf/default.
const NODE_SYSCTLS = [
  'echo 1 > /proc/sys/net/ipv4/ip_forward',
  'for k in all default; do echo 0 > /proc/sys/net/ipv4/conf/$k/rp_filter; echo 0 > /proc/sys/net/ipv4/conf/$k/send_redirects; done',
].join('\n');

function checkArgs(cluster: string): void {
  const bad = validateClusterName(cluster);
  if (bad) throw new Error(bad);
}

export function clusterNetworkExists(cluster: string): boolean {
  checkArgs(cluster);
  return listNetns(clusterPrefix(cluster)).length > 0;
}

/** Indices of the node namespaces that exist for cluster, ascending. */
export function listClusterNodes(cluster: string): number[] {
  checkArgs(cluster);
  const prefix = clusterPrefix(cluster);
  return listNetns(`${prefix}node`)
    .map((ns) => ns.slice(prefix.length))
    .filter((n) => /^node\d+$/.test(n))
    .map(nodeIndex)
    .sort((a, b) => a - b);
}

export async function createClusterNetwork(cluster: string, nodeCount: number): Promise<void> {
  checkArgs(cluster);
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_NODES) {
    throw new Error(`node count must be an integer from 1 to ${MAX_NODES}, got ${nodeCount}`);
  }
  if (!isRoot()) throw new NotRootError('creating a cluster network');
  requireTools(['ip']);
  if (clusterNetworkExists(cluster)) throw new AmbitError('AMBIT_E_CLUSTER_LEFTOVERS', `cluster network '${cluster}' already exists; run ambit cluster down`);

  const nodes = Array.from({ length: nodeCount }, (_, i) => i + 1);
  try {
    // The fabric first and alone: the first `ip netns add` also sets up /run/netns mounts.
    await createFabric(cluster);
    await inBatches(nodes, PARALLEL_NODES, (i) => createNode(cluster, i));
    await inBatches(nodes, PARALLEL_NODES, (i) => routeToPeers(cluster, i, nodes));
  } catch (e) {
    // Leave nothing half-built behind; the original error says what failed.
    await destroyClusterNetwork(cluster).catch(() => undefined);
    throw e;
  }
}

/** Removes every namespace of the cluster (fabric, nodes, pods), the processes in them and their /etc/netns files. */
export async function destroyClusterNetwork(cluster: string): Promise<Leftovers> {
  checkArgs(cluster);
  const found = findLeftovers(cluster);
  await removeLeftovers(found);
  return found;
}

async function createFabric(cluster: string): Promise<void> {
  const ns = fabricNetns(cluster);
  await addNetns(ns);
  await ipBatchIn(ns, [
    'link set lo up',
    `link add ${BRIDGE} type bridge`,
    `addr add ${fabricBridgeIP}/24 dev ${BRIDGE}`,
    `link set ${BRIDGE} up`,
  ]);
}

async function createNode(cluster: string, i: number): Promise<void> {
  const ns = nodeNetns(cluster, nodeName(i));
  const fabric = fabricNetns(cluster);
  await addNetns(ns);
  await execIn(ns, ['sh', '-ec', NODE_SYSCTLS]);
  await ipBatchIn(ns, [
    'link set lo up',
    // The pods' default gateway. On lo it is a local address of the node, so the node
    // answers ARP for it on every pod veth (arp_ignore=0) without any per-pod address.
    `addr add ${podGateway(i)}/32 dev lo`,
    // Node side eth0, fabric side named after the node (unique on the bridge).
    `link add eth0 type veth peer name ${nodeName(i)} netns ${fabric}`,
    `addr add ${nodeFabricIP(i)}/24 dev eth0`,
    'link set eth0 up',
    // Service VIPs are DNATed by nftables; locally generated packets still need a route
    // before the output hook runs. Un-DNATed VIP traffic is rejected by the service rules.
    `route add ${SERVICE_CIDR} via ${fabricBridgeIP}`,
  ]);
  await ipBatchIn(fabric, [`link set ${nodeName(i)} master ${BRIDGE}`, `link set ${nodeName(i)} up`]);
}

async function routeToPeers(cluster: string, i: number, nodes: number[]): Promise<void> {
  const routes = nodes.filter((j) => j !== i).map((j) => `route add ${podCIDR(j)} via ${nodeFabricIP(j)}`);
  if (routes.length > 0) await ipBatchIn(nodeNetns(cluster, nodeName(i)), routes);
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    // allSettled: a failure must not leave siblings still running while the caller cleans up.
    const results = await Promise.allSettled(items.slice(start, start + size).map(fn));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
