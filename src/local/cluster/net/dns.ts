// Name resolution inside a pod: /etc/netns/<netns>/{hosts,resolv.conf}, which
// `ip netns exec` bind-mounts over /etc/hosts and /etc/resolv.conf for every process it starts.
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import type { HostEntry } from '../runtime.js';
import { NETNS_ETC_DIR, assertNetnsName } from './netns.js';

const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

export function renderHosts(hosts: HostEntry[]): string {
  const lines = ['# managed by ambit', '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const h of hosts) {
    if (!isIP(h.ip)) throw new Error(`hosts entry: '${h.ip}' is not an IP address`);
    const bad = h.names.find((n) => !HOSTNAME.test(n));
    if (bad !== undefined) throw new Error(`hosts entry for ${h.ip}: invalid name '${bad}'`);
    if (h.names.length > 0) lines.push(`${h.ip}\t${h.names.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

// Names come from the hosts file; nothing listens on 127.0.0.1:53 in a pod, so a DNS
// fallback fails fast (ICMP port unreachable). glibc applies the search list only to DNS
// queries, not to /etc/hosts, so callers list short aliases (echo, echo.demo) as names too.
export function renderResolvConf(search: string[]): string {
  const bad = search.find((d) => !HOSTNAME.test(d));
  if (bad !== undefined) throw new Error(`invalid search domain '${bad}'`);
  const lines = ['# managed by ambit'];
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  lines.push('nameserver 127.0.0.1', 'options ndots:5');
  return lines.join('\n') + '\n';
}

export function writePodDns(netns: string, hosts: HostEntry[], search: string[]): void {
  assertNetnsName(netns);
  const dir = `${NETNS_ETC_DIR}/${netns}`;
  mkdirSync(dir, { recursive: true });
  replaceContent(`${dir}/hosts`, renderHosts(hosts));
  replaceContent(`${dir}/resolv.conf`, renderResolvConf(search));
}

/**
 * A new file is written to a temp name and renamed into place (never seen half-written).
 * An existing file is rewritten IN PLACE: processes already running in the pod have that
 * inode bind-mounted over /etc/hosts, and a rename would leave them on the old contents
 * forever. One write of the whole content, then truncate, keeps the window in which a
 * reader could see mixed contents to a single syscall.
 */
function replaceContent(path: string, content: string): void {
  if (!existsSync(path)) {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, content);
    renameSync(tmp, path);
    return;
  }
  const data = Buffer.from(content);
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, data, 0, data.length, 0);
    ftruncateSync(fd, data.length);
  } finally {
    closeSync(fd);
  }
}
