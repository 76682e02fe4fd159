// The HBONE CONNECT request (spec §2.4) and strict parsing of its :authority (§2.5: else 400).
import { randomBytes } from 'node:crypto';
import type http2 from 'node:http2';
import net from 'node:net';
import { formatBaggage, type Baggage } from './baggage.js';

export interface HboneTarget {
  /** IP literal, without brackets. */
  ip: string;
  port: number;
  family: 4 | 6;
}

const PORT = /^[1-9][0-9]{0,4}$/;

/** `a.b.c.d:port` or `[v6]:port`, port 1-65535; no hostnames, zones or leading zeros. */
export function parseAuthority(authority: string | undefined): HboneTarget | undefined {
  if (!authority || authority.length > 64) return undefined;
  let host: string;
  let portText: string;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0 || authority[end + 1] !== ':') return undefined;
    host = authority.slice(1, end);
    portText = authority.slice(end + 2);
    if (host.includes('%') || !net.isIPv6(host)) return undefined;
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
    if (!net.isIPv4(host)) return undefined;
  }
  if (!PORT.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  return { ip: host, port, family: host.includes(':') ? 6 : 4 };
}

export { canonicalIp } from '../../lib/ip.js';

export function formatAuthority(ip: string, port: number): string {
  return net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * RFC 7239 `forwarded` as ztunnel writes it: `for="<ip>:<port>"`, always quoted (a port makes
 * quoting mandatory) with IPv6 in brackets, then `;host=<service hostname>` when there is one.
 */
export function formatForwarded(client: { ip: string; port: number }, host?: string): string {
  return `for="${formatAuthority(client.ip, client.port)}"${host ? `;host=${host}` : ''}`;
}

/** W3C traceparent, random per connection: it traces tunnels, not app requests (§2.4). */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`;
}

export interface ConnectRequest {
  /** `<ip>:<port>`: the pod IP and target port, or the original destination via a waypoint. */
  authority: string;
  baggage?: Baggage;
  /** The app client's address for `forwarded: for=`. */
  forwardedFor?: { ip: string; port: number };
  /** Service hostname when the app dialled a service (`forwarded: ;host=`). */
  forwardedHost?: string;
  traceparent?: string;
  /** Only on the inner CONNECT of double HBONE (§2.10). */
  forwardedNetwork?: string;
}

/** Plain CONNECT: :method and :authority only, no :scheme or :path (§2.4). */
export function connectHeaders(req: ConnectRequest): http2.OutgoingHttpHeaders {
  const h: http2.OutgoingHttpHeaders = { ':method': 'CONNECT', ':authority': req.authority };
  const baggage = req.baggage ? formatBaggage(req.baggage) : '';
  if (baggage) h['baggage'] = baggage;
  if (req.forwardedFor) h['forwarded'] = formatForwarded(req.forwardedFor, req.forwardedHost);
  h['traceparent'] = req.traceparent ?? newTraceparent();
  if (req.forwardedNetwork) h['x-forwarded-network'] = req.forwardedNetwork;
  return h;
}
