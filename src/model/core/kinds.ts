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
  /** Groups of kinds `kubectl get <category>` lists (`all`, `istio-io`, `gateway-api`), as upstream. */
  categories: string[];
  /** Subresources served (status, scale). */
  subresources: string[];
}

const SECURITY = ['istio-io', 'security-istio-io'];
const NETWORKING = ['istio-io', 'networking-istio-io'];
const GATEWAY_API = ['gateway-api'];

export const KINDS: readonly KindInfo[] = [
  { group: '', version: 'v1', kind: 'Namespace', listKind: 'NamespaceList', resource: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], categories: [], subresources: ['status'] },
  { group: '', version: 'v1', kind: 'Node', listKind: 'NodeList', resource: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'], categories: [], subresources: ['status'] },
  { group: '', version: 'v1', kind: 'ServiceAccount', listKind: 'ServiceAccountList', resource: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'], categories: [], subresources: [] },
  { group: '', version: 'v1', kind: 'ConfigMap', listKind: 'ConfigMapList', resource: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'], categories: [], subresources: [] },
  { group: '', version: 'v1', kind: 'Pod', listKind: 'PodList', resource: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status'] },
  { group: '', version: 'v1', kind: 'Service', listKind: 'ServiceList', resource: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], categories: ['all'], subresources: ['status'] },
  { group: '', version: 'v1', kind: 'Endpoints', listKind: 'EndpointsList', resource: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'], categories: [], subresources: [] },
  { group: 'apps', version: 'v1', kind: 'Deployment', listKind: 'DeploymentList', resource: 'deployments', singular: 'deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] },
  // Mesh config, served as Istio and Gateway API serve their CRDs: every version shares one
  // storage (kindKey ignores the version); the first version listed is the preferred one.
  // Names are the upstream CRDs' spec.names (istio manifests/charts/base/files/crd-all.gen.yaml,
  // gateway-api config/crd/standard/*.yaml), written out rather than derived.
  ...mesh('security.istio.io', ['v1', 'v1beta1'], 'AuthorizationPolicy', 'authorizationpolicies', ['ap'], SECURITY),
  ...mesh('security.istio.io', ['v1', 'v1beta1'], 'PeerAuthentication', 'peerauthentications', ['pa'], SECURITY),
  ...mesh('security.istio.io', ['v1', 'v1beta1'], 'RequestAuthentication', 'requestauthentications', ['ra'], SECURITY),
  ...mesh('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'ServiceEntry', 'serviceentries', ['se'], NETWORKING),
  ...mesh('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'WorkloadEntry', 'workloadentries', ['we'], NETWORKING),
  ...mesh('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'DestinationRule', 'destinationrules', ['dr'], NETWORKING),
  ...mesh('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'VirtualService', 'virtualservices', ['vs'], NETWORKING),
  ...mesh('gateway.networking.k8s.io', ['v1', 'v1beta1'], 'Gateway', 'gateways', ['gtw'], GATEWAY_API),
  ...mesh('gateway.networking.k8s.io', ['v1', 'v1beta1'], 'HTTPRoute', 'httproutes', [], GATEWAY_API),
  ...mesh('gateway.networking.k8s.io', ['v1'], 'GRPCRoute', 'grpcroutes', [], GATEWAY_API),
];

function mesh(group: string, versions: string[], kind: string, resource: string, shortNames: string[], categories: string[]): KindInfo[] {
  const singular = kind.toLowerCase();
  return versions.map((version) => ({ group, version, kind, listKind: `${kind}List`, resource, singular, namespaced: true, shortNames, categories, subresources: ['status'] }));
}

/**
 * Storage keys under a resource name Ambit no longer serves (earlier builds derived Gateway's
 * plural as `gatewaies`); the WAL maps them on load so a persisted cluster keeps its objects.
 */
export const RENAMED_KIND_KEYS: Readonly<Record<string, string>> = { 'gateway.networking.k8s.io/gatewaies': 'gateway.networking.k8s.io/gateways' };

/** One entry per kind (its preferred version), for listing known kinds without repeats. */
export const KINDS_PREFERRED: readonly KindInfo[] = KINDS.filter((k) => storageVersionOf(k) === k);

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
