// PeerAuthentication in ambient (spec §5.4), decided as istiod decides it
// (pilot/pkg/serviceregistry/ambient/authorization.go and policies.go). Node tunnels never see
// PeerAuthentication; istiod sends two things, computed independently:
//  - per workload, the keys it lists: the static strict policy, or the converted policy of the
//    workload's selector PA, or nothing (`peerAuthenticationKeys`, istiod's
//    convertedSelectorPeerAuthentications);
//  - per selector PA with port-level mTLS, a converted DENY policy (`convertPeerAuthentication`).
// Top-level DISABLE acts as PERMISSIVE. The two halves do not always agree; where a workload lists
// a converted policy that istiod never emits, the tunnel skips the key (plaintext allowed) — we
// reproduce that and say so in a diagnostic.
import { emptyMatch, type Authorization, type Clause, type Match, type Rule } from '../../mesh-api/types.js';
import { portValue } from './match-values.js';
import { byString, objectRef, selects, type Diagnostic, type MtlsMode, type PeerAuthenticationInput } from './inputs.js';

export const STATIC_STRICT_NAME = 'istio_converted_static_strict';
export const CONVERTED_PA_PREFIX = 'converted_peer_authentication_';

const PRESENCE = [{ presence: true as const }];
const noPeer = (): Match => ({ ...emptyMatch(), notPrincipals: PRESENCE });

/** The static policy STRICT workloads list: deny anything without a peer identity. */
export function staticStrictPolicy(rootNamespace: string): Authorization {
  return {
    name: STATIC_STRICT_NAME,
    namespace: rootNamespace,
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules: [{ clauses: [{ matches: [noPeer()] }] }],
    dryRun: false,
  };
}

export const modeOf = (raw: string | undefined): MtlsMode => (raw === 'STRICT' || raw === 'PERMISSIVE' || raw === 'DISABLE' ? raw : 'UNSET');
const paMode = (pa: PeerAuthenticationInput | undefined): MtlsMode | undefined => (pa ? modeOf(pa.spec?.mtls?.mode) : undefined);

/** istiod keeps the oldest policy (strictly earlier creationTimestamp); we break its ties by name. */
const oldestFirst = (a: PeerAuthenticationInput, b: PeerAuthenticationInput): number =>
  byString(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') || byString(a.metadata.name ?? '', b.metadata.name ?? '');

/** `selector` present at all (istiod's `Selector != nil`); `selector: {}` counts as present. */
const hasSelector = (pa: PeerAuthenticationInput): boolean => pa.spec?.selector !== undefined && pa.spec.selector !== null;
/** A selector with at least one label: only these make a workload-level policy. */
const hasMatchLabels = (pa: PeerAuthenticationInput): boolean => Object.keys(pa.spec?.selector?.matchLabels ?? {}).length > 0;

export interface PeerAuthnIndex {
  rootNamespace: string;
  /** Every PeerAuthentication per namespace, oldest first. */
  byNamespace: Map<string, PeerAuthenticationInput[]>;
}

export function indexPeerAuthentications(pas: readonly PeerAuthenticationInput[], rootNamespace: string): PeerAuthnIndex {
  const byNamespace = new Map<string, PeerAuthenticationInput[]>();
  for (const pa of [...pas].sort(oldestFirst)) {
    const ns = pa.metadata.namespace ?? '';
    byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), pa]);
  }
  return { rootNamespace, byNamespace };
}

const paNamespace = (pa: PeerAuthenticationInput): string => pa.metadata.namespace ?? '';
const convertedKey = (pa: PeerAuthenticationInput): string => `${paNamespace(pa)}/${CONVERTED_PA_PREFIX}${pa.metadata.name ?? ''}`;

function portModes(pa: PeerAuthenticationInput): { port: number; mode: MtlsMode }[] {
  return Object.entries(pa.spec?.portLevelMtls ?? {})
    .map(([k, v]) => ({ port: portValue(k) ?? 0, mode: modeOf(v?.mode) }))
    .filter((p) => p.port > 0)
    .sort((a, b) => a.port - b.port);
}

interface Levels {
  mesh?: PeerAuthenticationInput;
  namespace?: PeerAuthenticationInput;
  workload?: PeerAuthenticationInput;
}

/**
 * The mesh / namespace / workload PA a workload sees (istiod fetchPeerAuthentications, then the
 * classification in convertedSelectorPeerAuthentications): root-namespace PAs without a selector,
 * plus its own namespace's PAs whose selector is absent or matches. A selector without labels
 * counts as namespace-wide; a selector PA in the root namespace is never a workload policy.
 */
