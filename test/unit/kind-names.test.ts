// Mesh kinds are served under their upstream CRDs' names: discovery's APIResourceList matches
// a literal table taken from istio/istio crd-all.gen.yaml and gateway-api's standard CRDs,
// and every plural, singular and short name resolves to the kind for `ambit get`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiResourceList } from '../../src/local/apiserver/discovery.js';
import { kindByUserName, KINDS, KINDS_PREFERRED } from '../../src/model/core/kinds.js';

interface UpstreamNames {
  group: string;
  versions: string[];
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories: string[];
}

// spec.names (and the served versions) of each upstream CRD, copied by hand.
const UPSTREAM: UpstreamNames[] = [
  { group: 'security.istio.io', versions: ['v1', 'v1beta1'], kind: 'AuthorizationPolicy', plural: 'authorizationpolicies', singular: 'authorizationpolicy', shortNames: ['ap'], categories: ['istio-io', 'security-istio-io'] },
  { group: 'security.istio.io', versions: ['v1', 'v1beta1'], kind: 'PeerAuthentication', plural: 'peerauthentications', singular: 'peerauthentication', shortNames: ['pa'], categories: ['istio-io', 'security-istio-io'] },
  { group: 'security.istio.io', versions: ['v1', 'v1beta1'], kind: 'RequestAuthentication', plural: 'requestauthentications', singular: 'requestauthentication', shortNames: ['ra'], categories: ['istio-io', 'security-istio-io'] },
  { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], kind: 'ServiceEntry', plural: 'serviceentries', singular: 'serviceentry', shortNames: ['se'], categories: ['istio-io', 'networking-istio-io'] },
  { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], kind: 'WorkloadEntry', plural: 'workloadentries', singular: 'workloadentry', shortNames: ['we'], categories: ['istio-io', 'networking-istio-io'] },
  { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], kind: 'DestinationRule', plural: 'destinationrules', singular: 'destinationrule', shortNames: ['dr'], categories: ['istio-io', 'networking-istio-io'] },
  { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'], kind: 'VirtualService', plural: 'virtualservices', singular: 'virtualservice', shortNames: ['vs'], categories: ['istio-io', 'networking-istio-io'] },
  { group: 'gateway.networking.k8s.io', versions: ['v1', 'v1beta1'], kind: 'Gateway', plural: 'gateways', singular: 'gateway', shortNames: ['gtw'], categories: ['gateway-api'] },
  { group: 'gateway.networking.k8s.io', versions: ['v1', 'v1beta1'], kind: 'HTTPRoute', plural: 'httproutes', singular: 'httproute', categories: ['gateway-api'] },
  { group: 'gateway.networking.k8s.io', versions: ['v1'], kind: 'GRPCRoute', plural: 'grpcroutes', singular: 'grpcroute', categories: ['gateway-api'] },
];

type Resource = { name: string; singularName: string; namespaced: boolean; kind: string; shortNames?: string[]; categories?: string[] };

describe('mesh kinds carry their upstream CRD names', () => {
  for (const u of UPSTREAM) {
    for (const version of u.versions) {
      it(`${u.group}/${version} ${u.kind}: discovery lists ${u.plural}`, () => {
        const list = apiResourceList(u.group, version) as { resources: Resource[] } | undefined;
        assert.ok(list, `${u.group}/${version} is served`);
        const r = list.resources.find((x) => x.kind === u.kind && !x.name.includes('/'));
        // The exact fields (and absent ones) kubectl api-resources prints from.
        assert.deepEqual(
          r && { name: r.name, singularName: r.singularName, namespaced: r.namespaced, shortNames: r.shortNames, categories: r.categories },
          { name: u.plural, singularName: u.singular, namespaced: true, shortNames: u.shortNames, categories: u.categories },
        );
        assert.ok(list.resources.some((x) => x.name === `${u.plural}/status`), 'status subresource under the plural');
      });
    }
    it(`${u.kind}: plural, singular, short and group-qualified names resolve`, () => {
      for (const name of [u.plural, u.singular, u.kind, ...(u.shortNames ?? []), `${u.plural}.${u.group}`, `${u.singular}.${u.group}`]) {
        const k = kindByUserName(name);
        assert.deepEqual(k && [k.group, k.kind, k.version], [u.group, u.kind, u.versions[0]], name);
      }
    });
  }

  it('no two kinds share a plural, singular or short name within a group, and the known-kinds list has no repeats', () => {
    const seen = new Map<string, string>();
    for (const k of KINDS_PREFERRED) {
      for (const n of new Set([k.resource, k.singular, ...k.shortNames])) {
        const key = `${k.group}/${n}`;
        assert.equal(seen.get(key) ?? k.kind, k.kind, `${key} names both ${seen.get(key)} and ${k.kind}`);
        seen.set(key, k.kind);
      }
    }
    const listed = KINDS_PREFERRED.map((k) => `${k.group}/${k.kind}`);
    assert.equal(new Set(listed).size, listed.length);
    assert.deepEqual(new Set(listed), new Set(KINDS.map((k) => `${k.group}/${k.kind}`)), 'every served kind is listed once');
  });
});
