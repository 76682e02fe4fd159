// Service load balancing as istiod derives it (spec §2.13): spec.trafficDistribution, else the
// networking.istio.io/traffic-distribution annotation of the Service, else of its namespace;
// ServiceEntry resolution NONE → PASSTHROUGH. The API server accepts trafficDistribution.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadBalancing } from '../../src/mesh-api/types.js';
import { TRAFFIC_DISTRIBUTION_ANNOTATION } from '../../src/control-plane/translate/load-balancing.js';
import type { Namespace, Service as KubeService } from '../../src/model/core/types.js';
import { validateObject } from '../../src/model/core/validate.js';
import { namespace, run, service } from './support/translate-fixtures.js';

const ZONE: LoadBalancing = { routingPreference: ['NETWORK', 'REGION', 'ZONE'], mode: 'FAILOVER' };
const NODE: LoadBalancing = { routingPreference: ['NETWORK', 'REGION', 'ZONE', 'SUBZONE', 'NODE'], mode: 'FAILOVER' };

function svc(o: { td?: KubeService['spec']['trafficDistribution']; annotation?: string }): KubeService {
  const s = service('app', 'web', { app: 'web' }, [{ port: 80, targetPort: 8080 }]);
  if (o.td) s.spec.trafficDistribution = o.td;
  if (o.annotation !== undefined) s.metadata.annotations = { [TRAFFIC_DISTRIBUTION_ANNOTATION]: o.annotation };
  return s;
}
const ns = (annotation?: string): Namespace => ({ ...namespace('app'), metadata: { name: 'app', ...(annotation ? { annotations: { [TRAFFIC_DISTRIBUTION_ANNOTATION]: annotation } } : {}) } });

describe('translate: Service load balancing', () => {
  const rows: [string, KubeService, Namespace, LoadBalancing | undefined][] = [
    ['nothing set: no load balancing', svc({}), ns(), undefined],
    ['PreferClose → FAILOVER network/region/zone', svc({ td: 'PreferClose' }), ns(), ZONE],
    ['PreferSameZone → the same', svc({ td: 'PreferSameZone' }), ns(), ZONE],
    ['PreferSameNode → down to subzone and node', svc({ td: 'PreferSameNode' }), ns(), NODE],
    ['annotation, any case', svc({ annotation: 'preferclose' }), ns(), ZONE],
    ['annotation PreferSameNode', svc({ annotation: 'PreferSameNode' }), ns(), NODE],
    ['the spec field wins over the annotation', svc({ td: 'PreferSameNode', annotation: 'PreferClose' }), ns(), NODE],
    ['namespace annotation is inherited', svc({}), ns('PreferSameZone'), ZONE],
    ['the service’s own annotation (even Any) wins over the namespace', svc({ annotation: 'Any' }), ns('PreferSameNode'), undefined],
    ['the spec field wins over the namespace', svc({ td: 'PreferSameZone' }), ns('PreferSameNode'), ZONE],
    ['unknown annotation values mean no preference', svc({ annotation: 'Nearby' }), ns(), undefined],
  ];
  for (const [name, s, n, want] of rows) {
    it(name, () => assert.deepEqual(run({ services: [s], namespaces: [n] }).snapshot.services[0]?.loadBalancing, want));
  }
});

describe('translate: ServiceEntry load balancing', () => {
  const entry = (resolution: string | undefined, annotation?: string): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: app${annotation ? `, annotations: {${TRAFFIC_DISTRIBUTION_ANNOTATION}: ${annotation}}` : ''}}
spec:
  hosts: [api.example.com]
  addresses: [240.0.0.1]
  ports: [{number: 443, name: https}]
${resolution ? `  resolution: ${resolution}\n` : ''}`;
  const lbOf = (yaml: string, n = ns()): LoadBalancing | undefined => run({ yaml, namespaces: [n] }).snapshot.services[0]?.loadBalancing;
  it('resolution NONE (also by default) → PASSTHROUGH with ALLOW_ALL', () => {
    const pass: LoadBalancing = { routingPreference: [], mode: 'PASSTHROUGH', healthPolicy: 'ALLOW_ALL' };
    assert.deepEqual(lbOf(entry('NONE')), pass);
    assert.deepEqual(lbOf(entry(undefined)), pass);
  });
  it('STATIC follows the annotation of the entry, else of its namespace', () => {
    assert.equal(lbOf(entry('STATIC')), undefined);
    assert.deepEqual(lbOf(entry('STATIC', 'PreferSameNode')), NODE);
    assert.deepEqual(lbOf(entry('STATIC'), ns('PreferClose')), ZONE);
  });
});

describe('Service schema: trafficDistribution', () => {
  const obj = (td: unknown): unknown => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'app' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }], trafficDistribution: td } });
  it('accepts PreferClose, PreferSameZone and PreferSameNode', () => {
    for (const td of ['PreferClose', 'PreferSameZone', 'PreferSameNode']) assert.equal(validateObject(obj(td)).ok, true, td);
  });
  it('refuses other values at spec.trafficDistribution', () => {
    const r = validateObject(obj('Nearby'));
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.errors.some((e) => e.path === 'spec.trafficDistribution'), JSON.stringify(r));
  });
});
