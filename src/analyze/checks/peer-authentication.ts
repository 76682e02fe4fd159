// AMB005: STRICT mTLS while some pods are outside the mesh (their plaintext connections to
// the STRICT workloads are refused, spec §5.4), and AMB014: DISABLE, which ambient ignores
// because HBONE is always mTLS.
import { type Check, type Cluster, DATAPLANE_MODE, finding, GATEWAY_API, nsOf, rec, ROOT_NAMESPACE, SECURITY_ISTIO, selected, str, type Workload } from '../model.js';
import type { Finding, KubeObject } from '../types.js';

const peerAuthentications = (c: Cluster): KubeObject[] => c.of(SECURITY_ISTIO, 'PeerAuthentication');

/** Pods that cannot be meant as mesh clients: system namespaces and waypoints (which speak HBONE). */
const systemPod = (w: Workload): boolean =>
  w.namespace === ROOT_NAMESPACE || w.namespace.startsWith('kube-') || w.labels[`${GATEWAY_API}/gateway-name`] !== undefined;

export const strictWithPlaintextClients: Check = (c) => {
  const out: Finding[] = [];
  for (const o of peerAuthentications(c)) {
    const spec = rec(o.spec);
    const strictPorts = Object.entries(rec(spec['portLevelMtls'])).filter(([, v]) => str(rec(v)['mode']) === 'STRICT');
    const strict = str(rec(spec['mtls'])['mode']) === 'STRICT';
    if (!strict && strictPorts.length === 0) continue;
    const ns = nsOf(o);
    const matchLabels = rec(rec(spec['selector'])['matchLabels']) as Record<string, string>;
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

export const disableHasNoEffect: Check = (c) =>
  peerAuthentications(c)
    .filter((o) => str(rec(rec(o.spec)['mtls'])['mode']) === 'DISABLE')
    .map((o) => finding('AMB014', 'Warning', o, 'mode DISABLE has no effect in ambient: traffic between mesh workloads is always mTLS (HBONE). To send plaintext, take the workloads out of the mesh (label istio.io/dataplane-mode=none); to accept plaintext from outside the mesh, PERMISSIVE (the default) is enough.', 'spec.mtls.mode'));
