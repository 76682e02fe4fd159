// In-pod traffic capture (istio-cni "in-pod" mode, spec §6.3), as one nftables table plus
// a policy route, both inside the pod's netns. REDIRECT-based, as current Istio:
//   outbound TCP → 127.0.0.1:15001, inbound TCP (except 15008) → :15006.
//   0x539 (mask 0xfff) = the tunnel's own sockets (SO_MARK): never captured again.
//   0x111 = connmark on the tunnel→app leg so the app's replies to a spoofed client IP
//           are routed back to lo (fwmark 0x111 → table 100: local 0.0.0.0/0 dev lo).
import { HBONE_PORT, INBOUND_CAPTURE_PORT, OUTBOUND_CAPTURE_PORT } from '../mesh-api/ports.js';
import { run, runAsync } from './exec.js';

export const CAPTURE_TABLE = 'ambit_capture';
export const INPOD_MARK = 0x539;
export const INPOD_TPROXY_MARK = 0x111;
export const MARK_MASK = 0xfff;
export const ROUTE_TABLE = 100;
export const RULE_PREF = 32764;
/** Source of the node's health probes (istio-cni HOST_PROBE_SNAT_ADDRESS): they bypass the tunnel (spec §6.4). */
export const PROBE_SNAT_IP = '169.254.7.127';

export interface CapturePorts {
  outbound: number;
  inbound: number;
  hbone: number;
}

export const DEFAULT_PORTS: CapturePorts = { outbound: OUTBOUND_CAPTURE_PORT, inbound: INBOUND_CAPTURE_PORT, hbone: HBONE_PORT };

const hex = (n: number): string => `0x${n.toString(16)}`;

/** The nft script that (re)creates the capture table: pure, so it is table-tested. */
export function renderCaptureRules(ports: CapturePorts = DEFAULT_PORTS): string {
  const own = `meta mark and ${hex(MARK_MASK)} != ${hex(INPOD_MARK)}`;
  const tproxyMark = `${hex(MARK_MASK)} == ${hex(INPOD_TPROXY_MARK)}`;
  const keep = `and ${hex(~MARK_MASK >>> 0)} or ${hex(INPOD_TPROXY_MARK)}`;
  return [
    // Declare-then-delete makes the replace idempotent; nft -f applies the file atomically.
    `table ip ${CAPTURE_TABLE}`,
    `delete table ip ${CAPTURE_TABLE}`,
    `table ip ${CAPTURE_TABLE} {`,
    `  chain prerouting_mangle {`,
    `    type filter hook prerouting priority mangle; policy accept;`,
    // tunnel→app leg (looped back via lo): remember it so the app's replies can be steered back
    `    meta mark and ${hex(MARK_MASK)} == ${hex(INPOD_MARK)} ct mark set ct mark ${keep}`,
    `  }`,
    `  chain prerouting_nat {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    `    ip saddr ${PROBE_SNAT_IP} meta l4proto tcp accept`,
    `    ip daddr != 127.0.0.1 meta l4proto tcp tcp dport != ${ports.hbone} ${own} redirect to :${ports.inbound}`,
    `  }`,
    `  chain input_guard {`,
    `    type filter hook input priority filter; policy accept;`,
    // Fail closed: a new inbound TCP connection that was neither redirected nor sent to the
    // HBONE port must not reach the app in plaintext.
    `    iifname != "lo" ip saddr != ${PROBE_SNAT_IP} meta l4proto tcp ct state new ct status and dnat == 0 tcp dport != ${ports.hbone} drop`,
    `  }`,
    `  chain output_route {`,
    // 'route' type: changing the mark here re-routes the packet (== iptables mangle OUTPUT)
    `    type route hook output priority mangle; policy accept;`,
    `    ct mark and ${tproxyMark} meta mark set ct mark`,
    `  }`,
    `  chain output_nat {`,
    `    type nat hook output priority -100; policy accept;`,
    `    ip daddr ${PROBE_SNAT_IP} meta l4proto tcp accept`,
    `    meta l4proto tcp meta mark and ${tproxyMark} accept`,
    // app → its own pod IP over lo
    `    oifname "lo" ip daddr != 127.0.0.1 accept`,
    `    ip daddr != 127.0.0.1 meta l4proto tcp ${own} redirect to :${ports.outbound}`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

export const PROBE_TABLE = 'ambit_probes';

/**
 * Node side of the probe bypass (spec §6.4): TCP the node itself opens toward its pods (the
 * readiness probes, run as root; forwarded pod traffic has no local socket) leaves from PROBE_SNAT_IP,
 * which the in-pod rules let through without capture or policy.
 */
export function renderProbeSnatRules(podCidr: string): string {
  return [
    `table ip ${PROBE_TABLE}`,
    `delete table ip ${PROBE_TABLE}`,
    `table ip ${PROBE_TABLE} {`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    ip daddr ${podCidr} meta l4proto tcp meta skuid 0 snat to ${PROBE_SNAT_IP}`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/** Installs (or replaces) the probe SNAT table in the node netns. */
export async function applyProbeSnatRules(nodeNetns: string, podCidr: string): Promise<void> {
  await runAsync(inNetns(nodeNetns, ['nft', '-f', '-']), { input: renderProbeSnatRules(podCidr) });
}

/** Removes the table whether or not it exists (declare-then-delete). */
export const renderRemoveRules = (): string => `table ip ${CAPTURE_TABLE}\ndelete table ip ${CAPTURE_TABLE}\n`;

const inNetns = (netns: string, argv: string[]): string[] => ['ip', 'netns', 'exec', netns, ...argv];
const ipIn = (netns: string, args: string[]): string[] => ['ip', '-n', netns, ...args];
const ruleSpec = ['fwmark', `${hex(INPOD_TPROXY_MARK)}/${hex(MARK_MASK)}`, 'pref', String(RULE_PREF), 'lookup', String(ROUTE_TABLE)];

/** Installs (or atomically replaces) the capture table and the policy route in the named netns. */
export async function applyCaptureRules(netns: string, ports: CapturePorts = DEFAULT_PORTS): Promise<void> {
  // Route first: once the rules are live, the tunnel's transparent app legs need it.
  await runAsync(ipIn(netns, ['route', 'replace', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', String(ROUTE_TABLE)]));
  if (!hasPolicyRule(netns)) await runAsync(ipIn(netns, ['rule', 'add', ...ruleSpec]));
  await runAsync(inNetns(netns, ['nft', '-f', '-']), { input: renderCaptureRules(ports) });
  // A tunnel handing over to its successor closes its SO_REUSEPORT listeners; with this the
  // kernel moves connections still queued on them to the successor instead of resetting them.
  await runAsync(inNetns(netns, ['sysctl', '-q', '-w', 'net.ipv4.tcp_migrate_req=1']));
}

/** Removes the table and the policy route; a netns without them is left as it is. */
export async function removeCaptureRules(netns: string): Promise<void> {
  await runAsync(inNetns(netns, ['nft', '-f', '-']), { input: renderRemoveRules() });
  while (hasPolicyRule(netns)) await runAsync(ipIn(netns, ['rule', 'del', 'pref', String(RULE_PREF)]));
  await runAsync(ipIn(netns, ['route', 'flush', 'table', String(ROUTE_TABLE)]));
}

export function hasPolicyRule(netns: string): boolean {
  return run(ipIn(netns, ['rule', 'show', 'pref', String(RULE_PREF)])).trim() !== '';
}