function levelsFor(idx: PeerAuthnIndex, namespace: string, labels: Record<string, string> | undefined): Levels {
  const root = idx.rootNamespace;
  const seen = new Set<PeerAuthenticationInput>();
  const fetched = [...(idx.byNamespace.get(root) ?? []).filter((pa) => !hasSelector(pa)), ...(idx.byNamespace.get(namespace) ?? []).filter((pa) => !hasSelector(pa) || selects(pa.spec?.selector, labels))]
    .filter((pa) => (seen.has(pa) ? false : (seen.add(pa), true)))
    .sort(oldestFirst);
  const out: Levels = {};
  for (const pa of fetched) {
    if (!hasMatchLabels(pa)) {
      if (paNamespace(pa) === root) out.mesh ??= pa;
      else out.namespace ??= pa;
    } else if (paNamespace(pa) !== root) out.workload ??= pa;
  }
  return out;
}

/** What a workload lists because of PeerAuthentication: istiod's static strict policy, the converted policy, or nothing. */
function decideKeys(lv: Levels): { strict: boolean; converted?: string } {
  let strict = paMode(lv.mesh) === 'STRICT';
  const nsMode = paMode(lv.namespace);
  if (nsMode !== undefined && nsMode !== 'UNSET') strict = nsMode === 'STRICT';
  const wl = lv.workload;
  if (!wl) return { strict };
  const own = modeOf(wl.spec?.mtls?.mode);
  if (own === 'STRICT') strict = true;
  if (own === 'PERMISSIVE' || own === 'DISABLE') strict = false;
  if (!wl.spec?.portLevelMtls) return { strict };
  const ports = portModes(wl);
  const has = (...modes: MtlsMode[]): boolean => ports.some((p) => modes.includes(p.mode));
  const key = convertedKey(wl);
  switch (own) {
    case 'STRICT':
      return has('PERMISSIVE', 'DISABLE') ? { strict: false, converted: key } : { strict };
    case 'PERMISSIVE':
    case 'DISABLE':
      return has('STRICT') ? { strict, converted: key } : { strict };
    default:
      // Inherited STRICT: only a PERMISSIVE port switches to the converted policy (a DISABLE port alone does not).
      if (strict) return has('PERMISSIVE') ? { strict: false, converted: key } : { strict };
      return has('STRICT') ? { strict: false, converted: key } : { strict: false };
  }
}

/** Policy keys a workload lists because of PeerAuthentication (spec §5.4). */
export function peerAuthenticationKeys(idx: PeerAuthnIndex, namespace: string, labels: Record<string, string> | undefined): string[] {
  const d = decideKeys(levelsFor(idx, namespace, labels));
  const keys = d.strict ? [`${idx.rootNamespace}/${STATIC_STRICT_NAME}`] : [];
  if (d.converted) keys.push(d.converted);
  return keys.sort(byString);
}

/**
 * istiod's convertPeerAuthentication: a selector PA with port-level mTLS outside the root namespace
 * becomes a DENY policy, given the namespace's and the mesh's selector-less PAs. STRICT ports each
 * get a group `{notPrincipals presence, destinationPorts [p]}` unless a parent is already STRICT;
 * PERMISSIVE/DISABLE ports under a (possibly inherited) STRICT each add a `notDestinationPorts [p]`
 * clause to one group that also carries `notPrincipals presence` (first when the PA itself is
 * STRICT, last when the strictness is inherited).
 */
