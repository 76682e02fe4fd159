// The seam between the node agent (kubelet role) and "how pods are made".
// The local runtime backs pods with network namespaces; a Kubernetes adapter would
// replace the whole node agent instead, so mesh code never imports this.

export interface SandboxRequest {
  namespace: string;
  name: string;
  uid: string;
}

export interface Sandbox {
  /** Pod IP on the node's pod CIDR. */
  podIP: string;
  /** Name of the pod's network namespace (under /run/netns). */
  netns: string;
}

export interface ProcessSpec {
  command: string[];
  env: Record<string, string>;
  /** File that receives stdout and stderr (appended). */
  logPath: string;
}

export interface RunningProcess {
  readonly pid: number;
  /** Resolves with the exit code (or 128+signal) when the process ends. */
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export interface HostEntry {
  ip: string;
  names: string[];
}

export interface PodRuntime {
  /** Creates the pod's network namespace, its veth to the node and its address. */
  createSandbox(req: SandboxRequest, podIP: string): Promise<Sandbox>;
  /** Kills whatever still runs in the sandbox and removes the namespace and links. */
  destroySandbox(sandbox: Sandbox): Promise<void>;
  /** Starts one container process inside the sandbox. */
  startProcess(sandbox: Sandbox, spec: ProcessSpec): RunningProcess;
  /** Name resolution inside the pod: hosts entries plus resolv.conf search domains. */
  writeDns(sandbox: Sandbox, hosts: HostEntry[], search: string[]): void;
}
