// `ambit analyze`: each check fires on the bad case and stays silent on the good one
// (table-driven), and the CLI on a directory of files prints istioctl-style lines and
// exits 1 on errors, 0 on warnings only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { analyze, formatFinding } from '../../src/analyze/index.js';
import { editDistance, nearMiss } from '../../src/analyze/checks/dataplane-labels.js';
import { analyzeCommand } from '../../src/cli/commands/analyze.js';
import { KINDS } from '../../src/model/core/kinds.js';
import type { KubeObject } from '../../src/model/core/types.js';
import { TestControlPlane } from './support/control-plane.js';

// --- object builders -------------------------------------------------------------------
type Labels = Record<string, string>;
const meta = (name: string, namespace?: string, labels?: Labels): KubeObject['metadata'] => ({ name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) });
const ns = (name: string, labels?: Labels): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: meta(name, undefined, labels) });
const sa = (namespace: string, name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name, namespace) });
const pod = (namespace: string, name: string, labels: Labels, ports: { name?: string; containerPort: number }[] = [], serviceAccountName?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: meta(name, namespace, labels),
  spec: { containers: [{ name: 'app', command: ['true'], ports }], ...(serviceAccountName ? { serviceAccountName } : {}) },
});
const deploy = (namespace: string, name: string, labels: Labels, ports: { name?: string; containerPort: number }[] = []): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: meta(name, namespace),
  spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', command: ['true'], ports }] } } },
});
const svc = (namespace: string, name: string, selector: Labels | undefined, ports: { port: number; targetPort?: number | string }[], labels?: Labels): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: meta(name, namespace, labels),
  spec: { ...(selector ? { selector } : {}), ports },
});
const ap = (namespace: string, name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: meta(name, namespace), spec });
const pa = (namespace: string, name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: meta(name, namespace), spec });
const gw = (namespace: string, name: string, gatewayClassName: string, labels?: Labels): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: meta(name, namespace, labels),
  spec: { gatewayClassName, listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
});
const route = (namespace: string, name: string, spec: Record<string, unknown>, creationTimestamp?: string): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { ...meta(name, namespace), ...(creationTimestamp ? { creationTimestamp } : {}) },
  spec,
});
const vs = (namespace: string, name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta(name, namespace), spec });

const AMBIENT = { 'istio.io/dataplane-mode': 'ambient' };
/** A small healthy app: enrolled namespace, a web pod with its SA, a client namespace. */
const base = (): KubeObject[] => [ns('demo', AMBIENT), ns('client', AMBIENT), sa('demo', 'web'), pod('demo', 'web-1', { app: 'web' }, [{ name: 'http', containerPort: 8080 }], 'web'), pod('client', 'curl-1', { app: 'curl' })];
const from = (source: Record<string, unknown>): Record<string, unknown> => ({ rules: [{ from: [{ source }] }] });

// --- the table -----------------------------------------------------------------------
interface Row {
  name: string;
  objects: KubeObject[];
  code: string;
  /** Level expected when it fires; undefined: the check must stay silent. */
  level?: 'Error' | 'Warning';
  /** Expected object and a fragment of the message. */
  object?: string;
  says?: RegExp;
}

