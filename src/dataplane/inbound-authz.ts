// The inbound authorization decision every proxy makes on a connection to a workload it serves
// (spec §5.3): the peer's identity in authz terms, then the snapshot's policy index. Pure.
import type { Workload } from '../mesh-api/types.js';
import type { Decision, DryRunOutcome } from '../authz/evaluate.js';
import type { DataplaneErrorKind } from './errors.js';
import type { MeshState } from './mesh-state.js';
import { stripV4Mapped } from './connections.js';
import { peerIdentityOf } from './state/identity.js';

export interface InboundDecision extends Pick<Decision, 'allowed'> {
  reason: string;
  /** Present when dry-run policies applied: what they would have done (never enforced). */
  dryRun?: DryRunOutcome[];
}

/** A decision and, when refused, why (errors.ts): what the proxy records and answers. */
export interface InboundVerdict extends InboundDecision {
  kind?: DataplaneErrorKind;
}

/** The decision alone (without its error kind). */
export function decisionOf(v: InboundVerdict): InboundDecision {
  const { kind: _kind, ...d } = v;
  return d;
}

/** A dry-run policy's would-be decision on one admitted-or-refused connection (spec §5.3 step 2). */
export interface DryRunEvent extends DryRunOutcome {
  pod: string;
  src: string;
  dstPort: number;
  peerIdentity?: string;
  /** What was actually enforced. */
  enforced: { allowed: boolean; reason: string };
}

/** The log line: ztunnel's message, the policy, its would-be decision, and what was enforced. */
export const formatDryRun = (e: DryRunEvent): string =>
  `${e.message} policy=${e.policy} would=${e.decision} ${e.peerIdentity ?? 'plaintext'} ${e.src} -> ${e.pod}:${e.dstPort} (enforced: ${e.enforced.allowed ? 'allow' : 'deny'}, ${e.enforced.reason})`;

/** §5.3 on {src ip, peer identity, dst ip, target port} for the destination workload. */
export function authorizeConnection(state: MeshState, dest: Workload, c: { srcIp: string; dstIp: string; dstPort: number; peerIdentity?: string | undefined }): InboundVerdict {
  let identity;
  if (c.peerIdentity !== undefined) {
    identity = peerIdentityOf(c.peerIdentity);
    if (!identity) return { allowed: false, kind: 'DESTINATION_REJECTED', reason: `peer identity '${c.peerIdentity}' is not a workload identity` };
  }
  const d = state.policies.evaluate(dest, { srcIp: stripV4Mapped(c.srcIp), dstIp: c.dstIp, dstPort: c.dstPort, ...(identity ? { identity } : {}) });
  return {
    allowed: d.allowed,
    ...(d.allowed ? {} : { kind: 'POLICY_DENIED' as const }),
    reason: d.policy ? `${d.reason} (${d.policy})` : d.reason,
    ...(d.dryRun.length > 0 ? { dryRun: d.dryRun } : {}),
  };
}
