// Registry of the kinds the API server serves: group/version/resource facts used by
// routing, discovery, the CLI's KIND arguments and validation. Pure.

export interface KindInfo {
  group: string; // '' for the core group
  version: string;
  kind: string;
  listKind: string;
  resource: string; // plural
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  /** Subresources served (status, scale). */
  subresources: string[];
}

export const KINDS: readonly KindInfo[] = [
  { group: '', version: 'v1', kind: 'Namespace', listKind: 'NamespaceList', resource: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], subresources: ['status'] },
  { group: '', version: 'v1', kind: 'Node', listKind: 'NodeList', resource: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'], subresources: ['status'] },
  { group: '', version: 'v1', kind: 'ServiceAccount', listKind: 'ServiceAccountList', resource: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'], subresources: [] },
  { group: '', version: 'v1', kind: 'ConfigMap', listKind: 'ConfigMapList', resource: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'], subresources: [] },
  { group: '', version: 'v1', kind: 'Pod', listKind: 'PodList', resource: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], subresources: ['status'] },
  { group: '', version: 'v1', kind: 'Service', listKind: 'ServiceList', resource: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], subresources: ['status'] },
  { group: '', version: 'v1', kind: 'Endpoints', listKind: 'EndpointsList', resource: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'], subresources: [] },
  { group: 'apps', version: 'v1', kind: 'Deployment', listKind: 'DeploymentList', resource: 'deployments', singular: 'deployment', namespaced: true, shortNames: ['deploy'], subresources: ['status', 'scale'] },
  // Mesh config, served as Istio and Gateway API serve their CRDs: every version shares one
  // storage (kindKey ignores the version); the first version listed is the preferred one.
  ...mesh('security.istio.io', ['v1', 'v1beta1'], 'AuthorizationPolicy', []),
  ...mesh('security.istio.io', ['v1', 'v1beta1'], 'PeerAuthentication', ['pa']),
  ...mesh('security.istio.io', ['v1', 'v1beta1'], 'RequestAuthentication', ['ra']),
  ...mesh('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'ServiceEntry', ['se']),
  ...mesh('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'WorkloadEntry', ['we']),
  ...mesh('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'DestinationRule', ['dr']),
  ...mesh('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'VirtualService', ['vs']),
  ...mesh('gateway.networking.k8s.io', ['v1', 'v1beta1'], 'Gateway', ['gtw']),
  ...mesh('gateway.networking.k8s.io', ['v1', 'v1beta1'], 'HTTPRoute', []),
  ...mesh('gateway.networking.k8s.io', ['v1'], 'GRPCRoute', []),
];

function mesh(group: string, versions: string[], kind: string, shortNames: string[]): KindInfo[] {
  const singular = kind.toLowerCase();
  const resource = singular.endsWith('y') ? `${singular.slice(0, -1)}ies` : `${singular}s`;
  return versions.map((version) => ({ group, version, kind, listKind: `${kind}List`, resource, singular, namespaced: true, shortNames, subresources: ['status'] }));
}

/** The version objects of a kind are stored as (the first one served), whatever version wrote them. */
export function storageVersionOf(k: KindInfo): KindInfo {
  return KINDS.find((x) => x.group === k.group && x.kind === k.kind) ?? k;
}

export const apiVersionOf = (k: KindInfo): string => (k.group ? `${k.group}/${k.version}` : k.version);

export function kindByApiVersionKind(apiVersion: string, kind: string): KindInfo | undefined {
  return KINDS.find((k) => apiVersionOf(k) === apiVersion && k.kind === kind);
}

export function kindByResource(group: string, version: string, resource: string): KindInfo | undefined {
  return KINDS.find((k) => k.group === group && k.version === version && k.resource === resource);
}

/** Resolves what a user types (`pods`, `pod`, `po`, `Pod`, `deployment.apps`) to a kind. */
export function kindByUserName(name: string): KindInfo | undefined {
  const [base = '', group] = name.toLowerCase().split(/\.(.*)/s);
  return KINDS.find(
    (k) =>
      (group === undefined || k.group === group) &&
      (k.resource === base || k.singular === base || k.kind.toLowerCase() === base || k.shortNames.includes(base)),
  );
}

export const kindKey = (k: KindInfo): string => `${k.group || 'core'}/${k.resource}`;