const ROWS: Row[] = [
  // AMB001 selector matches nothing
  { name: 'AP selector matching no pod', code: 'AMB001', level: 'Warning', objects: [...base(), ap('demo', 'p', { selector: { matchLabels: { app: 'wbe' } } })], object: 'AuthorizationPolicy demo/p', says: /app=wbe matches no pod in namespace demo/ },
  { name: 'AP selector matching a pod', code: 'AMB001', objects: [...base(), ap('demo', 'p', { selector: { matchLabels: { app: 'web' } } })] },
  { name: 'AP selector matching a Deployment template (files before apply)', code: 'AMB001', objects: [ns('demo'), deploy('demo', 'api', { app: 'api' }), ap('demo', 'p', { selector: { matchLabels: { app: 'api' } } })] },
  { name: 'PA selector matching no pod', code: 'AMB001', level: 'Warning', objects: [...base(), pa('demo', 'strict-db', { selector: { matchLabels: { app: 'db' } }, mtls: { mode: 'STRICT' } })], object: 'PeerAuthentication demo/strict-db' },
  { name: 'root-namespace policy matches pods in any namespace', code: 'AMB001', objects: [...base(), ap('istio-system', 'p', { selector: { matchLabels: { app: 'curl' } } })] },
  { name: 'a namespace-local selector does not see other namespaces', code: 'AMB001', level: 'Warning', objects: [...base(), ap('demo', 'p', { selector: { matchLabels: { app: 'curl' } } })] },
  // AMB002 principal / service account
  { name: 'principal naming a missing SA', code: 'AMB002', level: 'Warning', objects: [...base(), ap('demo', 'p', from({ principals: ['cluster.local/ns/client/sa/curl'] }))], says: /no ServiceAccount client\/curl/ },
  { name: 'principal naming an existing SA, the default SA, and a wildcard', code: 'AMB002', objects: [...base(), ap('demo', 'p', from({ principals: ['cluster.local/ns/demo/sa/web', 'cluster.local/ns/client/sa/default', 'cluster.local/ns/*', '*'] }))] },
  { name: 'principal in a namespace that does not exist', code: 'AMB002', level: 'Warning', objects: [...base(), ap('demo', 'p', from({ principals: ['cluster.local/ns/nope/sa/default'] }))], says: /namespace nope does not exist/ },
  { name: 'bare serviceAccounts entry resolves in the policy namespace', code: 'AMB002', level: 'Warning', objects: [...base(), ap('client', 'p', from({ serviceAccounts: ['web'] }))], says: /client\/web/ },
  { name: 'ns/sa serviceAccounts entry that exists', code: 'AMB002', objects: [...base(), ap('client', 'p', from({ serviceAccounts: ['demo/web'] }))] },
  // AMB003 namespaces
  { name: 'source namespace that does not exist', code: 'AMB003', level: 'Warning', objects: [...base(), ap('demo', 'p', from({ namespaces: ['clinet'] }))], says: /"clinet" does not exist/ },
  { name: 'source namespace that exists', code: 'AMB003', objects: [...base(), ap('demo', 'p', from({ namespaces: ['client'], notNamespaces: ['kube-system'] }))] },
  { name: 'when source.namespace that does not exist', code: 'AMB003', level: 'Warning', objects: [...base(), ap('demo', 'p', { rules: [{ when: [{ key: 'source.namespace', values: ['ghost'] }] }] })] },
  // AMB017 spiffe:// principal
  { name: 'principal written with spiffe://', code: 'AMB017', level: 'Warning', objects: [...base(), ap('demo', 'p', from({ principals: ['spiffe://cluster.local/ns/demo/sa/web'] }))], object: 'AuthorizationPolicy demo/p', says: /includes the spiffe:\/\/ scheme.*never matches; write 'cluster.local\/ns\/demo\/sa\/web'/ },
  { name: 'notPrincipals written with spiffe:// excludes nobody', code: 'AMB017', level: 'Warning', objects: [...base(), ap('demo', 'p', { action: 'DENY', rules: [{ from: [{ source: { notPrincipals: ['spiffe://cluster.local/ns/demo/sa/web'] } }] }] })], says: /never excludes anyone/ },
  { name: 'when source.principal written with spiffe://', code: 'AMB017', level: 'Warning', objects: [...base(), ap('demo', 'p', { rules: [{ when: [{ key: 'source.principal', values: ['spiffe://cluster.local/ns/demo/sa/web'] }] }] })] },
  { name: 'principals without the scheme are fine', code: 'AMB017', objects: [...base(), ap('demo', 'p', from({ principals: ['cluster.local/ns/demo/sa/web', '*'] }))] },
  // AMB004 L7 in a node-tunnel policy
  { name: 'ALLOW whose only rule is L7: denies everything', code: 'AMB004', level: 'Error', objects: [...base(), ap('demo', 'allow-web', { selector: { matchLabels: { app: 'web' } }, rules: [{ to: [{ operation: { methods: ['GET'], paths: ['/api/*'] } }] }] })], says: /denies ALL traffic/ },
  { name: 'ALLOW with one L7 rule and one L4 rule', code: 'AMB004', level: 'Warning', objects: [...base(), ap('demo', 'p', { rules: [{ from: [{ source: { namespaces: ['client'] } }] }, { when: [{ key: 'request.headers[x-user]', values: ['a'] }] }] })], says: /rule 1 .*when key request.headers\[x-user\]/ },
  { name: 'DENY with only L7: no effect', code: 'AMB004', level: 'Warning', objects: [...base(), ap('demo', 'p', { action: 'DENY', rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] })], says: /has no effect/ },
  { name: 'ALLOW with L4 fields only', code: 'AMB004', objects: [...base(), ap('demo', 'p', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/demo/sa/web'], ipBlocks: ['10.0.0.0/8'] } }], to: [{ operation: { ports: ['8080'] } }], when: [{ key: 'destination.port', values: ['8080'] }] }] })] },
  { name: 'DENY with an L4 from and an L7-only to: a no-op', code: 'AMB004', level: 'Warning', objects: [...base(), ap('demo', 'p', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['client'] } }], to: [{ operation: { methods: ['POST'] } }] }] })], says: /leaves 'to' with nothing to match.*no effect \(no-op\)/ },
  { name: 'DENY with an L4 from and an L7 when: a no-op', code: 'AMB004', level: 'Warning', objects: [...base(), ap('demo', 'p', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['client'] } }], when: [{ key: 'request.headers[x]', values: ['1'] }] }] })], says: /leaves 'when\[0\]' with nothing.*no-op/ },
  { name: 'DENY mixing ports and methods in one operation: L4 remainder', code: 'AMB004', level: 'Warning', objects: [...base(), ap('demo', 'p', { action: 'DENY', rules: [{ to: [{ operation: { ports: ['8080'], methods: ['POST'] } }] }] })], says: /deny on the L4 remainder/ },
  { name: 'L7 rule on a waypoint (targetRefs) is fine', code: 'AMB004', objects: [...base(), gw('demo', 'waypoint', 'istio-waypoint'), ap('demo', 'p', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }], rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })] },
  // AMB005 STRICT with plaintext clients
  { name: 'STRICT namespace while a namespace is not enrolled', code: 'AMB005', level: 'Warning', objects: [...base(), ns('legacy'), pod('legacy', 'old-1', { app: 'old' }), pa('demo', 'strict', { mtls: { mode: 'STRICT' } })], says: /plaintext clients from namespace legacy .* will be refused/ },
  { name: 'STRICT while every app pod is enrolled (system pods ignored)', code: 'AMB005', objects: [...base(), pod('kube-system', 'dns', { app: 'dns' }), pod('demo', 'waypoint-1', { 'gateway.networking.k8s.io/gateway-name': 'waypoint', 'istio.io/dataplane-mode': 'none' }), pa('istio-system', 'mesh', { mtls: { mode: 'STRICT' } })] },
  { name: 'a pod opted out with dataplane-mode=none is a plaintext client', code: 'AMB005', level: 'Warning', objects: [...base(), pod('client', 'raw', { app: 'raw', 'istio.io/dataplane-mode': 'none' }), pa('demo', 'strict', { mtls: { mode: 'STRICT' } })], says: /namespace client/ },
  { name: 'PERMISSIVE with plaintext clients is fine', code: 'AMB005', objects: [...base(), ns('legacy'), pod('legacy', 'old-1', { app: 'old' }), pa('demo', 'p', { mtls: { mode: 'PERMISSIVE' } })] },
  { name: 'a STRICT port on a namespace-wide PA is ignored by istiod, so not reported', code: 'AMB005', objects: [...base(), ns('legacy'), pod('legacy', 'old-1', { app: 'old' }), pa('demo', 'p', { mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { '8080': { mode: 'STRICT' } } })] },
  { name: 'a STRICT selector PA in the root namespace applies to nothing, so not reported', code: 'AMB005', objects: [...base(), ns('legacy'), pod('legacy', 'old-1', { app: 'old' }), pa('istio-system', 'sel', { selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'STRICT' } })] },
  // AMB006 / AMB007 Service ports and selectors
  { name: 'named targetPort no pod declares', code: 'AMB006', level: 'Error', objects: [...base(), svc('demo', 'web', { app: 'web' }, [{ port: 80, targetPort: 'htpp' }])], object: 'Service demo/web', says: /"htpp" names no containerPort .*they name: http/ },
  { name: 'named targetPort that matches', code: 'AMB006', objects: [...base(), svc('demo', 'web', { app: 'web' }, [{ port: 80, targetPort: 'http' }, { port: 81, targetPort: 8081 }])] },
  { name: 'Service selecting no pod', code: 'AMB007', level: 'Warning', objects: [...base(), svc('demo', 'web', { app: 'webb' }, [{ port: 80 }])] },
  { name: 'Service without selector (manual endpoints)', code: 'AMB007', objects: [...base(), svc('demo', 'ext', undefined, [{ port: 80 }])] },
  // AMB008 duplicate routes
  {
    name: 'two HTTPRoutes, same parent, host and match',
    code: 'AMB008',
    level: 'Warning',
    object: 'HTTPRoute demo/b',
    says: /same match as HTTPRoute demo\/a/,
    objects: [
      ...base(),
      route('demo', 'a', { parentRefs: [{ name: 'gw' }], hostnames: ['web.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }] }] }, '2024-01-01T00:00:00Z'),
      route('demo', 'b', { parentRefs: [{ name: 'gw', namespace: 'demo' }], hostnames: ['web.example.com'], rules: [{ matches: [{ path: { value: '/api' } }] }] }, '2024-02-01T00:00:00Z'),
    ],
  },
  {
    name: 'HTTPRoutes differing by host or path',
    code: 'AMB008',
    objects: [
      ...base(),
      route('demo', 'a', { parentRefs: [{ name: 'gw' }], hostnames: ['a.example.com'], rules: [{ matches: [{ path: { value: '/api' } }] }] }),
      route('demo', 'b', { parentRefs: [{ name: 'gw' }], hostnames: ['b.example.com'], rules: [{ matches: [{ path: { value: '/api' } }] }] }),
      route('demo', 'c', { parentRefs: [{ name: 'gw' }], hostnames: ['a.example.com'], rules: [{ matches: [{ path: { value: '/web' } }] }] }),
    ],
  },
  { name: 'mesh routes on the same Service, both catch-all', code: 'AMB008', level: 'Warning', objects: [...base(), route('demo', 'a', { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{}] }), route('demo', 'b', { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }] }] })], says: /Service demo\/web/ },
  { name: 'VirtualServices with the same host (short and long) and match', code: 'AMB008', level: 'Warning', objects: [...base(), vs('demo', 'a', { hosts: ['web'], http: [{ match: [{ uri: { prefix: '/v1' } }] }] }), vs('demo', 'b', { hosts: ['web.demo.svc.cluster.local'], http: [{ match: [{ name: 'x', uri: { prefix: '/v1' } }] }] })] },
  { name: 'VirtualServices with different matches', code: 'AMB008', objects: [...base(), vs('demo', 'a', { hosts: ['web'], http: [{ match: [{ uri: { prefix: '/v1' } }] }] }), vs('demo', 'b', { hosts: ['web'], http: [{ match: [{ uri: { prefix: '/v2' } }] }] })] },
  // AMB009 / AMB010 dataplane-mode label
  { name: 'namespace dataplane-mode value typo', code: 'AMB009', level: 'Error', objects: [...base(), ns('shop', { 'istio.io/dataplane-mode': 'ambinet' })], object: 'Namespace shop', says: /not enrolled/ },
  { name: 'pod template dataplane-mode=none is valid', code: 'AMB009', objects: [...base(), deploy('demo', 'x', { app: 'x', 'istio.io/dataplane-mode': 'none' })] },
  { name: 'near-miss key istio.io/dataplane_mode', code: 'AMB010', level: 'Warning', objects: [ns('shop', { 'istio.io/dataplane_mode': 'ambient' })], says: /misspelling of "istio.io\/dataplane-mode"/ },
  { name: 'near-miss key istio-io/dataplane-mode on a pod', code: 'AMB010', level: 'Warning', objects: [ns('shop'), pod('shop', 'p', { 'istio-io/dataplane-mode': 'ambient' })] },
  { name: 'bare key dataplane-mode', code: 'AMB010', level: 'Warning', objects: [ns('shop', { 'dataplane-mode': 'ambient' })] },
  { name: 'real keys and unrelated labels', code: 'AMB010', objects: [...base(), ns('shop', { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'none', 'istio.io/use-waypoint-namespace': 'x', app: 'shop', 'istio.io/rev': 'default' })] },
  // AMB011 / AMB012 / AMB015 use-waypoint
  { name: 'use-waypoint naming a missing Gateway', code: 'AMB011', level: 'Error', objects: [...base(), ns('shop', { ...AMBIENT, 'istio.io/use-waypoint': 'waypoint' })], object: 'Namespace shop', says: /Gateway shop\/waypoint, which does not exist/ },
  { name: 'use-waypoint naming an istio-waypoint Gateway', code: 'AMB011', objects: [...base(), gw('demo', 'waypoint', 'istio-waypoint'), svc('demo', 'web', { app: 'web' }, [{ port: 80 }], { 'istio.io/use-waypoint': 'waypoint' })] },
  { name: 'use-waypoint across namespaces', code: 'AMB011', objects: [...base(), gw('infra', 'wp', 'istio-waypoint'), ns('shop', { 'istio.io/use-waypoint': 'wp', 'istio.io/use-waypoint-namespace': 'infra' })] },
  { name: 'use-waypoint naming a non-waypoint Gateway', code: 'AMB012', level: 'Error', objects: [...base(), gw('demo', 'ingress', 'istio'), svc('demo', 'web', { app: 'web' }, [{ port: 80 }], { 'istio.io/use-waypoint': 'ingress' })], says: /gatewayClassName is istio, not istio-waypoint/ },
  { name: 'pod binding to a service-only waypoint', code: 'AMB015', level: 'Warning', objects: [...base(), gw('demo', 'waypoint', 'istio-waypoint'), pod('demo', 'p', { 'istio.io/use-waypoint': 'waypoint' })], says: /waypoint-for=service/ },
  { name: 'pod binding to a workload waypoint', code: 'AMB015', objects: [...base(), gw('demo', 'waypoint', 'istio-waypoint', { 'istio.io/waypoint-for': 'workload' }), pod('demo', 'p', { 'istio.io/use-waypoint': 'waypoint' })] },
  // AMB013 CUSTOM / AUDIT without targetRefs
  { name: 'CUSTOM without targetRefs', code: 'AMB013', level: 'Error', objects: [...base(), ap('demo', 'ext', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] })], says: /external authorizer is never consulted/ },
  { name: 'AUDIT without targetRefs', code: 'AMB013', level: 'Warning', objects: [...base(), ap('demo', 'audit', { action: 'AUDIT', rules: [{}] })] },
  { name: 'CUSTOM on a waypoint', code: 'AMB013', objects: [...base(), ap('demo', 'ext', { action: 'CUSTOM', provider: { name: 'opa' }, targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }], rules: [{}] })] },
  // AMB014 DISABLE
  { name: 'PeerAuthentication DISABLE', code: 'AMB014', level: 'Warning', objects: [...base(), pa('demo', 'off', { mtls: { mode: 'DISABLE' } })], says: /does not turn mTLS off in ambient.*treats it as PERMISSIVE/ },
  { name: 'port-level DISABLE exception under the PA\'s own STRICT is meaningful', code: 'AMB014', objects: [...base(), pa('demo', 'p', { selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '9000': { mode: 'DISABLE' } } })] },
  {
    name: 'port-level DISABLE under an inherited STRICT stays STRICT',
    code: 'AMB014',
    level: 'Warning',
    objects: [...base(), pa('demo', 'ns', { mtls: { mode: 'STRICT' } }), pa('demo', 'p', { selector: { matchLabels: { app: 'web' } }, portLevelMtls: { '9000': { mode: 'DISABLE' } } })],
    object: 'PeerAuthentication demo/p',
    says: /DISABLE on port 9000 does not exempt it from the inherited STRICT mode/,
  },
  { name: 'port-level DISABLE beside a PERMISSIVE port under an inherited STRICT is exempted', code: 'AMB014', objects: [...base(), pa('demo', 'ns', { mtls: { mode: 'STRICT' } }), pa('demo', 'p', { selector: { matchLabels: { app: 'web' } }, portLevelMtls: { '9000': { mode: 'DISABLE' }, '9001': { mode: 'PERMISSIVE' } } })] },
  { name: 'port-level DISABLE with nothing STRICT above it', code: 'AMB014', objects: [...base(), pa('demo', 'p', { selector: { matchLabels: { app: 'web' } }, portLevelMtls: { '9000': { mode: 'DISABLE' } } })] },
];

