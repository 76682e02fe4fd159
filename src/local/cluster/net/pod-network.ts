// A pod's network: its own namespace, a veth to its node (node side vp<host>, pod side
// eth0), the pod IP, a default route via the node, and the node's /32 route back.
import { FIRST_POD_HOST, LAST_POD_HOST, clusterPrefix, nodeName, nodeNetns, podGateway, podNetns, podVethName } from '../addressing.js';
import { NotRootError, isRoot, requireTools } from '../../../platform/exec.js';
import { deleteNetns, terminateInNetns } from './leftovers.js';
import { addNetns, ipBatchIn, ipIn, listNetns, netnsExists } from './netns.js';

export interface PodNetwork {
  podIP: string;
  /** The pod's namespace name. */
  netns: string;
  nodeIndex: number;
}

/** Splits 10.0.<node>.<host>; throws unless it is a pod IP. */
export function parsePodIP(ip: string): { nodeIndex: number; host: number } {
  const m = /^10\.0\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  const nodeIndex = Number(m?.[1]);
  const host = Number(m?.[2]);
  if (!m || !(nodeIndex >= 1 && nodeIndex <= 255) || !(host >= FIRST_POD_HOST && host <= LAST_POD_HOST)) {
    throw new Error(`'${ip}' is not a pod IP (expected 10.0.<node>.<${FIRST_POD_HOST}-${LAST_POD_HOST}>)`);
  }
  return { nodeIndex, host };
}

// Routing design (no bridge and no proxy ARP in the node):
//  - the pod's address is <ip>/24 but `noprefixroute`, so the pod has no on-link route to
//    its neighbours and sends everything, same-node pods included, to the gateway;
//  - `default via <gw> dev eth0 onlink` reaches the gateway without a connected route;
//  - the gateway address sits on the node's lo (see fabric.ts), and the node answers ARP
//    for any local address, so it answers on every pod veth;
//  - the node reaches each pod by a /32 route on that pod's veth.
export async function createPodNetwork(cluster: string, nodeIdx: number, ip: string): Promise<PodNetwork> {
  const parsed = parsePodIP(ip);
  if (parsed.nodeIndex !== nodeIdx) throw new Error(`pod IP ${ip} is not in ${nodeName(nodeIdx)}'s pod CIDR`);
  if (!isRoot()) throw new NotRootError('creating a pod network');
  requireTools(['ip']);
  const node = nodeNetns(cluster, nodeName(nodeIdx));
  const pod = podNetns(cluster, ip);
  const veth = podVethName(ip);
  if (!netnsExists(node)) throw new Error(`node namespace '${node}' does not exist; run ambit cluster up first`);
  if (netnsExists(pod)) throw new Error(`pod network ${pod} already exists (IP ${ip} in use)`);

  // No namespace means no pod: a vp link of that name is a leftover of a failed create.
  await ipIn(node, ['link', 'delete', veth]).catch(() => undefined);
  await addNetns(pod);
  try {
    await ipIn(node, ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
    await ipIn(node, ['link', 'set', veth, 'up']);
    await ipBatchIn(pod, [
      'link set lo up',
      `addr add ${ip}/24 dev eth0 noprefixroute`,
      'link set eth0 up',
      `route add default via ${podGateway(nodeIdx)} dev eth0 onlink`,
    ]);
    await ipIn(node, ['route', 'add', `${ip}/32`, 'dev', veth]);
  } catch (e) {
    await ipIn(node, ['link', 'delete', veth]).catch(() => undefined);
    try {
      deleteNetns(pod);
    } catch {
      // the original error is the useful one; `ambit cluster down` removes the rest
    }
    throw e;
  }
  return { podIP: ip, netns: pod, nodeIndex: nodeIdx };
}

/**
 * Kills what runs in the pod, then removes the veth (and with it the node's /32 route),
 * the namespace and /etc/netns/<netns>. Deleting the link explicitly matters: namespace
 * teardown is asynchronous in the kernel, and the IP's vp name may be reused soon.
 * Deleting a pod that is already gone is not an error.
 */
export async function deletePodNetwork(cluster: string, ip: string): Promise<void> {
  const { nodeIndex: nodeIdx } = parsePodIP(ip);
  const node = nodeNetns(cluster, nodeName(nodeIdx));
  const pod = podNetns(cluster, ip);
  await terminateInNetns([pod]);
  if (netnsExists(node)) await ipIn(node, ['link', 'delete', podVethName(ip)]).catch(() => undefined);
  deleteNetns(pod);
}

/** Pod networks that exist for a node (or the whole cluster), e.g. to rebuild IPAM after a restart. */
export function listPodNetworks(cluster: string, nodeIdx?: number): PodNetwork[] {
  const prefix = `${clusterPrefix(cluster)}pod-`;
  const out: PodNetwork[] = [];
  for (const ns of listNetns(prefix)) {
    const ip = ns.slice(prefix.length).replaceAll('-', '.');
    try {
      const parsed = parsePodIP(ip);
      if (nodeIdx === undefined || parsed.nodeIndex === nodeIdx) out.push({ podIP: ip, netns: ns, nodeIndex: parsed.nodeIndex });
    } catch {
      // not one of ours (name does not decode to a pod IP): ignore
    }
  }
  return out;
}
