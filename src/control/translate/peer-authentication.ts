// PeerAuthentication in ambient (spec §5.4): node tunnels never receive it; the effective mode
// becomes DENY Authorizations. STRICT lists the static strict policy; port-level mTLS on a
// workload-selector PA becomes `converted_peer_authentication_<name>`; PERMISSIVE adds nothing;
// DISABLE is ignored (HBONE is always mTLS).
import { emptyMatch, type Authorization, type Match } from '../../api/types.js';
import { portValue } from './match-values.js';
import { byString, objectRef, selects, type Diagnostic, type MtlsMode, type PeerAuthenticationInput } from './inputs.js';

export const STATIC_STRICT_NAME = 'istio_converted_static_strict';
export const CONVERTED_PA_PREFIX = 'converted_peer_authentication_';

const PRESENCE = [{ presence: true as const }];

/** The static policy every STRICT workload lists: deny anything without a peer identity. */
export function staticStrictPolicy(rootNamespace: string): Authorization {
  return {
    name: STATIC_STRICT_NAME,
    namespace: rootNamespace,
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules: [{ clauses: [{ matches: [{ ...emptyMatch(), notPrincipals: PRESENCE }] }] }],
    dryRun: false,
  };
}

const modeOf = (raw: string | undefined): MtlsMode => (raw === 'STRICT' || raw === 'PERMISSIVE' || raw === 'DISABLE' ? raw : 'UNSET');

/** Istio picks the oldest policy when several apply at one level; name breaks ties. */
const oldestFirst = (a: PeerAuthenticationInput, b: PeerAuthenticationInput): number =>
  byString(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') || byString(a.metadata.name ?? '', b.metadata.name ?? '');

export interface PeerAuthnIndex {
  mesh?: PeerAuthenticationInput;
  namespace: Map<string, PeerAuthenticationInput>;
  /** Selector PAs per namespace, oldest first. */
  selector: Map<string, PeerAuthenticationInput[]>;
  rootNamespace: string;
}

export function indexPeerAuthentications(pas: readonly PeerAuthenticationInput[], rootNamespace: string): PeerAuthnIndex {
  const idx: PeerAuthnIndex = { namespace: new Map(), selector: new Map(), rootNamespace };
  for (const pa of [...pas].sort(oldestFirst)) {
    const ns = pa.metadata.namespace ?? '';
    if (pa.spec?.selector) {
      // A selector PA in the root namespace is not a workload policy for ambient (istiod skips it).
      if (ns === rootNamespace) continue;
      idx.selector.set(ns, [...(idx.selector.get(ns) ?? []), pa]);
    } else if (ns === rootNamespace) {
      idx.mesh ??= pa;
    } else if (!idx.namespace.has(ns)) {
      idx.namespace.set(ns, pa);
    }
  }
  return idx;
}

/** Mode inherited from the namespace PA, else the mesh PA; UNSET inherits, default PERMISSIVE. */
export function inheritedMode(idx: PeerAuthnIndex, namespace: string): MtlsMode {
  for (const pa of [idx.namespace.get(namespace), idx.mesh]) {
    const m = modeOf(pa?.spec?.mtls?.mode);
    if (m !== 'UNSET') return m;
  }
  return 'PERMISSIVE';
}

function portModes(pa: PeerAuthenticationInput): { port: number; mode: MtlsMode }[] {
  return Object.entries(pa.spec?.portLevelMtls ?? {})
    .map(([k, v]) => ({ port: portValue(k) ?? 0, mode: modeOf(v.mode) }))
    .filter((p) => p.port > 0 && p.mode !== 'UNSET')
    .sort((a, b) => a.port - b.port);
}

/**
 * The converted policy for a selector PA with port-level mTLS, or undefined when the port
 * levels change nothing (all agree with the workload's effective mode).
 */
export function convertPortLevelPeerAuthentication(pa: PeerAuthenticationInput, idx: PeerAuthnIndex): Authorization | undefined {
  const ns = pa.metadata.namespace ?? '';
  const own = modeOf(pa.spec?.mtls?.mode);
  const mode = own === 'UNSET' ? inheritedMode(idx, ns) : own;
  const levels = portModes(pa);
  const strictPorts = levels.filter((p) => p.mode === 'STRICT').map((p) => p.port);
  const exceptions = levels.filter((p) => p.mode !== 'STRICT').map((p) => p.port);
  const matches: Match[] = [];
  if (mode === 'STRICT') {
    if (exceptions.length === 0) return undefined; // plain STRICT: the static policy covers it
    // A PERMISSIVE/DISABLE port under STRICT: deny plaintext everywhere except those ports.
    matches.push({ ...emptyMatch(), notPrincipals: PRESENCE, notDestinationPorts: exceptions });
  } else {
    if (strictPorts.length === 0) return undefined;
    // A STRICT port under PERMISSIVE/DISABLE: deny plaintext on that port only.
    for (const p of strictPorts) matches.push({ ...emptyMatch(), notPrincipals: PRESENCE, destinationPorts: [p] });
  }
  return {
    name: `${CONVERTED_PA_PREFIX}${pa.metadata.name ?? ''}`,
    namespace: ns,
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules: [{ clauses: [{ matches }] }],
    dryRun: false,
  };
}

/** All converted port-level policies, keyed "ns/name", plus diagnostics for ignored settings. */
export function convertPeerAuthentications(pas: readonly PeerAuthenticationInput[], idx: PeerAuthnIndex, diagnostics: Diagnostic[]): Map<string, Authorization> {
  const out = new Map<string, Authorization>();
  for (const pa of pas) {
    const ns = pa.metadata.namespace ?? '';
    if (pa.spec?.portLevelMtls && Object.keys(pa.spec.portLevelMtls).length > 0 && (!pa.spec.selector || ns === idx.rootNamespace)) {
      diagnostics.push({ object: objectRef('PeerAuthentication', pa.metadata), message: 'portLevelMtls only applies to workload-selector policies outside the root namespace; ignored' });
      continue;
    }
    if (!pa.spec?.selector || ns === idx.rootNamespace) continue;
    const pol = convertPortLevelPeerAuthentication(pa, idx);
    if (pol) out.set(`${pol.namespace}/${pol.name}`, pol);
  }
  return out;
}

/** Policy keys a workload lists because of PeerAuthentication (spec §5.4). */
export function peerAuthenticationKeys(idx: PeerAuthnIndex, namespace: string, labels: Record<string, string> | undefined, converted: ReadonlyMap<string, Authorization>): string[] {
  const wl = idx.selector.get(namespace)?.find((pa) => selects(pa.spec?.selector, labels));
  const own = modeOf(wl?.spec?.mtls?.mode);
  const mode = own === 'UNSET' ? inheritedMode(idx, namespace) : own;
  if (wl) {
    const key = `${namespace}/${CONVERTED_PA_PREFIX}${wl.metadata.name ?? ''}`;
    // With a converted policy the port levels decide; the static policy would deny the exceptions.
    if (converted.has(key)) return [key];
  }
  return mode === 'STRICT' ? [`${idx.rootNamespace}/${STATIC_STRICT_NAME}`] : [];
}
