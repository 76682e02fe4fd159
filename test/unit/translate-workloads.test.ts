// Pods / WorkloadEntries / ServiceEntries → Workload, Services → Service (spec §4.4, §4.5, §7.2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Workload } from '../../src/mesh-api/types.js';
import { isEnrolled } from '../../src/control-plane/translate/enrollment.js';
import { translate } from '../../src/control-plane/translate/snapshot.js';
import { CAPTURED, namespace, node, pod, run, service, workloadNamed, type PodOpts } from './support/translate-fixtures.js';

describe('translate workloads: enrollment', () => {
  const rows: [string, Record<string, string> | undefined, Record<string, string> | undefined, boolean][] = [
    ['ambient on the pod enrolls', { 'istio.io/dataplane-mode': 'ambient' }, undefined, true],
    ['ambient on the namespace enrolls', undefined, { 'istio.io/dataplane-mode': 'ambient' }, true],
    ['none on the pod opts out of an ambient namespace', { 'istio.io/dataplane-mode': 'none' }, { 'istio.io/dataplane-mode': 'ambient' }, false],
    ['ambient on the pod wins over none on the namespace', { 'istio.io/dataplane-mode': 'ambient' }, { 'istio.io/dataplane-mode': 'none' }, true],
    ['no label anywhere is not enrolled', undefined, undefined, false],
  ];
  for (const [name, pl, nl, want] of rows) it(name, () => assert.equal(isEnrolled(pl, nl), want));
});

// istiod's setTunnelProtocol: the label asks for capture, only the node agent's annotation
// (written once capture is in place) makes peers send HBONE.
describe('translate workloads: tunnel protocol (§4.4 fields 5, 14)', () => {
  const ambientNs = namespace('app', { 'istio.io/dataplane-mode': 'ambient' });
  const rows: [string, PodOpts, [string, boolean]][] = [
    ['enrolled by label but not yet captured: NONE, still sent', {}, ['NONE', false]],
    ['captured (redirection enabled): HBONE', { annotations: CAPTURED }, ['HBONE', false]],
    ['rules in but no tunnel took it (pending): NONE', { annotations: { 'ambient.istio.io/redirection': 'pending' } }, ['NONE', false]],
    ['any other annotation value: NONE', { annotations: { 'ambient.istio.io/redirection': 'true' } }, ['NONE', false]],
    ['opted out with none, no annotation: NONE', { labels: { 'istio.io/dataplane-mode': 'none' } }, ['NONE', false]],
    ['native tunnel label (networking.istio.io/tunnel: http): HBONE and native', { labels: { 'networking.istio.io/tunnel': 'http' } }, ['HBONE', true]],
    ['native tunnel in a comma list', { labels: { 'networking.istio.io/tunnel': 'foo,http' } }, ['HBONE', true]],
  ];
  for (const [name, o, want] of rows) {
    it(name, () => {
      const w = workloadNamed(run({ namespaces: [ambientNs], pods: [pod('app', 'p', o)] }), 'p');
      assert.deepEqual([w.tunnelProtocol, w.nativeTunnel], want);
    });
  }
  it('WorkloadEntries and ServiceEntry endpoints follow the same rule, on their own metadata', () => {
    const r = run({
      namespaces: [ambientNs],
      yaml: `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: labelled, namespace: app, labels: {istio.io/dataplane-mode: ambient}}
spec: {address: 10.10.0.1}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: annotated, namespace: app, annotations: {ambient.istio.io/redirection: enabled}}
spec: {address: 10.10.0.2}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: native, namespace: app, labels: {networking.istio.io/tunnel: http}}
spec: {address: 10.10.0.3}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se, namespace: app, annotations: {ambient.istio.io/redirection: enabled}}
spec: {hosts: [se.example], ports: [{number: 80, name: http}], resolution: STATIC, endpoints: [{address: 10.10.0.4}]}
`,
    });
    const got = Object.fromEntries(r.snapshot.workloads.map((w) => [w.name, [w.tunnelProtocol, w.nativeTunnel]]));
    assert.deepEqual(got, { labelled: ['NONE', false], annotated: ['HBONE', false], native: ['HBONE', true], se: ['HBONE', false] });
  });
});

