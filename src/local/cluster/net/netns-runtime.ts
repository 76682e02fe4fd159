// PodRuntime backed by network namespaces: what the node agent of a local cluster uses
// to make pods. Composes pod-network, dns and processes for one node.
import { nodeName, nodeNetns } from '../addressing.js';
import type { HostEntry, PodRuntime, ProcessSpec, RunningProcess, Sandbox, SandboxRequest } from '../runtime.js';
import { writePodDns } from './dns.js';
import { createPodNetwork, deletePodNetwork, listPodNetworks } from './pod-network.js';
import { spawnInNetns } from './processes.js';

export interface NetnsPodRuntimeOptions {
  cluster: string;
  nodeIndex: number;
}

export class NetnsPodRuntime implements PodRuntime {
  readonly cluster: string;
  readonly nodeIndex: number;

  constructor(opts: NetnsPodRuntimeOptions) {
    this.cluster = opts.cluster;
    this.nodeIndex = opts.nodeIndex;
  }

  /** The node's own namespace (where the service rules live). */
  get nodeNetns(): string {
    return nodeNetns(this.cluster, nodeName(this.nodeIndex));
  }

  async createSandbox(_req: SandboxRequest, podIP: string): Promise<Sandbox> {
    const net = await createPodNetwork(this.cluster, this.nodeIndex, podIP);
    const sandbox = { podIP: net.podIP, netns: net.netns };
    // Write the DNS files before any process starts: `ip netns exec` bind-mounts only files
    // that exist at exec time, and later updates are made in place on those same files.
    try {
      this.writeDns(sandbox, [], []);
    } catch (e) {
      await deletePodNetwork(this.cluster, podIP).catch(() => undefined);
      throw e;
    }
    return sandbox;
  }

  async destroySandbox(sandbox: Sandbox): Promise<void> {
    await deletePodNetwork(this.cluster, sandbox.podIP);
  }

  startProcess(sandbox: Sandbox, spec: ProcessSpec): RunningProcess {
    return spawnInNetns(sandbox.netns, spec);
  }

  writeDns(sandbox: Sandbox, hosts: HostEntry[], search: string[]): void {
    writePodDns(sandbox.netns, hosts, search);
  }

  /** Sandboxes that exist on this node (after an agent restart: feed Ipam.restore). */
  listSandboxes(): Sandbox[] {
    return listPodNetworks(this.cluster, this.nodeIndex).map((p) => ({ podIP: p.podIP, netns: p.netns }));
  }
}
