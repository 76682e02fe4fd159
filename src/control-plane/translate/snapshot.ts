// The whole translation: cluster + Istio objects → the MeshSnapshot node tunnels receive, plus
// diagnostics for what could not be honoured. Pure and deterministic (sorted by resource name).
import { authorizationResourceName, serviceResourceName, type Authorization, type MeshSnapshot, type Service, type Workload } from '../../mesh-api/types.js';
import type { Namespace, NodeObject, Pod, Service as KubeService } from '../../model/core/types.js';
import { convertAuthorizationPolicy } from './authorization.js';
import { nodeLocality, type SelectorPolicy, type TranslateContext } from './context.js';
import { byString, objectRef, type AuthorizationPolicyInput, type Diagnostic, type GatewayInput, type PeerAuthenticationInput, type ServiceEntryInput, type WorkloadEntryInput } from './inputs.js';
import { convertPeerAuthentications, indexPeerAuthentications } from './peer-authentication.js';
import { kubeServiceToService, selectByHostname, serviceEntryToServices } from './services.js';
import { TRANSLATION_HOOKS, type HookInput, type HookOutput } from './hooks.js';
import { indexWaypoints } from './waypoints.js';
import { podIsSendable, podToWorkload, serviceEntryEndpointWorkloads, workloadEntryToWorkload } from './workloads.js';

export interface TranslateInput extends HookInput {
  pods: readonly Pod[];
  namespaces: readonly Namespace[];
  services: readonly KubeService[];
  /** For pod locality (topology labels); pods on unknown nodes have none. */
  nodes?: readonly NodeObject[];
  serviceEntries?: readonly ServiceEntryInput[];
  workloadEntries?: readonly WorkloadEntryInput[];
  authorizationPolicies?: readonly AuthorizationPolicyInput[];
  peerAuthentications?: readonly PeerAuthenticationInput[];
  gateways?: readonly GatewayInput[];
  clusterId: string;
  /** Default cluster.local. */
  trustDomain?: string;
  /** Default istio-system. */
  rootNamespace?: string;
}

export interface TranslateResult extends HookOutput {
  snapshot: MeshSnapshot;
  diagnostics: Diagnostic[];
}

const metaKey = (m: { namespace?: string; name?: string }): string => `${m.namespace ?? ''}/${m.name ?? ''}`;
const sortedByMeta = <T extends { metadata: { namespace?: string; name?: string } }>(xs: readonly T[] | undefined): T[] =>
  [...(xs ?? [])].sort((a, b) => byString(metaKey(a.metadata), metaKey(b.metadata)));

export function translate(input: TranslateInput): TranslateResult {
  const rootNamespace = input.rootNamespace ?? 'istio-system';
  const diagnostics: Diagnostic[] = [];

  const authorizations = new Map<string, Authorization>();
  const selectorPolicies: SelectorPolicy[] = [];
  for (const p of sortedByMeta(input.authorizationPolicies)) {
    const a = convertAuthorizationPolicy(p, rootNamespace, diagnostics);
    if (!a) continue;
    const key = authorizationResourceName(a);
    authorizations.set(key, a);
    if (a.scope === 'WORKLOAD_SELECTOR') selectorPolicies.push({ key, namespace: a.namespace, policy: p });
  }

  const pas = sortedByMeta(input.peerAuthentications);
  const peerAuthn = indexPeerAuthentications(pas, rootNamespace);
  // §5.4: the static strict policy (whenever any PeerAuthentication exists) and the converted ones.
  for (const a of convertPeerAuthentications(pas, peerAuthn, diagnostics).values()) authorizations.set(authorizationResourceName(a), a);

  const ctx: TranslateContext = {
    clusterId: input.clusterId,
    trustDomain: input.trustDomain ?? 'cluster.local',
    rootNamespace,
    namespaces: new Map(input.namespaces.map((n) => [n.metadata.name ?? '', n])),
    nodeLocality: new Map((input.nodes ?? []).flatMap((n) => {
      const l = nodeLocality(n);
      return l ? [[n.metadata.name ?? '', l] as const] : [];
    })),
    services: sortedByMeta(input.services),
    serviceEntries: sortedByMeta(input.serviceEntries),
    selectorPolicies,
    peerAuthn,
    waypoints: indexWaypoints(input.gateways ?? []),
    diagnostics,
  };

  const workloads: Workload[] = [
    ...sortedByMeta(input.pods).filter(podIsSendable).map((p) => podToWorkload(ctx, p)),
    ...sortedByMeta(input.workloadEntries).map((we) => workloadEntryToWorkload(ctx, we)),
    ...ctx.serviceEntries.flatMap((se) => serviceEntryEndpointWorkloads(ctx, se)),
  ].sort((a, b) => byString(a.uid, b.uid));

  const services: Service[] = selectByHostname(
    [
      ...ctx.services.map((s) => ({ service: kubeServiceToService(ctx, s), fromKubeService: true, creationTimestamp: s.metadata.creationTimestamp ?? '', ref: objectRef('Service', s.metadata) })),
      ...ctx.serviceEntries.flatMap((se) =>
        serviceEntryToServices(ctx, se).map((service) => ({ service, fromKubeService: false, creationTimestamp: se.metadata.creationTimestamp ?? '', ref: objectRef('ServiceEntry', se.metadata) })),
      ),
    ],
    diagnostics,
  ).sort((a, b) => byString(serviceResourceName(a), serviceResourceName(b)));

  const snapshot: MeshSnapshot = { workloads, services, authorizations: [...authorizations.values()].sort((a, b) => byString(authorizationResourceName(a), authorizationResourceName(b))) };
  const out: HookOutput = { routeStatuses: [] };
  const routeInput: HookInput = { httpRoutes: sortedByMeta(input.httpRoutes), grpcRoutes: sortedByMeta(input.grpcRoutes) };
  for (const hook of TRANSLATION_HOOKS) hook.run(ctx, routeInput, snapshot, out);
  return { snapshot, diagnostics, ...out };
}