describe('translate workloads: pod fields (§4.4)', () => {
  const one = (o: PodOpts, nsLabels: Record<string, string> = {}, td?: string): Workload => {
    const r = translate({ pods: [pod('app', 'web-1', o)], namespaces: [namespace('app', nsLabels)], services: [], clusterId: 'Kubernetes', ...(td ? { trustDomain: td } : {}) });
    const w = r.snapshot.workloads[0];
    assert.ok(w);
    return w;
  };
  const rows: [string, PodOpts, (w: Workload) => unknown, unknown, string?][] = [
    ['uid is <cluster>//Pod/<ns>/<name>', {}, (w) => w.uid, 'Kubernetes//Pod/app/web-1'],
    ['addresses are the pod IP, network is empty', { ip: '10.0.1.99' }, (w) => [w.addresses, w.network], [['10.0.1.99'], '']],
    ['trustDomain is empty for cluster.local', {}, (w) => w.trustDomain, ''],
    ['serviceAccount and node come from the spec', { sa: 'web-sa', node: 'node2' }, (w) => [w.serviceAccount, w.node], ['web-sa', 'node2']],
    ['canonical name from service.istio.io/canonical-name first', { labels: { 'service.istio.io/canonical-name': 'c', 'app.kubernetes.io/name': 'k', app: 'a' } }, (w) => w.canonicalName, 'c'],
    ['canonical name from app.kubernetes.io/name before app', { labels: { 'app.kubernetes.io/name': 'k', app: 'a' } }, (w) => w.canonicalName, 'k'],
    ['canonical name from app', { labels: { app: 'a' } }, (w) => w.canonicalName, 'a'],
    ['canonical name falls back to the workload name', { labels: {}, owner: { kind: 'Deployment', name: 'web' } }, (w) => w.canonicalName, 'web'],
    ['canonical revision from canonical-revision, then version, else latest', { labels: { version: 'v2' } }, (w) => w.canonicalRevision, 'v2'],
    ['canonical revision defaults to latest', { labels: {} }, (w) => w.canonicalRevision, 'latest'],
    // istiod sends workload_type POD for every pod ("backwards compatibility"); the name still follows the owner.
    ['a Deployment owner: POD, the Deployment name', { owner: { kind: 'Deployment', name: 'web' } }, (w) => [w.workloadType, w.workloadName], ['POD', 'web']],
    ['a ReplicaSet owner maps back to its Deployment name', { labels: { 'pod-template-hash': '5d4f' }, owner: { kind: 'ReplicaSet', name: 'web-5d4f' } }, (w) => [w.workloadType, w.workloadName], ['POD', 'web']],
    ['a ReplicaSet without the hash label keeps its own name (istiod: pod from replicaset)', { labels: {}, owner: { kind: 'ReplicaSet', name: 'rs' } }, (w) => [w.workloadType, w.workloadName, w.canonicalName], ['POD', 'rs', 'rs']],
    ['a Job owner: its name', { owner: { kind: 'Job', name: 'migrate' } }, (w) => [w.workloadType, w.workloadName], ['POD', 'migrate']],
    ['a CronJob\'s Job: the CronJob name', { owner: { kind: 'Job', name: 'backup-28391040' } }, (w) => [w.workloadType, w.workloadName], ['POD', 'backup']],
    ['the service.istio.io/workload-name label overrides', { labels: { 'service.istio.io/workload-name': 'named' }, owner: { kind: 'Deployment', name: 'web' } }, (w) => w.workloadName, 'named'],
    ['no owner gives POD and the pod name', {}, (w) => [w.workloadType, w.workloadName], ['POD', 'web-1']],
    ['a Ready pod is HEALTHY', {}, (w) => w.status, 'HEALTHY'],
    ['a pod that is not Ready is UNHEALTHY', { ready: false }, (w) => w.status, 'UNHEALTHY'],
    ['a Pending pod with an IP is sent, UNHEALTHY (istiod: not running but have podIP)', { phase: 'Pending', ready: false }, (w) => w.status, 'UNHEALTHY'],
    ['a terminating Ready pod is sent UNHEALTHY until it is gone', { terminating: true }, (w) => w.status, 'UNHEALTHY'],
    ['a terminating pod keeps its tunnel protocol (it drains through its tunnel)', { terminating: true, annotations: CAPTURED }, (w) => [w.status, w.tunnelProtocol], ['UNHEALTHY', 'HBONE']],
    ['clusterId is set', {}, (w) => w.clusterId, 'Kubernetes'],
  ];
  for (const [name, o, get, want] of rows) it(name, () => assert.deepEqual(get(one(o)), want));
  it('a custom trust domain is sent', () => assert.equal(one({}, {}, 'example.org').trustDomain, 'example.org'));
  const skipped: [string, PodOpts][] = [
    ['a pod without an IP is not sent', { ip: undefined }],
    ['a completed pod is not sent', { phase: 'Succeeded' }],
    ['a failed pod is not sent', { phase: 'Failed' }],
    ['a completed terminating pod is not sent', { phase: 'Succeeded', terminating: true }],
  ];
  for (const [name, o] of skipped) it(name, () => assert.equal(run({ pods: [pod('app', 'x', o)] }).snapshot.workloads.length, 0));
});

