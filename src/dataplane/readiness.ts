// A proxy's readiness decision (spec §1, §9; ztunnel's /healthz/ready). Pure.
// Ready once the first xDS state has arrived, (node tunnel) the node agent's enrollment snapshot
// has been applied, and every served identity has a valid certificate. Until then the answer
// names what is pending, like ztunnel's `not ready, pending: state manager, ...`.

export interface ReadinessInput {
  /** The first response of every xDS type has been applied (XdsClient.ready). */
  xdsSynced: boolean;
  /** The node agent's snapshot has been applied (ZdsClient.synced); absent for a proxy without enrollment. */
  enrollmentSynced?: boolean;
  /** Identities served (the enrolled pods'; a waypoint's own). */
  identities: readonly string[];
  /** Certificates held: identity and expiry (undefined: none yet). */
  certificates: readonly { identity: string; notAfter?: Date | undefined }[];
  now: number;
}

export interface Readiness {
  ready: boolean;
  pending: string[];
}

export function readiness(i: ReadinessInput): Readiness {
  const pending: string[] = [];
  if (!i.xdsSynced) pending.push('state manager (first xDS sync)');
  if (i.enrollmentSynced === false) pending.push('enrollment (node agent snapshot)');
  const valid = new Set(i.certificates.filter((c) => c.notAfter !== undefined && c.notAfter.getTime() > i.now).map((c) => c.identity));
  const missing = [...new Set(i.identities)].filter((id) => !valid.has(id)).sort();
  if (missing.length) pending.push(`certificates (${missing.join(', ')})`);
  return { ready: pending.length === 0, pending };
}

/** The HTTP answer: 200 `ready\n`, or 500 `not ready, pending: a, b\n`. */
export function readinessResponse(r: Readiness): { status: 200 | 500; body: string } {
  return r.ready ? { status: 200, body: 'ready\n' } : { status: 500, body: `not ready, pending: ${r.pending.join(', ')}\n` };
}
