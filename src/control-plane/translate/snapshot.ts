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
  /**
   * Objects whose translation threw and were left out (also in diagnostics). One malformed object
   * must not freeze the push for everything else, so each is isolated and reported.
   */
  errors: TranslationError[];
}

export interface TranslationError {
  kind: string;
  /** `Kind/namespace/name`. */
  object: string;
  message: string;
}

const metaKey = (m: { namespace?: string; name?: string }): string => `${m.namespace ?? ''}/${m.name ?? ''}`;
const sortedByMeta = <T extends { metadata: { namespace?: string; name?: string } }>(xs: readonly T[] | undefined): T[] =>
  [...(xs ?? [])].sort((a, b) => byString(metaKey(a.metadata), metaKey(b.metadata)));

export function translate(input: TranslateInput): TranslateResult {
  const rootNamespace = input.rootNamespace ?? 'istio-system';
  const diagnostics: Diagnostic[] = [];
  const errors: TranslationError[] = [];
  /** Runs one object's translation; a throw leaves that object out, reported, and the rest goes on. */
  const isolated = <T>(kind: string, meta: { namespace?: string; name?: string }, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      const object = objectRef(kind, meta);
      const message = `could not be translated and is left out of the push until it is fixed: ${e instanceof Error ? e.message : String(e)}`;
      errors.push({ kind, object, message });
      diagnostics.push({ object, message });
      return undefined;
    }
  };

  // Policies first: they are what a DENY-all depends on.
  const authorizations = new Map<string, Authorization>();
  const selectorPolicies: SelectorPolicy[] = [];
  for (const p of sortedByMeta(input.authorizationPolicies)) {
    const a = isolated('AuthorizationPolicy', p.metadata ?? {}, () => convertAuthorizationPolicy(p, rootNamespace, diagnostics));
    if (!a) continue;
    const key = authorizationResourceName(a);
    authorizations.set(key, a);
    if (a.scope === 'WORKLOAD_SELECTOR') selectorPolicies.push({ key, namespace: a.namespace, policy: p });
  }

  // A PeerAuthentication that cannot be indexed or converted on its own is left out of both.
  const pas = sortedByMeta(input.peerAuthentications).filter(
    (pa) => isolated('PeerAuthentication', pa.metadata ?? {}, () => convertPeerAuthentications([pa], indexPeerAuthentications([pa], rootNamespace), [])) !== undefined,
  );
  const peerAuthn = indexPeerAuthentications(pas, rootNamespace);
  // §5.4: the static strict policy (whenever any PeerAuthentication exists) and the converted ones.
  for (const a of convertPeerAuthentications(pas, peerAuthn, diagnostics).values()) authorizations.set(authorizationResourceName(a), a);

  const ctx: TranslateContext = {
    clusterId: input.clusterId,
    trustDomain: input.trustDomain ?? 'cluster.local',
    rootNamespace,
    namespaces: new Map(input.namespaces.map((n) => [n.metadata.name ?? '', n])),
    nodeLocality: new Map((input.nodes ?? []).flatMap((n) => {
      const l = isolated('Node', n.metadata ?? {}, () => nodeLocality(n));
      return l ? [[n.metadata.name ?? '', l] as const] : [];
    })),
    services: sortedByMeta(input.services),
    serviceEntries: sortedByMeta(input.serviceEntries),
    selectorPolicies,
    peerAuthn,
    waypoints: indexWaypoints((input.gateways ?? []).filter((g) => isolated('Gateway', g.metadata ?? {}, () => indexWaypoints([g])) !== undefined)),
    diagnostics,
  };
  // Services and ServiceEntries are read while translating every pod: one that cannot be
  // translated on its own is dropped from the context first, so it cannot take the pods with it.
  const kubeServices = ctx.services.flatMap((s) => {
    const service = isolated('Service', s.metadata ?? {}, () => kubeServiceToService(ctx, s));
    return service ? [{ s, service }] : [];
  });
  const entryServices = ctx.serviceEntries.flatMap((se) => {
    const services = isolated('ServiceEntry', se.metadata ?? {}, () => serviceEntryToServices(ctx, se));
    return services ? [{ se, services }] : [];
  });
  ctx.services = kubeServices.map((k) => k.s);
  ctx.serviceEntries = entryServices.map((e) => e.se);

  const workloads: Workload[] = [
    ...sortedByMeta(input.pods).flatMap((p) => isolated('Pod', p.metadata ?? {}, () => (podIsSendable(p) ? [podToWorkload(ctx, p)] : [])) ?? []),
    ...sortedByMeta(input.workloadEntries).flatMap((we) => isolated('WorkloadEntry', we.metadata ?? {}, () => [workloadEntryToWorkload(ctx, we)]) ?? []),
    ...ctx.serviceEntries.flatMap((se) => isolated('ServiceEntry', se.metadata ?? {}, () => serviceEntryEndpointWorkloads(ctx, se)) ?? []),
  ].sort((a, b) => byString(a.uid, b.uid));

  const services: Service[] = selectByHostname(
    [
      ...kubeServices.map(({ s, service }) => ({ service, fromKubeService: true, creationTimestamp: s.metadata.creationTimestamp ?? '', ref: objectRef('Service', s.metadata) })),
      ...entryServices.flatMap(({ se, services }) =>
        services.map((service) => ({ service, fromKubeService: false, creationTimestamp: se.metadata.creationTimestamp ?? '', ref: objectRef('ServiceEntry', se.metadata) })),
      ),
    ],
    diagnostics,
  ).sort((a, b) => byString(serviceResourceName(a), serviceResourceName(b)));

  const snapshot: MeshSnapshot = { workloads, services, authorizations: [...authorizations.values()].sort((a, b) => byString(authorizationResourceName(a), authorizationResourceName(b))) };
  const out: HookOutput = { routeStatuses: [] };
  const routeInput: HookInput = { httpRoutes: sortedByMeta(input.httpRoutes), grpcRoutes: sortedByMeta(input.grpcRoutes) };
  for (const hook of TRANSLATION_HOOKS) hook.run(ctx, routeInput, snapshot, out);
  return { snapshot, diagnostics, errors, ...out };
}