// istiod's nodeLocality: topology.kubernetes.io/region|zone and topology.istio.io/subzone of the pod's node.
describe('translate workloads: locality from the node (§4.4 field 24)', () => {
  const rows: [string, ReturnType<typeof node>[], string | undefined, unknown][] = [
    ['region and zone of the node (istiod: simple pod with locality)', [node('n1', 'region', 'zone')], 'n1', { region: 'region', zone: 'zone', subzone: '' }],
    ['all three labels', [node('n1', 'r1', 'z1', 's1')], 'n1', { region: 'r1', zone: 'z1', subzone: 's1' }],
    ['only a subzone still counts', [node('n1', '', '', 's1')], 'n1', { region: '', zone: '', subzone: 's1' }],
    ['a node without topology labels: none', [node('n1')], 'n1', undefined],
    ['an unknown node: none', [node('n2', 'r', 'z')], 'n1', undefined],
    ['another node\'s labels do not apply', [node('n1', 'r1', 'z1'), node('n2', 'r2', 'z2')], 'n2', { region: 'r2', zone: 'z2', subzone: '' }],
  ];
  for (const [name, nodes, at, want] of rows) it(name, () => assert.deepEqual(workloadNamed(run({ nodes, pods: [pod('app', 'p', { node: at })] }), 'p').locality, want));
});

describe('translate workloads: services map (§4.4 field 22)', () => {
  const ports = [{ name: 'http', containerPort: 8080 }];
  const rows: [string, Parameters<typeof service>[3], PodOpts, Record<string, { servicePort: number; targetPort: number }[]>, RegExp?][] = [
    ['a numeric targetPort is used as is', [{ port: 80, targetPort: 8080 }], {}, { 'app/web.app.svc.cluster.local': [{ servicePort: 80, targetPort: 8080 }] }],
    ['no targetPort means the service port', [{ port: 80 }], {}, { 'app/web.app.svc.cluster.local': [{ servicePort: 80, targetPort: 80 }] }],
    ['a named targetPort resolves per pod', [{ port: 80, targetPort: 'http' }], { ports }, { 'app/web.app.svc.cluster.local': [{ servicePort: 80, targetPort: 8080 }] }],
    ['a named targetPort the pod lacks leaves the port out', [{ port: 80, targetPort: 'grpc' }], { ports }, { 'app/web.app.svc.cluster.local': [] }, /does not declare/],
    ['a Service that does not select the pod is absent', [{ port: 80 }], { labels: { app: 'other' } }, {}],
  ];
  for (const [name, sp, o, want, diag] of rows) {
    it(name, () => {
      const r = run({ pods: [pod('app', 'web-1', { labels: { app: 'web' }, ...o })], services: [service('app', 'web', { app: 'web' }, sp)] });
      assert.deepEqual(workloadNamed(r, 'web-1').services, want);
      if (diag) assert.match(r.diagnostics.map((d) => d.message).join('\n'), diag);
    });
  }
  it('a Service in another namespace or without a selector selects nothing', () => {
    const r = run({ pods: [pod('app', 'web-1', { labels: { app: 'web' } })], services: [service('other', 'web', { app: 'web' }, [{ port: 80 }]), service('app', 'ext', undefined, [{ port: 80 }])] });
    assert.deepEqual(workloadNamed(r, 'web-1').services, {});
  });
});

