// The one IP module: parse, format, CIDR containment, v4-mapped addresses, and the raw bytes
// the xDS wire carries (spec §4.4). Pure: no I/O (node:net's isIP* are string checks).
import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedIp {
  family: 4 | 6;
  /** The address as a 32- or 128-bit integer. */
  value: bigint;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(text: string): bigint | undefined {
  let head = text;
  // Embedded IPv4 tail (e.g. ::ffff:10.0.0.1) counts as two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const tail4 = parseV4(text.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}${(tail4 >> 16n).toString(16)}:${(tail4 & 0xffffn).toString(16)}`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** IPv4 or IPv6 text → family and integer value; undefined when it is not an IP literal. */
export function parseIp(text: string): ParsedIp | undefined {
  if (text.includes(':')) {
    const v = parseV6(text);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseV4(text);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** Whether `ip` lies in `address/length`; different families never match. */
export function inCidr(ip: string, address: string, length: number): boolean {
  const a = parseIp(ip);
  const net = parseIp(address);
  if (!a || !net || a.family !== net.family) return false;
  const bits = a.family === 4 ? 32n : 128n;
  const len = BigInt(Math.max(0, Math.min(length, Number(bits))));
  const shift = bits - len;
  return a.value >> shift === net.value >> shift;
}

/** `ip` or `ip/length` → address and prefix length (a bare IP is a full-length prefix); undefined when malformed. */
export function parseCidr(text: string): { address: string; length: number; family: 4 | 6 } | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(address);
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { address, length: max, family: ip.family };
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const length = Number(lenText);
  return length <= max ? { address, length, family: ip.family } : undefined;
}

/**
 * Why `text` is not an IP address (`cidr: false`) or an IP or CIDR (`cidr: true`) as Go's
 * net/netip reads them, which is what istiod validates with; undefined when it is one.
 * Stricter than parseIp: IPv4 parts with leading zeros (`010.0.0.1`) are refused, as Go does.
 */
export function ipProblem(text: string, cidr: boolean): string | undefined {
  const slash = text.indexOf('/');
  if (slash >= 0 && !cidr) return `'${text}' is not an IP address (a CIDR range is not allowed here)`;
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(ipText);
  const dotted = ipText.slice(ipText.lastIndexOf(':') + 1);
  if (!ip || (dotted.includes('.') && dotted.split('.').some((p) => /^0\d/.test(p)))) {
    return slash < 0 ? `'${text}' is not an IP address` : `'${text}' is not a CIDR range (bad address '${ipText}')`;
  }
  if (slash < 0) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const len = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(len) || Number(len) > max) return `'${text}' is not a CIDR range (prefix length must be 0-${max})`;
  return undefined;
}

const V4_MAPPED = 0xffffn << 32n;

/** `::ffff:a.b.c.d` as a dual-stack socket reports an IPv4 peer → `a.b.c.d`; anything else as is. */
export const stripV4Mapped = (ip: string): string => (ip.startsWith('::ffff:') ? ip.slice(7) : ip);

/** Whether a socket address is IPv4 written as v4-mapped IPv6 (`::ffff:a.b.c.d`). */
export const isV4Mapped = (ip: string): boolean => ip.startsWith('::ffff:');

/**
 * One spelling per address so IPs can be compared: v4-mapped IPv6 becomes IPv4 (dual-stack
 * listeners report `::ffff:a.b.c.d`), IPv6 is compressed and lower-cased. Non-IPs pass through.
 */
export function canonicalIp(ip: string): string {
  if (!isIPv6(ip) || ip.includes('%')) return ip; // a zone id, which no authority may carry
  const p = parseIp(ip);
  if (!p) return ip;
  if (p.value >> 32n === V4_MAPPED >> 32n) return bytesToIp(bigintBytes(p.value & 0xffffffffn, 4));
  return bytesToIp(bigintBytes(p.value, 16));
}

function bigintBytes(v: bigint, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = n - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** An IP literal → its wire bytes: 4 (IPv4) or 16 (IPv6). Throws for anything else. */
export function ipToBytes(ip: string): Buffer {
  if (!isIPv4(ip) && !isIPv6(ip)) throw new Error(`'${ip}' is not an IP address`);
  const p = parseIp(ip);
  if (!p) throw new Error(`'${ip}' is not an IP address`);
  return bigintBytes(p.value, p.family === 4 ? 4 : 16);
}

/** Wire bytes → text: dotted IPv4, or IPv6 compressed as RFC 5952 writes it. */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) throw new Error(`an IP address is 4 or 16 bytes, not ${b.length}`);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  // RFC 5952: compress the longest run (≥ 2) of zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Dotted IPv4 → a 32-bit number (for address arithmetic over a range). */
export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** A 32-bit number → dotted IPv4. */
export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
