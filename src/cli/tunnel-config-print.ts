// Tables for `ambit tunnel-config`, shaped like `istioctl ztunnel-config` (same columns where
// istioctl has them), from node tunnels' /config_dump documents. Pure.
import type { GatewayAddress } from '../mesh-api/types.js';
import type { CertDumpEntry, ConfigDump, ConnectionDump } from '../dataplane/admin/config-dump.js';

export const TUNNEL_CONFIG_KINDS = ['workloads', 'services', 'policies', 'certificates', 'connections'] as const;
export type TunnelConfigKind = (typeof TUNNEL_CONFIG_KINDS)[number];

/** Singular and short forms accepted too (istioctl: workload, service, policy, certificate / all). */
export const KIND_ALIASES: Readonly<Record<string, TunnelConfigKind>> = {
  workload: 'workloads', workloads: 'workloads', service: 'services', services: 'services', svc: 'services',
  policy: 'policies', policies: 'policies', authorization: 'policies', certificate: 'certificates', certificates: 'certificates',
  certs: 'certificates', secret: 'certificates', secrets: 'certificates', connection: 'connections', connections: 'connections',
};

export function parseKind(s: string | undefined): TunnelConfigKind | undefined {
  return KIND_ALIASES[(s ?? '').toLowerCase()];
}

/** kubectl-style aligned columns: 3 spaces between, no trailing spaces. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const waypointName = (w: GatewayAddress | undefined): string => (w ? (w.hostname ? w.hostname.hostname : (w.address?.address ?? 'None')) : 'None');

/** 42s, 5m3s, 2h4m, 3d5h. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

/** 999B, 1.5KiB, 12.0MiB. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1024) return `${n}B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) (v /= 1024), u++;
  return `${v.toFixed(1)}${units[u]}`;
}

interface Section {
  header: string[];
  rows: string[][];
}

export function workloadRows(d: ConfigDump): Section {
  return {
    header: ['NAMESPACE', 'POD NAME', 'ADDRESS', 'NODE', 'WAYPOINT', 'PROTOCOL'],
    rows: d.workloads.map((w) => [w.namespace, w.name, w.addresses.join(','), w.node || 'None', waypointName(w.waypoint), w.tunnelProtocol === 'HBONE' ? 'HBONE' : 'TCP']),
  };
}

export function serviceRows(d: ConfigDump): Section {
  return {
    header: ['NAMESPACE', 'SERVICE NAME', 'SERVICE VIP', 'WAYPOINT', 'ENDPOINTS'],
    rows: d.services.map((s) => {
      const key = `${s.namespace}/${s.hostname}`;
      const eps = d.workloads.filter((w) => key in w.services);
      const healthy = eps.filter((w) => w.status === 'HEALTHY').length;
      return [s.namespace, s.name, s.addresses.map((a) => a.address).join(',') || 'None', waypointName(s.waypoint), `${healthy}/${eps.length}`];
    }),
  };
}

const title = (s: string): string => s.charAt(0) + s.slice(1).toLowerCase();
const scopeName: Record<string, string> = { GLOBAL: 'Global', NAMESPACE: 'Namespace', WORKLOAD_SELECTOR: 'WorkloadSelector' };

export function policyRows(d: ConfigDump): Section {
  return {
    header: ['NAMESPACE', 'POLICY NAME', 'ACTION', 'SCOPE'],
    rows: d.policies.map((p) => [p.namespace, p.name, `${title(p.action)}${p.dryRun ? ' (dry run)' : ''}`, scopeName[p.scope] ?? p.scope]),
  };
}

export function certificateRows(d: ConfigDump, now: number): Section {
  const rows: string[][] = [];
  const valid = (c: CertDumpEntry): string =>
    c.validFrom && c.expirationTime ? String(Date.parse(c.validFrom) <= now && now < Date.parse(c.expirationTime)) : 'false';
  for (const c of d.certificates) {
    if (c.certChain.length === 0) {
      rows.push([c.identity, 'Leaf', c.state, 'false', '-', '-', '-']);
      continue;
    }
    c.certChain.forEach((e, i) => rows.push([c.identity, i === 0 ? 'Leaf' : 'Intermediate', c.state, valid(e), e.serialNumber ?? '-', e.expirationTime ?? '-', e.validFrom ?? '-']));
    for (const r of c.rootCerts) rows.push([c.identity, 'Root', c.state, valid(r), r.serialNumber ?? '-', r.expirationTime ?? '-', r.validFrom ?? '-']);
  }
  return { header: ['CERTIFICATE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows };
}

const who = (identity: string | undefined, addr: string): string[] => [identity ?? '-', addr || '-'];

export function connectionRows(d: ConfigDump): Section {
  return {
    header: ['DIRECTION', 'SOURCE', 'SOURCE ADDR', 'DESTINATION', 'DESTINATION ADDR', 'SECURITY', 'GROUP', 'SENT', 'RECEIVED', 'AGE'],
    rows: d.connections.map((c: ConnectionDump) => [
      c.direction,
      ...who(c.security === 'mutual_tls' ? c.src.identity : undefined, c.src.addr),
      ...who(c.dst.identity, c.dst.hboneAddr ?? c.dst.addr),
      c.security,
      c.tlsGroup ?? '-',
      bytes(c.bytesSent),
      bytes(c.bytesRecv),
      age(c.ageMs),
    ]),
  };
}

export function sectionFor(kind: TunnelConfigKind, d: ConfigDump, now: number): Section {
  switch (kind) {
    case 'workloads':
      return workloadRows(d);
    case 'services':
      return serviceRows(d);
    case 'policies':
      return policyRows(d);
    case 'certificates':
      return certificateRows(d, now);
    case 'connections':
      return connectionRows(d);
  }
}

/** The JSON for `-o json`: that part of each node's dump, by node. */
export function jsonFor(kind: TunnelConfigKind, dumps: readonly ConfigDump[]): Record<string, unknown> {
  return Object.fromEntries(dumps.map((d) => [d.node, d[kind]]));
}

/** One table for several tunnels: a TUNNEL column (the node whose tunnel answered) first when there is more than one. */
export function renderTunnelConfig(kind: TunnelConfigKind, dumps: readonly ConfigDump[], now: number, opts: { prefixNode: boolean }): string {
  let header: string[] = [];
  const rows: string[][] = [];
  for (const d of dumps) {
    const s = sectionFor(kind, d, now);
    header = s.header;
    for (const r of s.rows) rows.push(opts.prefixNode ? [d.node, ...r] : r);
  }
  if (header.length === 0) header = sectionFor(kind, emptyDump(), now).header;
  return table(opts.prefixNode ? ['TUNNEL', ...header] : header, rows);
}

function emptyDump(): ConfigDump {
  return {
    node: '', config: { ports: { admin: 0, stats: 0, readiness: 0 }, logLevel: 'info' }, xds: { connected: false, synced: false, stats: {} }, enrollment: { synced: false },
    workloads: [], services: [], policies: [], certificates: [], enrolledPods: [], connections: [],
  };
}