export function convertPeerAuthentication(pa: PeerAuthenticationInput, nsPol: PeerAuthenticationInput | undefined, rootPol: PeerAuthenticationInput | undefined, rootNamespace: string): Authorization | undefined {
  const levels = Object.keys(pa.spec?.portLevelMtls ?? {});
  if (paNamespace(pa) === rootNamespace || !hasSelector(pa) || levels.length === 0) return undefined;
  const mode = modeOf(pa.spec?.mtls?.mode);
  const nsMode = paMode(nsPol);
  const rootMode = paMode(rootPol);
  const clauses: Clause[] = [];
  const rules: Rule[] = [];
  if (mode === 'STRICT') clauses.push({ matches: [noPeer()] });
  let exempted = false;
  for (const { port, mode: pm } of portModes(pa)) {
    if (pm === 'STRICT') {
      // istiod's condition, operator precedence included: the mesh clause is not limited to an UNSET workload mode.
      const parentStrict = mode === 'STRICT' || (mode === 'UNSET' && nsMode === 'STRICT') || ((nsMode === undefined || nsMode === 'UNSET') && rootMode === 'STRICT');
      if (!parentStrict) rules.push({ clauses: [{ matches: [{ ...noPeer(), destinationPorts: [port] }] }] });
    } else if (pm === 'PERMISSIVE' || pm === 'DISABLE') {
      if (mode === 'PERMISSIVE' || mode === 'DISABLE') continue;
      // With an UNSET mode only a STRICT namespace PA, or (no namespace PA) a STRICT mesh PA, makes this an exemption.
      if (mode === 'UNSET' && ((nsMode !== undefined && nsMode !== 'STRICT') || (nsMode === undefined && rootMode !== 'STRICT'))) continue;
      exempted = true;
      clauses.push({ matches: [{ ...emptyMatch(), notDestinationPorts: [port] }] });
    }
  }
  if (mode === 'STRICT' && !exempted) return undefined; // plain STRICT: the static policy does it
  if (clauses.length === 0 && rules.length === 0) return undefined;
  const mergeStrict = (rootMode === 'STRICT' && (nsMode === undefined || nsMode === 'UNSET' || nsMode === 'STRICT')) || nsMode === 'STRICT';
  if (mergeStrict && exempted) clauses.push({ matches: [noPeer()] });
  if (clauses.length > 0) rules.push({ clauses });
  return { name: `${CONVERTED_PA_PREFIX}${pa.metadata.name ?? ''}`, namespace: paNamespace(pa), scope: 'WORKLOAD_SELECTOR', action: 'DENY', rules, dryRun: false };
}

/** The oldest PA in a namespace with no selector at all (istiod's PeerAuthByNamespace index). */
const selectorless = (idx: PeerAuthnIndex, ns: string): PeerAuthenticationInput | undefined => (idx.byNamespace.get(ns) ?? []).find((pa) => !hasSelector(pa));

/**
 * All policies PeerAuthentication contributes to the snapshot, keyed "ns/name": the static strict
 * policy (istiod sends it whenever any PeerAuthentication exists) and every converted policy.
 * Diagnostics name what istiod ignores and where its two halves disagree.
 */
export function convertPeerAuthentications(pas: readonly PeerAuthenticationInput[], idx: PeerAuthnIndex, diagnostics: Diagnostic[]): Map<string, Authorization> {
  const out = new Map<string, Authorization>();
  if (pas.length === 0) return out;
  const strict = staticStrictPolicy(idx.rootNamespace);
  out.set(`${strict.namespace}/${strict.name}`, strict);
  const root = idx.rootNamespace;
  for (const pa of pas) {
    const ns = paNamespace(pa);
    const object = objectRef('PeerAuthentication', pa.metadata);
    const hasLevels = Object.keys(pa.spec?.portLevelMtls ?? {}).length > 0;
    if (hasLevels && (!hasSelector(pa) || ns === root)) {
      diagnostics.push({ object, message: 'portLevelMtls only applies to workload-selector policies outside the root namespace; ignored' });
      continue;
    }
    if (hasSelector(pa) && ns === root) {
      diagnostics.push({ object, message: `a PeerAuthentication with a selector in the root namespace ${root} is not applied to any workload; ignored` });
      continue;
    }
    const pol = convertPeerAuthentication(pa, selectorless(idx, ns), selectorless(idx, root), root);
    if (pol) out.set(`${pol.namespace}/${pol.name}`, pol);
    if (hasMatchLabels(pa)) disagreement(idx, pa, pol, diagnostics);
  }
  return out;
}

/** Where a selected workload's listed keys and the converted policy disagree, say what the tunnel will do. */
function disagreement(idx: PeerAuthnIndex, pa: PeerAuthenticationInput, pol: Authorization | undefined, diagnostics: Diagnostic[]): void {
  const labels = pa.spec?.selector?.matchLabels ?? {};
  const lv = levelsFor(idx, paNamespace(pa), labels);
  if (lv.workload !== pa) return; // an older selector PA wins for these labels
  const d = decideKeys(lv);
  const object = objectRef('PeerAuthentication', pa.metadata);
  if (d.converted && !pol) {
    diagnostics.push({ object, message: `selected workloads list ${d.converted}, which istiod does not emit for this combination of modes (this PA, the namespace and the mesh PeerAuthentication); the tunnel skips it, so plaintext is accepted on every port` });
  } else if (!d.converted && pol) {
    const disabled = portModes(pa).filter((p) => p.mode === 'DISABLE').map((p) => p.port);
    if (d.strict && disabled.length > 0) diagnostics.push({ object, message: `port-level DISABLE on port${disabled.length > 1 ? 's' : ''} ${disabled.join(', ')} under an inherited STRICT mode does not exempt ${disabled.length > 1 ? 'them' : 'it'}: the workloads stay STRICT on every port (use PERMISSIVE to exempt a port)` });
  }
}
