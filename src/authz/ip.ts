// IPv4/IPv6 text → 128-bit integer, for CIDR matching in authorization. Pure.

export interface ParsedIp {
  family: 4 | 6;
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
  let tail4: bigint | undefined;
  // Embedded IPv4 tail (e.g. ::ffff:10.0.0.1) counts as two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail4 = parseV4(text.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}${(tail4 >> 16n).toString(16)}:${(tail4 & 0xffffn).toString(16)}`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] | undefined => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!left || !right) return undefined;
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
