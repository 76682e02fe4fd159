// The access log (spec §8.2): one JSON object per connection, shaped like ztunnel's with
// LOG_FORMAT=json — `level`, `time`, `scope: "access"`, `message`, then the dotted fields.
// Pure: the caller writes the line.
//
// - "connection complete": a connection that was opened, at info (error when it failed).
// - "connection failed": refused before it was opened (authz DENY, no route, HBONE refusal), at
//   warn; it carries whatever is known (identities included) plus response_flags and error.
// - Identities appear only for mTLS connections (a plaintext peer has none).
// - Bytes are this side's view: outbound (the client's tunnel) bytes_sent = what the client
//   sent; inbound (the server's tunnel) bytes_sent = what the server sent back. This is the
//   "un-flipped" form ztunnel logs, unlike the metrics (labels.ts `metricBytes`).
import type { LogLevel } from '../../lib/log.js';
import type { ConnectionClosed } from '../connections.js';

export interface AccessLogEntry {
  level: LogLevel;
  time: string;
  scope: 'access';
  message: 'connection complete' | 'connection failed';
  'src.addr': string;
  'src.workload'?: string;
  'src.namespace'?: string;
  'src.identity'?: string;
  'src.cluster'?: string;
  'dst.addr': string;
  'dst.hbone_addr'?: string;
  'dst.service'?: string;
  'dst.workload'?: string;
  'dst.namespace'?: string;
  'dst.identity'?: string;
  'dst.cluster'?: string;
  direction: 'outbound' | 'inbound';
  bytes_sent: number;
  bytes_recv: number;
  duration: string;
  response_flags: string;
  error?: string;
}

/** Pod names for src.workload / dst.workload (ztunnel logs the pod's name when it knows it). */
export interface PodNames {
  src?: string;
  dst?: string;
}

/** `opened`: whether the connection was reported opened before (else it is an early refusal). */
export function accessLogEntry(c: ConnectionClosed, opened: boolean, names: PodNames = {}, now: Date = new Date(c.startedAt + c.durationMs)): AccessLogEntry {
  const mtls = c.security === 'mutual_tls';
  const failed = c.flag !== '-' || c.error !== undefined;
  const outbound = c.direction === 'outbound';
  const all: Record<string, string | number | undefined> = {
    level: !opened ? 'warn' : failed ? 'error' : 'info',
    time: now.toISOString(),
    scope: 'access',
    message: opened ? 'connection complete' : 'connection failed',
    'src.addr': c.src.addr,
    'src.workload': names.src ?? c.src.canonicalService ?? c.src.workload,
    'src.namespace': c.src.namespace,
    'src.identity': mtls ? c.src.identity : undefined,
    'src.cluster': c.src.cluster,
    'dst.addr': c.dst.addr,
    'dst.hbone_addr': c.dst.hboneAddr,
    'dst.service': c.dst.service,
    'dst.workload': names.dst ?? c.dst.canonicalService ?? c.dst.workload,
    'dst.namespace': c.dst.namespace,
    'dst.identity': mtls ? c.dst.identity : undefined,
    'dst.cluster': c.dst.cluster,
    direction: c.direction,
    bytes_sent: outbound ? c.bytesSent : c.bytesRecv,
    bytes_recv: outbound ? c.bytesRecv : c.bytesSent,
    duration: `${Math.max(0, Math.round(c.durationMs))}ms`,
    response_flags: c.flag,
    error: c.error,
  };
  for (const k of Object.keys(all)) if (all[k] === undefined || all[k] === '') delete all[k];
  return all as unknown as AccessLogEntry;
}

/** One line, no trailing newline. */
export const formatAccessLog = (e: AccessLogEntry): string => JSON.stringify(e);

/** The host part of `ip:port` / `[v6]:port`. */
export function hostOf(addr: string): string {
  if (addr.startsWith('[')) return addr.slice(1, addr.indexOf(']'));
  const i = addr.lastIndexOf(':');
  return i > 0 && addr.indexOf(':') === i ? addr.slice(0, i) : addr;
}
