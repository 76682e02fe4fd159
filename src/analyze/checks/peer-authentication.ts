// AMB005: STRICT mTLS while some pods are outside the mesh (their plaintext connections to
// the STRICT workloads are refused, spec §5.4), and AMB014: DISABLE, which never turns mTLS off
// in ambient (istiod treats a DISABLE mode as PERMISSIVE, and a lone port-level DISABLE under an
// inherited STRICT mode leaves the port STRICT).
import { indexPeerAuthentications, peerAuthenticationKeys, STATIC_STRICT_NAME } from '../../control-plane/translate/peer-authentication.js';
import type { PeerAuthenticationInput } from '../../control-plane/translate/inputs.js';
import { GATEWAY_NAME_LABEL } from '../../mesh-api/labels.js';
import { type Check, type Cluster, DATAPLANE_MODE, finding, nsOf, rec, ROOT_NAMESPACE, SECURITY_ISTIO, selected, str, type Workload } from '../model.js';
import type { Finding, KubeObject } from '../types.js';

const peerAuthentications = (c: Cluster): KubeObject[] => c.of(SECURITY_ISTIO, 'PeerAuthentication');

/** Pods that cannot be meant as mesh clients: system namespaces and waypoints (which speak HBONE). */
const systemPod = (w: Workload): boolean =>
  w.namespace === ROOT_NAMESPACE || w.namespace.startsWith('kube-') || w.labels[GATEWAY_NAME_LABEL] !== undefined;

export const strictWithPlaintextClients: Check = (c) => {
  const out: Finding[] = [];
  for (const o of peerAuthentications(c)) {
    const spec = rec(o.spec);
    const ns = nsOf(o);
    const matchLabels = rec(rec(spec['selector'])['matchLabels']) as Record<string, string>;
    const workloadLevel = Object.keys(matchLabels).length > 0;
    if (workloadLevel && ns === ROOT_NAMESPACE) continue; // istiod applies no selector PA from the root namespace
    // Port levels count only on workload-selector PAs (istiod ignores them elsewhere).
    const strictPorts = workloadLevel ? Object.entries(rec(spec['portLevelMtls'])).filter(([, v]) => str(rec(v)['mode']) === 'STRICT') : [];
    const strict = str(rec(spec['mtls'])['mode']) === 'STRICT';
    if (!strict && strictPorts.length === 0) continue;
    // No selector: the namespace, or the whole mesh from the root namespace.
    const targets = selected(c, ns, matchLabels).filter((w) => c.enrolled(w));
    if (targets.length === 0) continue; // STRICT protects nothing in the mesh; AMB001 covers a dead selector
    const clients = c.workloads.filter((w) => !c.enrolled(w) && !systemPod(w));
    if (clients.length === 0) continue;
    const from = [...new Set(clients.map((w) => w.namespace))].sort();
    const shown = from.length > 5 ? `${from.slice(0, 5).join(', ')} and ${from.length - 5} more` : from.join(', ');
    const scope = Object.keys(matchLabels).length ? 'the selected workloads' : ns === ROOT_NAMESPACE ? 'every mesh workload' : `mesh workloads in namespace ${ns}`;
    const ports = strict ? '' : ` on port${strictPorts.length > 1 ? 's' : ''} ${strictPorts.map(([p]) => p).join(', ')}`;
    out.push(finding('AMB005', 'Warning', o, `STRICT mTLS${ports}: plaintext clients from namespace${from.length > 1 ? 's' : ''} ${shown} (pods not enrolled in ambient) will be refused by ${scope}. Enroll them (e.g. ambit label namespace ${from[0]!} ${DATAPLANE_MODE}=ambient) or use PERMISSIVE until they are.`, strict ? 'spec.mtls.mode' : 'spec.portLevelMtls'));
  }
  return out;
};

export const disableHasNoEffect: Check = (c) => {
  const pas = peerAuthentications(c);
  const out = pas
    .filter((o) => str(rec(rec(o.spec)['mtls'])['mode']) === 'DISABLE')
    .map((o) => finding('AMB014', 'Warning', o, 'mode DISABLE does not turn mTLS off in ambient: traffic between mesh workloads is always mTLS (HBONE). istiod treats it as PERMISSIVE: plaintext from outside the mesh is accepted, and a STRICT namespace or mesh policy is overridden. To send plaintext, take the workloads out of the mesh (label istio.io/dataplane-mode=none); to accept plaintext from outside the mesh, say PERMISSIVE.', 'spec.mtls.mode'));
  // A port-level DISABLE on a selector PA without its own mode: istiod exempts the port from an
  // inherited STRICT only when the PA also has a PERMISSIVE port, so a lone DISABLE stays STRICT.
  const idx = indexPeerAuthentications(pas.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: nsOf(o) } })) as unknown as PeerAuthenticationInput[], ROOT_NAMESPACE);
  for (const o of pas) {
    const spec = rec(o.spec);
    const matchLabels = rec(rec(spec['selector'])['matchLabels']) as Record<string, string>;
    const disabled = Object.entries(rec(spec['portLevelMtls'])).filter(([, v]) => str(rec(v)['mode']) === 'DISABLE').map(([p]) => p);
    if (disabled.length === 0 || Object.keys(matchLabels).length === 0 || nsOf(o) === ROOT_NAMESPACE) continue;
    const mode = str(rec(spec['mtls'])['mode']);
    if (mode === 'STRICT' || mode === 'PERMISSIVE' || mode === 'DISABLE') continue;
    if (!peerAuthenticationKeys(idx, nsOf(o), matchLabels).includes(`${ROOT_NAMESPACE}/${STATIC_STRICT_NAME}`)) continue;
    const ports = `port${disabled.length > 1 ? 's' : ''} ${disabled.join(', ')}`;
    out.push(finding('AMB014', 'Warning', o, `portLevelMtls DISABLE on ${ports} does not exempt ${disabled.length > 1 ? 'them' : 'it'} from the inherited STRICT mode: without a mode of its own, a PeerAuthentication exempts a port only with PERMISSIVE, so plaintext to ${ports} is still refused. Use mode PERMISSIVE for the port.`, 'spec.portLevelMtls'));
  }
  return out;
};