describe('translate workloads: waypoints (§7.2, §5.5)', () => {
  const gw = (name: string, ns: string, waypointFor?: string, cls = 'istio-waypoint'): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: ${ns}${waypointFor ? `, labels: {istio.io/waypoint-for: ${waypointFor}}` : ''}}
spec: {gatewayClassName: ${cls}, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
`;
  const wp = (ns: string, name: string) => ({ hostname: { namespace: ns, hostname: `${name}.${ns}.svc.cluster.local` }, hboneMtlsPort: 15008 });
  const rows: [string, string, Record<string, string>, Record<string, string>, unknown, RegExp?][] = [
    ['use-waypoint on the pod sets the workload waypoint', gw('wp', 'app', 'workload'), { 'istio.io/use-waypoint': 'wp' }, {}, wp('app', 'wp')],
    ['use-waypoint on the namespace applies to pods', gw('wp', 'app', 'all'), {}, { 'istio.io/use-waypoint': 'wp' }, wp('app', 'wp')],
    ['the pod label wins over the namespace label', gw('a', 'app', 'all') + gw('b', 'app', 'all'), { 'istio.io/use-waypoint': 'b' }, { 'istio.io/use-waypoint': 'a' }, wp('app', 'b')],
    ['none on the pod opts out of the namespace waypoint', gw('wp', 'app', 'all'), { 'istio.io/use-waypoint': 'none' }, { 'istio.io/use-waypoint': 'wp' }, undefined],
    ['use-waypoint-namespace points across namespaces', gw('wp', 'shared', 'all'), { 'istio.io/use-waypoint': 'wp', 'istio.io/use-waypoint-namespace': 'shared' }, {}, wp('shared', 'wp')],
    ['use-waypoint naming a missing Gateway sets no waypoint', '', { 'istio.io/use-waypoint': 'wp' }, {}, undefined, /not a Gateway of class istio-waypoint/],
    ['a Gateway of another class is not a waypoint', gw('wp', 'app', 'all', 'istio'), { 'istio.io/use-waypoint': 'wp' }, {}, undefined, /not a Gateway/],
    ['a service-only waypoint is not used by a pod', gw('wp', 'app'), { 'istio.io/use-waypoint': 'wp' }, {}, undefined, /for 'service' traffic/],
  ];
  for (const [name, yaml, podLabels, nsLabels, want, diag] of rows) {
    it(name, () => {
      const r = run({ yaml, namespaces: [namespace('app', nsLabels)], pods: [pod('app', 'web-1', { labels: podLabels })] });
      assert.deepEqual(workloadNamed(r, 'web-1').waypoint, want);
      if (diag) assert.match(r.diagnostics.map((d) => d.message).join('\n'), diag);
    });
  }
  it('a waypoint\'s own pods never use a waypoint', () => {
    const r = run({ yaml: gw('wp', 'app', 'all'), namespaces: [namespace('app', { 'istio.io/use-waypoint': 'wp' })], pods: [pod('app', 'wp-1', { labels: { 'gateway.networking.k8s.io/gateway-name': 'wp' } })] });
    assert.equal(workloadNamed(r, 'wp-1').waypoint, undefined);
  });
  it('use-waypoint on a Service sets the service waypoint (default waypoint-for service)', () => {
    const r = run({ yaml: gw('wp', 'app'), namespaces: [namespace('app')], services: [service('app', 'web', { app: 'web' }, [{ port: 80 }], { labels: { 'istio.io/use-waypoint': 'wp' } })] });
    assert.deepEqual(r.snapshot.services[0]?.waypoint, wp('app', 'wp'));
  });
  it('a workload-only waypoint is not used by a Service via the namespace label, silently', () => {
    const r = run({ yaml: gw('wp', 'app', 'workload'), namespaces: [namespace('app', { 'istio.io/use-waypoint': 'wp' })], services: [service('app', 'web', { app: 'web' }, [{ port: 80 }])] });
    assert.equal(r.snapshot.services[0]?.waypoint, undefined);
    assert.deepEqual(r.diagnostics, []);
  });
});

describe('translate services (§4.5)', () => {
  const rows: [string, Parameters<typeof service>[3], string | undefined, object][] = [
    ['hostname, VIP and numeric ports', [{ port: 80, targetPort: 8080 }], '10.96.0.20', { name: 'web', namespace: 'app', hostname: 'web.app.svc.cluster.local', addresses: [{ network: '', address: '10.96.0.20' }], ports: [{ servicePort: 80, targetPort: 8080 }], subjectAltNames: [] }],
    ['a named targetPort is 0 on the Service', [{ port: 80, targetPort: 'http' }], '10.96.0.20', { ports: [{ servicePort: 80, targetPort: 0 }] }],
    ['no targetPort is the service port', [{ port: 80 }], '10.96.0.20', { ports: [{ servicePort: 80, targetPort: 80 }] }],
    ['appProtocol http becomes HTTP11', [{ port: 80, appProtocol: 'http' }], '10.96.0.20', { ports: [{ servicePort: 80, targetPort: 80, appProtocol: 'HTTP11' }] }],
    ['a headless Service has no addresses', [{ port: 80 }], 'None', { addresses: [] }],
  ];
  for (const [name, sp, ip, want] of rows) {
    it(name, () => {
      const s = run({ services: [service('app', 'web', { app: 'web' }, sp, ip ? { clusterIP: ip } : {})] }).snapshot.services[0];
      for (const [k, v] of Object.entries(want)) assert.deepEqual((s as unknown as Record<string, unknown>)[k], v, k);
    });
  }

  // istiod's constructService: canonical always, ip_families from spec.ipFamilies,
  // internalTrafficPolicy Local before traffic distribution, publishNotReadyAddresses → ALLOW_ALL.
  type Spec = Parameters<typeof service>[4] extends infer O ? (O extends { spec?: infer S } ? S : never) : never;
  const specRows: [string, Spec, Record<string, string>, object][] = [
    ['a Kubernetes Service is always canonical; no ipFamilies is AUTOMATIC (omitted)', {}, {}, { canonical: true, ipFamilies: undefined, loadBalancing: undefined }],
    ['one family IPv4: IPV4_ONLY', { ipFamilies: ['IPv4'] }, {}, { ipFamilies: 'IPV4_ONLY' }],
    ['one family IPv6: IPV6_ONLY', { ipFamilies: ['IPv6'] }, {}, { ipFamilies: 'IPV6_ONLY' }],
    ['two families: DUAL', { ipFamilies: ['IPv4', 'IPv6'] }, {}, { ipFamilies: 'DUAL' }],
    ['internalTrafficPolicy Local: STRICT to the client node', { internalTrafficPolicy: 'Local' }, {}, { loadBalancing: { routingPreference: ['NODE'], mode: 'STRICT' } }],
    ['internalTrafficPolicy Cluster: nothing', { internalTrafficPolicy: 'Cluster' }, {}, { loadBalancing: undefined }],
    ['Local wins over trafficDistribution', { internalTrafficPolicy: 'Local', trafficDistribution: 'PreferSameZone' }, {}, { loadBalancing: { routingPreference: ['NODE'], mode: 'STRICT' } }],
    ['Local wins over the traffic-distribution annotation', { internalTrafficPolicy: 'Local' }, { 'networking.istio.io/traffic-distribution': 'PreferSameNode' }, { loadBalancing: { routingPreference: ['NODE'], mode: 'STRICT' } }],
    ['publishNotReadyAddresses alone: health policy ALLOW_ALL only (istiod: publishNotReadyAddresses)', { publishNotReadyAddresses: true }, {}, { loadBalancing: { routingPreference: [], mode: 'UNSPECIFIED_MODE', healthPolicy: 'ALLOW_ALL' } }],
    ['publishNotReadyAddresses with PreferSameZone keeps the preference', { publishNotReadyAddresses: true, trafficDistribution: 'PreferSameZone' }, {}, { loadBalancing: { routingPreference: ['NETWORK', 'REGION', 'ZONE'], mode: 'FAILOVER', healthPolicy: 'ALLOW_ALL' } }],
    ['publishNotReadyAddresses with Local', { publishNotReadyAddresses: true, internalTrafficPolicy: 'Local' }, {}, { loadBalancing: { routingPreference: ['NODE'], mode: 'STRICT', healthPolicy: 'ALLOW_ALL' } }],
    ['publishNotReadyAddresses false: nothing', { publishNotReadyAddresses: false }, {}, { loadBalancing: undefined }],
  ];
  for (const [name, spec, annotations, want] of specRows) {
    it(name, () => {
      const svc = service('app', 'web', { app: 'web' }, [{ port: 80 }], { spec });
      svc.metadata.annotations = annotations;
      const s = run({ services: [svc] }).snapshot.services[0];
      for (const [k, v] of Object.entries(want)) assert.deepEqual((s as unknown as Record<string, unknown>)[k], v, k);
    });
  }
  it('the same Service object never leaks its load balancing into another (istiod fixed a shared preset)', () => {
    const a = service('app', 'a', { app: 'a' }, [{ port: 80 }], { spec: { trafficDistribution: 'PreferSameZone', publishNotReadyAddresses: true } });
    const b = service('app', 'b', { app: 'b' }, [{ port: 80 }], { spec: { trafficDistribution: 'PreferSameZone' } });
    const [sa, sb] = run({ services: [a, b] }).snapshot.services;
    assert.equal(sa?.loadBalancing?.healthPolicy, 'ALLOW_ALL');
    assert.equal(sb?.loadBalancing?.healthPolicy, undefined);
  });
});

// istiod's selectWorkloadServices (TestSelectWorkloadServices without the visibility cases, which
// need the mesh-config serviceEntryVisibility Ambit does not have): one per namespace per
// hostname, one canonical.
describe('translate services: one per namespace and one canonical per hostname', () => {
  const se = (ns: string, name: string, created: string, host = 'shared.example.com'): string => `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${ns}, creationTimestamp: "${created}"}
spec: {hosts: [${host}], ports: [{number: 80, name: http}], resolution: STATIC}
`;
  const OLDER = '2024-01-01T00:00:00Z';
  const NEWER = '2024-06-01T00:00:00Z';
  const kube = (ns: string, name: string, created: string) => {
    const s = service(ns, name, { app: name }, [{ port: 80 }]);
    s.metadata.creationTimestamp = created;
    return s;
  };
  const rows: [string, string[], ReturnType<typeof kube>[], Record<string, string>, string[], RegExp?][] = [
    ['one ServiceEntry: canonical', [se('a', 'one', OLDER)], [], { a: 'one' }, ['one']],
    ['cross namespace: the older entry is canonical, both are sent', [se('team-a', 'new', NEWER), se('team-b', 'old', OLDER)], [], { 'team-a': 'new', 'team-b': 'old' }, ['old']],
    ['same namespace: the older entry wins the slot, the other is reported', [se('ns', 'new', NEWER), se('ns', 'old', OLDER)], [], { ns: 'old' }, ['old'], /also defined by ServiceEntry\/ns\/old/],
    ['equal age: the lower namespace/name wins (input-order independent)', [se('ns', 'b', OLDER), se('ns', 'a', OLDER)], [], { ns: 'a' }, ['a']],
    [
      'a Kubernetes Service is canonical over an older entry camping its hostname (istiod: kube Service is canonical over an older camping ServiceEntry)',
      [se('team-b', 'camp', OLDER, 'svc.team-a.svc.cluster.local')],
      [kube('team-a', 'svc', NEWER)],
      { 'team-a': 'svc', 'team-b': 'camp' },
      ['svc'],
    ],
    ['in its own namespace a Kubernetes Service beats an older entry', [se('team-a', 'camp', OLDER, 'svc.team-a.svc.cluster.local')], [kube('team-a', 'svc', NEWER)], { 'team-a': 'svc' }, ['svc'], /ServiceEntry\/team-a\/camp/],
  ];
  for (const [name, yamls, services, winners, canonical, diag] of rows) {
    for (const order of ['given', 'reversed']) {
      it(`${name} (${order})`, () => {
        const ys = order === 'given' ? yamls : [...yamls].reverse();
        const r = run({ yaml: ys.join(''), services });
        const byHost = r.snapshot.services.filter((s) => s.hostname === (services[0] ? 'svc.team-a.svc.cluster.local' : 'shared.example.com'));
        assert.deepEqual(Object.fromEntries(byHost.map((s) => [s.namespace, s.name])), winners);
        assert.deepEqual(byHost.filter((s) => s.canonical).map((s) => s.name), canonical);
        if (diag) assert.match(r.diagnostics.map((d) => `${d.object}: ${d.message}`).join('\n'), diag);
      });
    }
  }
});

describe('translate ServiceEntry and WorkloadEntry', () => {
  const yaml = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: app}
spec:
  hosts: [api.example.com, "*.wild.example.com"]
  addresses: [240.0.0.1, 240.1.0.0/16]
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 1.2.3.4, ports: {https: 8443}}, {address: 1.2.3.5}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vm-svc, namespace: app}
spec:
  hosts: [vm.internal]
  ports: [{number: 80, name: http, targetPort: 8080}]
  resolution: STATIC
  workloadSelector: {labels: {app: vm}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: app, annotations: {ambient.istio.io/redirection: enabled}}
spec: {address: 10.10.0.5, labels: {app: vm, istio.io/dataplane-mode: ambient}, serviceAccount: vm-sa, network: net2, locality: r1/z1, weight: 3, ports: {http: 9090}}
`;
  const r = run({ yaml, namespaces: [namespace('app')], services: [service('app', 'vmk', { app: 'vm' }, [{ port: 80, name: 'http', targetPort: 'http' }])] });
  it('each concrete host becomes a Service with the entry addresses; CIDRs keep their length', () => {
    const s = r.snapshot.services.find((x) => x.hostname === 'api.example.com');
    assert.deepEqual(s?.addresses, [{ network: '', address: '240.0.0.1' }, { network: '', address: '240.1.0.0', length: 16 }]);
    // protocol TLS → app_protocol TLS on the Service (istiod's toAppProtocolFromProtocol).
    assert.deepEqual(s?.ports, [{ servicePort: 443, targetPort: 443, appProtocol: 'TLS' }]);
  });
  it('a wildcard host is skipped with a diagnostic', () => {
    assert.ok(!r.snapshot.services.some((x) => x.hostname.startsWith('*')));
    assert.match(r.diagnostics.map((d) => d.message).join('\n'), /wildcard host/);
  });
  it('STATIC endpoints become workloads with per-endpoint ports', () => {
    const eps = r.snapshot.workloads.filter((w) => w.uid.includes('/ServiceEntry/'));
    assert.deepEqual(eps.map((w) => w.uid), ['Kubernetes/networking.istio.io/ServiceEntry/app/ext/1.2.3.4', 'Kubernetes/networking.istio.io/ServiceEntry/app/ext/1.2.3.5']);
    assert.deepEqual(eps[0]?.services, { 'app/api.example.com': [{ servicePort: 443, targetPort: 8443 }] });
    assert.equal(eps[0]?.tunnelProtocol, 'NONE');
  });
  it('a WorkloadEntry becomes a workload with its uid and fields', () => {
    const w = r.snapshot.workloads.find((x) => x.name === 'vm-1');
    assert.equal(w?.uid, 'Kubernetes/networking.istio.io/WorkloadEntry/app/vm-1');
    assert.deepEqual([w?.addresses, w?.network, w?.serviceAccount, w?.tunnelProtocol, w?.capacity], [['10.10.0.5'], 'net2', 'vm-sa', 'HBONE', 3]);
    assert.deepEqual(w?.locality, { region: 'r1', zone: 'z1', subzone: '' });
  });
  it('a WorkloadEntry joins selecting Services and ServiceEntries, with its named ports', () => {
    const w = r.snapshot.workloads.find((x) => x.name === 'vm-1');
    assert.deepEqual(w?.services, { 'app/vm.internal': [{ servicePort: 80, targetPort: 8080 }], 'app/vmk.app.svc.cluster.local': [{ servicePort: 80, targetPort: 9090 }] });
  });
});

describe('translate snapshot: determinism', () => {
  it('the same input in any order gives the same snapshot', () => {
    const pods = [pod('b', 'p2', { ip: '10.0.1.2' }), pod('a', 'p1', { ip: '10.0.1.3' }), pod('a', 'p0', { ip: '10.0.1.4' })];
    const services = [service('b', 's', { app: 'p2' }, [{ port: 80 }]), service('a', 's', { app: 'p1' }, [{ port: 80 }])];
    const one = translate({ pods, services, namespaces: [], clusterId: 'c' });
    const two = translate({ pods: [...pods].reverse(), services: [...services].reverse(), namespaces: [], clusterId: 'c' });
    assert.deepEqual(one, two);
    assert.deepEqual(one.snapshot.workloads.map((w) => w.uid), ['c//Pod/a/p0', 'c//Pod/a/p1', 'c//Pod/b/p2']);
    assert.deepEqual(one.snapshot.services.map((s) => s.hostname), ['s.a.svc.cluster.local', 's.b.svc.cluster.local']);
  });
});
