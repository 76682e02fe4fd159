// The admin /config_dump document (spec §8.3, ztunnel's shape where it has one): the mesh
// config this tunnel holds (workloads, services, policies), its certificates — public parts
// only: identity, state, serial, validity, chain and root PEMs — the enrolled pods and the open
// connections. Pure (parsing certificates is CPU only).
import type { Authorization, MeshSnapshot, Service, Workload } from '../../mesh-api/types.js';
import type { CertSnapshot } from '../../identity/cert-manager.js';
import { certFacts, splitPemCerts } from '../../identity/x509.js';
import type { ConnectionRecord } from '../connections.js';

export interface CertDumpEntry {
  pem: string;
  serialNumber?: string;
  validFrom?: string;
  expirationTime?: string;
}

export interface CertificateDump {
  identity: string;
  state: string;
  serialNumber?: string;
  validFrom?: string;
  expirationTime?: string;
  refreshAt?: string;
  attempts: number;
  lastError?: string;
  /** Leaf first, then intermediates. */
  certChain: CertDumpEntry[];
  rootCerts: CertDumpEntry[];
}

export interface ConnectionDump extends ConnectionRecord {
  ageMs: number;
  /** Present when the tunnel reports live byte counts for open connections. */
  bytesSent?: number;
  bytesRecv?: number;
}

export interface ConfigDump {
  node: string;
  config: { ports: { admin: number; stats: number; readiness: number }; logLevel: string; trustDomain?: string };
  xds: { connected: boolean; synced: boolean; stats: Record<string, number> };
  enrollment: { synced: boolean };
  workloads: Workload[];
  services: Service[];
  policies: Authorization[];
  certificates: CertificateDump[];
  enrolledPods: { uid: string; ip: string; netns: string; identity: string }[];
  connections: ConnectionDump[];
}

export interface ConfigDumpInput {
  node: string;
  ports: ConfigDump['config']['ports'];
  logLevel: string;
  trustDomain?: string;
  xds: ConfigDump['xds'];
  enrollmentSynced: boolean;
  snapshot: MeshSnapshot;
  certificates: readonly CertSnapshot[];
  pods: ConfigDump['enrolledPods'];
  connections: readonly (ConnectionRecord & { bytesSent?: number; bytesRecv?: number })[];
  now: number;
}

const iso = (d: Date | undefined): string | undefined => d?.toISOString();

function certEntry(pem: string): CertDumpEntry {
  try {
    const f = certFacts(pem);
    return { pem, serialNumber: f.serial, validFrom: f.notBefore.toISOString(), expirationTime: f.notAfter.toISOString() };
  } catch {
    return { pem };
  }
}

/** Public certificate data only: the snapshot carries no key, and nothing else is copied. */
export function certificateDump(c: CertSnapshot): CertificateDump {
  return {
    identity: c.identity,
    state: c.state,
    ...(c.serial !== undefined ? { serialNumber: c.serial } : {}),
    ...(c.notBefore ? { validFrom: iso(c.notBefore)! } : {}),
    ...(c.notAfter ? { expirationTime: iso(c.notAfter)! } : {}),
    ...(c.refreshAt ? { refreshAt: iso(c.refreshAt)! } : {}),
    attempts: c.attempts,
    ...(c.lastError !== undefined ? { lastError: c.lastError } : {}),
    certChain: (c.chainPem ?? []).map(certEntry),
    rootCerts: c.rootsPem ? splitPemCerts(c.rootsPem).map(certEntry) : [],
  };
}

const byName = <T>(key: (t: T) => string) => (a: T, b: T): number => key(a).localeCompare(key(b));

export function configDump(i: ConfigDumpInput): ConfigDump {
  const dump: ConfigDump = {
    node: i.node,
    config: { ports: i.ports, logLevel: i.logLevel, ...(i.trustDomain ? { trustDomain: i.trustDomain } : {}) },
    xds: i.xds,
    enrollment: { synced: i.enrollmentSynced },
    workloads: [...i.snapshot.workloads].sort(byName((w) => `${w.namespace}/${w.name}`)),
    services: [...i.snapshot.services].sort(byName((s) => `${s.namespace}/${s.hostname}`)),
    policies: [...i.snapshot.authorizations].sort(byName((a) => `${a.namespace}/${a.name}`)),
    certificates: i.certificates.map(certificateDump),
    enrolledPods: [...i.pods].sort(byName((p) => p.ip)),
    connections: i.connections.map((c) => ({ ...c, ageMs: Math.max(0, i.now - c.startedAt) })).sort((a, b) => a.startedAt - b.startedAt),
  };
  return dump;
}

/** The serialized dump; refuses to emit anything that looks like key material. */
export function renderConfigDump(d: ConfigDump): string {
  const json = JSON.stringify(d, null, 2);
  if (/PRIVATE KEY/.test(json)) throw new Error('config dump would contain key material; refusing to serve it');
  return `${json}\n`;
}