for (const row of ROWS) {
  test(`${row.code} ${row.level ? 'fires' : 'silent'}: ${row.name}`, () => {
    const all = analyze(row.objects);
    const hits = all.filter((f) => f.code === row.code);
    if (!row.level) {
      assert.deepEqual(hits, [], `expected no ${row.code}, got:\n${hits.map(formatFinding).join('\n')}`);
      return;
    }
    assert.ok(hits.length > 0, `expected ${row.code}; all findings:\n${all.map(formatFinding).join('\n') || '(none)'}`);
    const hit = hits[0]!;
    assert.equal(hit.level, row.level);
    if (row.object) assert.equal(hit.object, row.object);
    if (row.says) assert.match(hit.message, row.says);
  });
}

test('the healthy base app has no findings at all', () => {
  const app = [...base(), svc('demo', 'web', { app: 'web' }, [{ port: 80, targetPort: 'http' }]), ap('demo', 'allow-client', { selector: { matchLabels: { app: 'web' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/client/sa/default'] } }] }] }), pa('istio-system', 'mesh', { mtls: { mode: 'STRICT' } })];
  assert.deepEqual(analyze(app), []);
});

test('findings carry paths and sort errors first; malformed input does not throw', () => {
  const f = analyze([...base(), ap('demo', 'p', from({ principals: ['x', 'cluster.local/ns/demo/sa/ghost'] })), ns('shop', { 'istio.io/dataplane-mode': 'yes' })]);
  assert.equal(f[0]!.level, 'Error');
  assert.equal(f.find((x) => x.code === 'AMB002')!.path, 'spec.rules[0].from[0].source.principals[1]');
  assert.equal(f.find((x) => x.code === 'AMB009')!.path, "metadata.labels['istio.io/dataplane-mode']");
  const junk = analyze([ap('demo', 'p', { rules: 'nope', selector: 7 } as unknown as Record<string, unknown>), { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { a: 'b' }, ports: 3 } }]);
  assert.ok(junk.every((x) => x.code !== 'AMB000'), junk.map(formatFinding).join('\n'));
});

test('near-miss label keys: edit distance ≤ 2 and separator variants', () => {
  assert.equal(editDistance('istio.io/dataplane-mod', 'istio.io/dataplane-mode'), 1);
  assert.equal(nearMiss('istio.io/dataplne-mode'), 'istio.io/dataplane-mode');
  assert.equal(nearMiss('istio.io/use-waypiont'), 'istio.io/use-waypoint');
  assert.equal(nearMiss('istio.io/dataplane-mode'), undefined);
  assert.equal(nearMiss('istio.io/use-waypoint-namespace'), undefined);
  assert.equal(nearMiss('app.kubernetes.io/name'), undefined);
});

// --- the CLI on files ------------------------------------------------------------------
const BIN = fileURLToPath(new URL('../../src/bin/ambit.js', import.meta.url));

function ambit(args: string[]): { code: number | null; out: string; err: string } {
  // A cluster name that cannot exist: the files are analyzed alone.
  const r = spawnSync(process.execPath, [BIN, '--cluster', `analyze-test-${process.pid}`, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, AMBIT_CLUSTER: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const APP = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels:
    istio.io/dataplane-mode: ambient
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        command: [ambit, app, echo]
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`;

const BAD_POLICY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-web, namespace: demo}
spec:
  selector: {matchLabels: {app: web}}
  action: ALLOW
  rules:
  - to:
    - operation: {methods: [GET], paths: ["/api/*"]}
`;

const WARN_ONLY = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: off, namespace: demo}
spec:
  mtls: {mode: DISABLE}
`;

test('CLI: analyze -f DIR prints istioctl-style lines and exits 1 on an Error', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-analyze-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, '00-app.yaml'), APP);
  fs.writeFileSync(path.join(dir, '10-policy.yaml'), BAD_POLICY);
  fs.writeFileSync(path.join(dir, 'README.txt'), 'not a manifest');
  const r = ambit(['analyze', '-f', dir]);
  assert.equal(r.code, 1, `${r.out}\n${r.err}`);
  assert.match(r.out, /^Error \[AMB004\] \(AuthorizationPolicy demo\/allow-web\) every rule uses L7 attributes/m);
  assert.match(r.out, /1 error, 0 warnings/);
  assert.match(r.err, /files alone/);

  const json = ambit(['analyze', '-f', dir, '-o', 'json']);
  assert.equal(json.code, 1);
  const findings = JSON.parse(json.out) as { code: string; level: string; object: string }[];
  assert.deepEqual(findings.map((f) => [f.code, f.level, f.object]), [['AMB004', 'Error', 'AuthorizationPolicy demo/allow-web']]);

  // Another namespace's view hides the finding.
  const other = ambit(['analyze', '-f', dir, '-n', 'elsewhere']);
  assert.equal(other.code, 0, other.out);
  assert.match(other.out, /No validation issues found when analyzing namespace: elsewhere/);
});

test('CLI: warnings only exit 0; a clean app says so; usage errors exit 2', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-analyze-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'app.yaml'), APP);
  const clean = ambit(['analyze', '-f', dir]);
  assert.equal(clean.code, 0, `${clean.out}\n${clean.err}`);
  assert.match(clean.out, /No validation issues found when analyzing all namespaces/);
  fs.writeFileSync(path.join(dir, 'pa.yaml'), WARN_ONLY);
  const warn = ambit(['analyze', '-f', dir]);
  assert.equal(warn.code, 0, warn.out);
  assert.match(warn.out, /^Warning \[AMB014\] \(PeerAuthentication demo\/off\)/m);
  assert.equal(ambit(['analyze', '-f', dir, '-o', 'yaml']).code, 2);
  const missing = ambit(['analyze', '-f', path.join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no such file/);
});

test('CLI: without -f, analyze lists every served kind of the live cluster', async (t) => {
  const cp = await TestControlPlane.start('ambit-analyze-test-');
  t.after(() => cp.destroy());
  const client = cp.client();
  const kind = (k: string) => KINDS.find((x) => x.kind === k)!;
  await client.create(kind('Namespace'), ns('shop', { 'istio.io/dataplane_mode': 'ambient' }));
  await client.create(kind('Service'), svc('shop', 'web', { app: 'web' }, [{ port: 80 }]));
  let out = '';
  let err = '';
  const ctx = { cluster: 'test', client: () => client, out: (s: string) => (out += s), err: (s: string) => (err += s) };
  assert.equal(await analyzeCommand(ctx, []), 0, out + err);
  assert.match(out, /^Warning \[AMB010\] \(Namespace shop\)/m);
  assert.match(out, /^Warning \[AMB007\] \(Service shop\/web\)/m);
  assert.match(err, /analyzing cluster 'test'/);
  // -n narrows the report, not the analysis.
  out = '';
  assert.equal(await analyzeCommand(ctx, ['-n', 'default']), 0);
  assert.match(out, /No validation issues found when analyzing namespace: default/);
});
