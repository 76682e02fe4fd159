// What every system under benchmark provides to the `ambit bench` harness. A system carries the
// same client (pod A) → server (pod B) traffic its own way: plain TCP, Ambit's node tunnels,
// stunnel or haproxy TLS at both ends, or a wireguard-go tunnel between the two "nodes".
import type { BenchCa } from '../support/certs.js';
import type { ProcessSet } from '../support/lab.js';

export const SYSTEM_NAMES = ['plain', 'ambit', 'stunnel', 'haproxy', 'wireguard'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

export interface Endpoint {
  host: string;
  port: number;
}

/** The apps in pod B (all listen on every address of B). */
export type Service = 'iperf' | 'http' | 'echo';

export interface LabPod {
  netns: string;
  ip: string;
}

/** The shared lab every system is started in (built once per run by the harness). */
export interface Lab {
  id: string;
  /** Private (0700) scratch directory for configs, keys and logs; removed at teardown. */
  tmp: string;
  /** Client pod (A) and server pod (B), joined by one veth pair. */
  a: LabPod;
  b: LabPod;
  /** Ports of the apps in pod B. */
  ports: Record<Service, number>;
  procs: ProcessSet;
  /** Certificates every TLS system uses (ECDSA P-256, one throwaway CA). */
  certs: BenchCa;
}

/** A TLS server that does a full mTLS handshake per connection (for the handshake-rate measure). */
export interface HandshakeTarget {
  host: string;
  port: number;
  /** SNI / name to verify, if the server is checked by name; otherwise the IP is checked. */
  servername?: string;
  /** HTTP/2 ALPN the server requires (HBONE: 'h2'). */
  alpn?: string[];
  /** PIDs whose CPU pays for the server side of the handshake. */
  serverPids: () => number[];
}

export interface BenchSystem {
  readonly name: SystemName;
  /** One sentence for the report's method section: the path a byte takes. */
  readonly description: string;
  /** Starts the system's processes once per run; throws a clear error if it cannot. */
  start(lab: Lab): Promise<void>;
  /** Called before each measurement slot of this system (ambit: enroll the pods). */
  enter?(): Promise<void>;
  /** Called after each slot (ambit: unenroll, so other systems run uncaptured). */
  leave?(): Promise<void>;
  /** Where the client in pod A connects to reach a service in pod B. */
  target(service: Service): Endpoint;
  /** Proxy/tunnel processes on the client and the server side (empty for plain TCP). */
  pids(): { client: number[]; server: number[] };
  /** Full mTLS handshake target in pod B, if the system does TLS handshakes. */
  handshakeTarget?(): HandshakeTarget;
  /** Extra figures about the system itself after each measure (ambit: its tunnels' event-loop delay). */
  afterMeasure?(): Promise<Record<string, number>>;
  /** Checked after a slot: an error message if the traffic did not actually go through the system. */
  verify?(): Promise<string | undefined>;
  /** Stops everything it started (idempotent; also called on Ctrl-C). */
  stop(): Promise<void>;
}
