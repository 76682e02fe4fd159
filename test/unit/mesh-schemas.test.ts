// Mesh config kinds: Istio's documented examples validate unchanged, invalid ones get exact
// path-qualified errors, warnings for config a node tunnel cannot enforce, enrollment labels,
// and a round trip through the real API server (status, Warning headers, kubectl).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { applyCommand } from '../../src/cli/commands/apply.js';
import type { Ctx } from '../../src/cli/context.js';
import { readManifests } from '../../src/cli/manifest.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { kindByApiVersionKind, kindByUserName, KINDS } from '../../src/model/core/kinds.js';
import { tableFor } from '../../src/model/core/printers.js';
import { formatErrors, validateObject } from '../../src/model/core/validate.js';
import { meshWarnings, type AuthorizationPolicy } from '../../src/model/mesh/index.js';
import { hasTool } from '../../src/platform/exec.js';
import { ADMIN_TOKEN, TestControlPlane } from './support/control-plane.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/istio', import.meta.url));

function errorsOf(obj: unknown): string {
  const r = validateObject(obj);
  assert.equal(r.ok, false, 'expected a validation error');
  return r.ok ? '' : formatErrors(r.errors);
}

const ap = (spec: unknown, apiVersion = 'security.istio.io/v1'): Record<string, unknown> => ({
  apiVersion,
  kind: 'AuthorizationPolicy',
  metadata: { name: 'p', namespace: 'default' },
  spec,
});

describe('Istio documented examples validate unchanged', () => {
  for (const file of fs.readdirSync(FIXTURES).sort()) {
    it(file, () => {
      const docs = readManifests([path.join(FIXTURES, file)]);
      assert.ok(docs.length >= 1);
      for (const d of docs) assert.ok(kindByApiVersionKind(d.obj.apiVersion, d.obj.kind), `${d.obj.apiVersion}/${d.obj.kind} is served`);
    });
  }
});

describe('invalid mesh config: path-qualified errors', () => {
  const cases: [string, unknown, string][] = [
    ['unknown top-level spec field', ap({ action: 'ALLOW', rule: [] }), 'spec.rule: unknown field'],
    ['unknown source field', ap({ rules: [{ from: [{ source: { principal: ['x'] } }] }] }), 'spec.rules[0].from[0].source.principal: unknown field'],
    ['bad action', ap({ action: 'ALOW' }), 'spec.action: must be one of ALLOW, DENY, AUDIT, CUSTOM'],
    ['port out of range', ap({ rules: [{ to: [{ operation: { ports: ['99999'] } }] }] }), 'spec.rules[0].to[0].operation.ports[0]: must be a port number 1-65535 written as a string (e.g. "8080")'],
    ['port as a number', ap({ rules: [{ to: [{ operation: { ports: [8080] } }] }] }), 'spec.rules[0].to[0].operation.ports[0]: must be a port number 1-65535 written as a string (e.g. "8080")'],
    ['when without values', ap({ rules: [{ when: [{ key: 'source.ip' }] }] }), 'spec.rules[0].when[0]: must set values or notValues'],
    ['CUSTOM without provider', ap({ action: 'CUSTOM', targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }], rules: [{}] }), 'spec.provider: required when action is CUSTOM'],
    ['selector and targetRefs', ap({ selector: { matchLabels: { app: 'a' } }, targetRefs: [{ kind: 'Service', name: 's' }] }), 'spec.selector: only one of selector or targetRef(s) may be set'],
    [
      'bad mTLS mode',
      { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'd' }, spec: { mtls: { mode: 'STRICTT' } } },
      'spec.mtls.mode: must be one of UNSET, DISABLE, PERMISSIVE, STRICT',
    ],
    [
      'portLevelMtls without selector',
      { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'd' }, spec: { portLevelMtls: { '8080': { mode: 'STRICT' } } } },
      'spec.portLevelMtls: requires a selector with matchLabels',
    ],
    [
      'waypoint listener port 0',
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'w' }, spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 0, protocol: 'HBONE' }] } },
      'spec.listeners[0].port: must be a port number 1-65535',
    ],
    [
      'HTTPRoute backendRef to a Service without port',
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r' }, spec: { rules: [{ backendRefs: [{ name: 'reviews-v1' }] }] } },
      'spec.rules[0].backendRefs[0].port: required when referring to a Service',
    ],
    [
      'unknown VirtualService spec field',
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v' }, spec: { hosts: ['a'], https: [] } },
      'spec.https: unknown field',
    ],
    [
      'unknown retries field',
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v' }, spec: { http: [{ retries: { attempt: 3 } }] } },
      'spec.http[0].retries.attempt: unknown field',
    ],
    [
      'ServiceEntry without hosts',
      { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 's' }, spec: { hosts: [], resolution: 'DNS' } },
      'spec.hosts: at least one host is required',
    ],
    [
      'DestinationRule unknown trafficPolicy field',
      { apiVersion: 'networking.istio.io/v1beta1', kind: 'DestinationRule', metadata: { name: 'd' }, spec: { host: 'r', trafficPolicy: { loadBalancing: {} } } },
      'spec.trafficPolicy.loadBalancing: unknown field',
    ],
    ['version Istio does not serve', ap({}, 'security.istio.io/v1alpha1'), 'kind: unsupported kind security.istio.io/v1alpha1/AuthorizationPolicy; AuthorizationPolicy is served as apiVersion security.istio.io/v1'],
    ['GRPCRoute is v1 only', { apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'GRPCRoute', metadata: { name: 'g' }, spec: {} }, 'kind: unsupported kind gateway.networking.k8s.io/v1beta1/GRPCRoute; GRPCRoute is served as apiVersion gateway.networking.k8s.io/v1'],
  ];
  for (const [name, obj, want] of cases) it(name, () => assert.equal(errorsOf(obj), want));
});

describe('enrollment labels', () => {
  const ns = (labels: Record<string, string>): unknown => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', labels } });
  it('accepts ambient and none, and records use-waypoint', () => {
    assert.ok(validateObject(ns({ 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'waypoint' })).ok);
    assert.ok(validateObject(ns({ 'istio.io/dataplane-mode': 'none' })).ok);
  });
  it('a typo names the label and the allowed values (Namespace, Pod, Deployment template)', () => {
    assert.equal(errorsOf(ns({ 'istio.io/dataplane-mode': 'ambiant' })), "metadata.labels.istio.io/dataplane-mode: label istio.io/dataplane-mode must be one of 'ambient', 'none' (got 'ambiant')");
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { 'istio.io/dataplane-mode': 'Ambient' } }, spec: { containers: [{ name: 'a', command: ['true'] }] } };
    assert.match(errorsOf(pod), /^metadata\.labels\.istio\.io\/dataplane-mode: label istio\.io\/dataplane-mode must be one of 'ambient', 'none' \(got 'Ambient'\)$/);
    const labels = { app: 'w', 'istio.io/dataplane-mode': 'sidecar' };
    const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w' }, spec: { selector: { matchLabels: { app: 'w' } }, template: { metadata: { labels }, spec: { containers: [{ name: 'a', command: ['true'] }] } } } };
    assert.match(errorsOf(deploy), /^spec\.template\.metadata\.labels\.istio\.io\/dataplane-mode: label istio\.io\/dataplane-mode/);
  });
});

describe('meshWarnings', () => {
  const principals = { principals: ['cluster.local/ns/a/sa/b'] };
  const table: [string, Record<string, unknown>, { path: string; message: string }[]][] = [
    ['pure L4 ALLOW: none', ap({ rules: [{ from: [{ source: principals }], to: [{ operation: { ports: ['80'] } }], when: [{ key: 'destination.port', values: ['80'] }] }] }), []],
    [
      'ALLOW with methods: rule dropped, traffic denied',
      ap({ action: 'ALLOW', rules: [{ from: [{ source: principals }] }, { to: [{ operation: { methods: ['GET'], paths: ['/x'] } }] }] }),
      [
        {
          path: 'spec.rules[1]',
          message:
            'the rule at rules[1] has L7 attributes (to[0].operation.methods, to[0].operation.paths) and is dropped at L4, so it allows nothing: traffic will be denied unless another policy allows it; add targetRefs to a waypoint to enforce it at L7',
        },
      ],
    ],
    [
      'ALLOW (default action) with requestPrincipals and a header condition',
      ap({ rules: [{ from: [{ source: { requestPrincipals: ['*'] } }], when: [{ key: 'request.headers[x]', values: ['1'] }] }] }),
      [
        {
          path: 'spec.rules[0]',
          message:
            'the rule at rules[0] has L7 attributes (from[0].source.requestPrincipals, when[0] (key request.headers[x])) and is dropped at L4, so it allows nothing: traffic will be denied unless another policy allows it; add targetRefs to a waypoint to enforce it at L7',
        },
      ],
    ],
    [
      'DENY with remoteIpBlocks beside ipBlocks: L4 remainder enforced',
      ap({ action: 'DENY', rules: [{ from: [{ source: { remoteIpBlocks: ['1.2.3.4'], ipBlocks: ['1.2.3.0/24'] } }], to: [{ operation: { hosts: ['a.com'], ports: ['80'] } }] }] }),
      [{ path: 'spec.rules[0]', message: 'L7 attributes (from[0].source.remoteIpBlocks, to[0].operation.hosts) are ignored at L4; the L4 remainder is enforced (more restrictive)' }],
    ],
    // Behaviour change: an L7-only part used to be reported as dropped with the L4 remainder enforced.
    [
      'DENY whose to has only hosts: the rule is a no-op',
      ap({ action: 'DENY', rules: [{ from: [{ source: { remoteIpBlocks: ['1.2.3.4'], ipBlocks: ['1.2.3.0/24'] } }], to: [{ operation: { hosts: ['a.com'] } }] }] }),
      [
        {
          path: 'spec.rules[0]',
          message:
            "L7 attributes (from[0].source.remoteIpBlocks, to[0].operation.hosts) are omitted at L4, which leaves 'to' with nothing to match; node tunnels never match an empty condition and conditions are AND-ed, so this DENY rule has no effect (no-op); add targetRefs to a waypoint to enforce it at L7",
        },
      ],
    ],
    [
      'DENY with an L7 when condition: the rule is a no-op',
      ap({ action: 'DENY', rules: [{ from: [{ source: principals }], when: [{ key: 'source.namespace', values: ['a'] }, { key: 'request.headers[x]', values: ['1'] }] }] }),
      [
        {
          path: 'spec.rules[0]',
          message:
            "L7 attributes (when[1] (key request.headers[x])) are omitted at L4, which leaves 'when[1]' with nothing to match; node tunnels never match an empty condition and conditions are AND-ed, so this DENY rule has no effect (no-op); add targetRefs to a waypoint to enforce it at L7",
        },
      ],
    ],
    [
      'spiffe:// principals never match (also on a waypoint policy)',
      ap({ targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }], rules: [{ from: [{ source: { notPrincipals: ['spiffe://cluster.local/ns/a/sa/b'] } }], when: [{ key: 'source.principal', values: ['spiffe://cluster.local/ns/a/sa/c'] }] }] }),
      [
        {
          path: 'spec.rules[0].from[0].source.notPrincipals[0]',
          message: "principal 'spiffe://cluster.local/ns/a/sa/b' includes the spiffe:// scheme; Istio matches principals without it (node tunnels and waypoints alike), so it never excludes anyone; write 'cluster.local/ns/a/sa/b'",
        },
        {
          path: 'spec.rules[0].when[0].values[0]',
          message: "principal 'spiffe://cluster.local/ns/a/sa/c' includes the spiffe:// scheme; Istio matches principals without it (node tunnels and waypoints alike), so it never matches; write 'cluster.local/ns/a/sa/c'",
        },
      ],
    ],
    ['L7 with targetRefs: enforced by the waypoint, none', ap({ targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }], rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }), []],
    ['AUDIT without targetRefs', ap({ action: 'AUDIT', rules: [{}] }), [{ path: 'spec.action', message: 'AUDIT is not enforced by node tunnels; it needs targetRefs to a waypoint' }]],
    ['CUSTOM without targetRefs', ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] }), [{ path: 'spec.action', message: 'CUSTOM is not enforced by node tunnels; it needs targetRefs to a waypoint' }]],
    [
      'PeerAuthentication DISABLE (and port-level DISABLE)',
      { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'b' } }, mtls: { mode: 'DISABLE' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } } },
      [
        { path: 'spec.mtls.mode', message: 'ambient always uses mTLS between node tunnels; DISABLE acts as PERMISSIVE' },
        { path: 'spec.portLevelMtls.8080.mode', message: 'ambient always uses mTLS between node tunnels; a port-level DISABLE at most exempts the port as PERMISSIVE does, and under an inherited STRICT mode it only does so beside a PERMISSIVE port' },
      ],
    ],
    ['PeerAuthentication STRICT: none', { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'd' }, spec: { mtls: { mode: 'STRICT' } } }, []],
  ];
  for (const [name, obj, want] of table) {
    it(name, () => {
      const v = validateObject(obj);
      assert.ok(v.ok, v.ok ? '' : formatErrors(v.errors));
      assert.deepEqual(meshWarnings(obj as { apiVersion: string; kind: string }), want);
    });
  }
});

describe('kinds, versions and printers', () => {
  it('serves each kind in the versions Istio serves, v1 preferred, with short names', () => {
    const versions = (kind: string): string[] => KINDS.filter((k) => k.kind === kind).map((k) => k.version);
    assert.deepEqual(versions('AuthorizationPolicy'), ['v1', 'v1beta1']);
    assert.deepEqual(versions('VirtualService'), ['v1', 'v1beta1', 'v1alpha3']);
    assert.deepEqual(versions('Gateway'), ['v1', 'v1beta1']);
    assert.deepEqual(versions('GRPCRoute'), ['v1']);
    assert.equal(kindByUserName('authorizationpolicies')?.version, 'v1');
    assert.equal(kindByUserName('authorizationpolicies')?.resource, 'authorizationpolicies');
    for (const [short, kind] of [['ap', 'AuthorizationPolicy'], ['pa', 'PeerAuthentication'], ['ra', 'RequestAuthentication'], ['se', 'ServiceEntry'], ['we', 'WorkloadEntry'], ['dr', 'DestinationRule'], ['vs', 'VirtualService'], ['gtw', 'Gateway']]) {
      assert.equal(kindByUserName(short!)?.kind, kind);
    }
    assert.equal(kindByUserName('httproutes.gateway.networking.k8s.io')?.kind, 'HTTPRoute');
  });
  it('AuthorizationPolicy prints NAME, ACTION, AGE', () => {
    const t = tableFor('AuthorizationPolicy');
    assert.deepEqual(t.columns.map((c) => c.name), ['Name', 'Action', 'Age']);
    const obj: AuthorizationPolicy = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p', creationTimestamp: new Date(0).toISOString() }, spec: {} };
    assert.deepEqual(t.cells(obj, 5000), ['p', 'ALLOW', '5s']);
  });
});

describe('mesh kinds through the API server', () => {
  let cp: TestControlPlane;
  let admin: KubeClient;
  const AP = KINDS.find((k) => k.kind === 'AuthorizationPolicy' && k.version === 'v1')!;
  const AP_BETA = KINDS.find((k) => k.kind === 'AuthorizationPolicy' && k.version === 'v1beta1')!;
  const NS = KINDS.find((k) => k.kind === 'Namespace')!;
  const l7Allow = {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'get-only', namespace: 'mesh-a' },
    spec: { selector: { matchLabels: { app: 'httpbin' } }, rules: [{ to: [{ operation: { methods: ['GET'] } }] }] },
  };

  before(async () => {
    cp = await TestControlPlane.start('ambit-mesh-test-');
    admin = cp.client();
    for (const name of ['mesh-a', 'mesh-b']) await admin.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'istio.io/dataplane-mode': 'ambient' } } });
  });
  after(async () => {
    await cp?.destroy();
  });

  it('create sets status.conditions Accepted and sends a Warning header', async () => {
    const r = await cp.raw('POST', '/apis/security.istio.io/v1/namespaces/mesh-a/authorizationpolicies', { token: ADMIN_TOKEN, body: l7Allow });
    assert.equal(r.status, 201, r.text);
    const warning = String(r.headers['warning']);
    assert.match(warning, /^299 - "spec\.rules\[0\]: the rule at rules\[0\] has L7 attributes \(to\[0\]\.operation\.methods\) and is dropped at L4, so it allows nothing/);
    const got = (await admin.get(AP, 'mesh-a', 'get-only')) as AuthorizationPolicy & { status: { conditions: Record<string, unknown>[] } };
    const [c] = got.status.conditions;
    assert.equal(got.status.conditions.length, 1);
    assert.deepEqual([c!['type'], c!['status'], c!['reason'], c!['observedGeneration']], ['Accepted', 'True', 'UnsupportedValue', 1]);
    assert.match(String(c!['message']), /dropped at L4/);
    assert.match(String(c!['lastTransitionTime']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('an update without L7 moves the condition to Accepted and bumps observedGeneration', async () => {
    const cur = await admin.get(AP, 'mesh-a', 'get-only');
    const next = { ...cur, spec: { selector: { matchLabels: { app: 'httpbin' } }, rules: [{ to: [{ operation: { ports: ['8000'] } }] }] } };
    const r = await cp.raw('PUT', '/apis/security.istio.io/v1/namespaces/mesh-a/authorizationpolicies/get-only', { token: ADMIN_TOKEN, body: next });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['warning'], undefined);
    const c = (r.json as { status: { conditions: Record<string, unknown>[] } }).status.conditions[0]!;
    assert.deepEqual([c['reason'], c['message'], c['observedGeneration']], ['Accepted', 'Configuration is valid', 2]);
  });

  it('an invalid policy is refused with the field path', async () => {
    const r = await cp.raw('POST', '/apis/security.istio.io/v1/namespaces/mesh-a/authorizationpolicies', { token: ADMIN_TOKEN, body: { ...l7Allow, metadata: { name: 'bad' }, spec: { action: 'ALOW' } } });
    assert.equal(r.status, 422);
    assert.match((r.json as { message: string }).message, /spec\.action: must be one of ALLOW, DENY, AUDIT, CUSTOM/);
  });

  it('one storage for every version: v1beta1 writes are read as v1 and listed across namespaces', async () => {
    await admin.create(AP_BETA, { apiVersion: 'security.istio.io/v1beta1', kind: 'AuthorizationPolicy', metadata: { name: 'allow-b', namespace: 'mesh-b' }, spec: { rules: [{ from: [{ source: { namespaces: ['mesh-a'] } }] }] } });
    const all = await admin.list(AP);
    assert.deepEqual(all.items.map((o) => `${o.apiVersion} ${o.metadata.namespace}/${o.metadata.name}`).sort(), ['security.istio.io/v1 mesh-a/get-only', 'security.istio.io/v1 mesh-b/allow-b']);
    const beta = await admin.get(AP_BETA, 'mesh-a', 'get-only');
    assert.equal(beta.apiVersion, 'security.istio.io/v1beta1');
    const disc = await cp.raw('GET', '/apis/security.istio.io', { token: ADMIN_TOKEN });
    assert.equal((disc.json as { preferredVersion: { version: string } }).preferredVersion.version, 'v1');
  });

  it('ambit apply applies every documented example and prints warnings with file, document and path', async () => {
    const dir = fs.mkdtempSync(path.join(cp.root, 'apply-'));
    for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
    const nsYaml = ['ambient-demo', 'foo'].map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`).join('---\n');
    fs.writeFileSync(path.join(dir, '00-namespaces.yaml'), nsYaml);
    fs.writeFileSync(path.join(dir, 'zz-l7.yaml'), ['apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: l7, namespace: default}', 'spec:', '  rules:', '  - to:', '    - operation: {paths: ["/admin"]}'].join('\n'));
    const out: string[] = [];
    const err: string[] = [];
    const ctx: Ctx = { cluster: 'test', client: () => admin, out: (s) => out.push(s), err: (s) => err.push(s) };
    const code = await applyCommand(ctx, ['-f', dir]);
    assert.equal(code, 0, err.join(''));
    assert.ok(out.includes('authorizationpolicy.security.istio.io/allow-curl-to-httpbin created\n'), out.join(''));
    assert.ok(out.includes('gateway.gateway.networking.k8s.io/waypoint created\n'), out.join(''));
    assert.deepEqual(err, [
      `Warning: ${path.join(dir, 'zz-l7.yaml')}: document 0: spec.rules[0]: the rule at rules[0] has L7 attributes (to[0].operation.paths) and is dropped at L4, so it allows nothing: traffic will be denied unless another policy allows it; add targetRefs to a waypoint to enforce it at L7\n`,
    ]);
    // Applying again changes nothing.
    out.length = 0;
    err.length = 0;
    assert.equal(await applyCommand(ctx, ['-f', dir]), 0, err.join(''));
    assert.ok(out.every((l) => l.endsWith(' unchanged\n')), out.join(''));
  });

  it('Gateway is served under its plural: create, namespaced and cluster-wide list at /apis/gateway.networking.k8s.io/v1/gateways', async () => {
    const gw = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'waypoint', namespace: 'mesh-a' }, spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } };
    const created = await cp.raw('POST', '/apis/gateway.networking.k8s.io/v1/namespaces/mesh-a/gateways', { token: ADMIN_TOKEN, body: gw });
    assert.equal(created.status, 201, created.text);
    for (const url of ['/apis/gateway.networking.k8s.io/v1/gateways', '/apis/gateway.networking.k8s.io/v1/namespaces/mesh-a/gateways', '/apis/gateway.networking.k8s.io/v1beta1/gateways']) {
      const r = await cp.raw('GET', url, { token: ADMIN_TOKEN });
      assert.equal(r.status, 200, `${url}: ${r.text}`);
      const list = r.json as { kind: string; items: { metadata: { name: string; namespace: string } }[] };
      assert.equal(list.kind, 'GatewayList', url);
      assert.ok(list.items.some((o) => `${o.metadata.namespace}/${o.metadata.name}` === 'mesh-a/waypoint'), url);
    }
    assert.equal((await cp.raw('GET', '/apis/gateway.networking.k8s.io/v1/gatewaies', { token: ADMIN_TOKEN })).status, 404, 'the old derived plural is not served');
  });

  const kubectlMissing = !hasTool('kubectl');
  function kubectlFor(dir: string): (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }> {
    const config = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      config,
      ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: ambit', '  cluster:', `    server: ${cp.baseUrl}`, `    certificate-authority-data: ${Buffer.from(cp.tls.ca).toString('base64')}`, 'users:', '- name: admin', '  user:', `    token: ${ADMIN_TOKEN}`, 'contexts:', '- name: ambit', '  context: {cluster: ambit, user: admin}', 'current-context: ambit'].join('\n'),
      { mode: 0o600 },
    );
    return (...args: string[]) =>
      new Promise((resolve) => {
        execFile('kubectl', ['--kubeconfig', config, '--cache-dir', path.join(dir, 'cache'), ...args], { encoding: 'utf8', timeout: 20_000 }, (e, stdout, stderr) => {
          resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr });
        });
      });
  }

  it('kubectl get gateways -A and gtw work, and api-resources lists the upstream names', { skip: kubectlMissing ? 'kubectl is not on PATH' : false }, async () => {
    const kubectl = kubectlFor(fs.mkdtempSync(path.join(cp.root, 'kubectl-')));
    const all = await kubectl('get', 'gateways', '-A');
    assert.equal(all.code, 0, all.stderr);
    assert.ok(all.stdout.split('\n').some((l) => /^mesh-a\s+waypoint\s/.test(l)), all.stdout);
    for (const name of ['gateway', 'gtw', 'gateways.gateway.networking.k8s.io']) {
      const one = await kubectl('get', name, 'waypoint', '-n', 'mesh-a', '-o', 'name');
      assert.deepEqual([one.code, one.stdout.trim()], [0, 'gateway.gateway.networking.k8s.io/waypoint'], `${name}: ${one.stderr}`);
    }
    const byCategory = await kubectl('get', 'gateway-api', '-A', '-o', 'name');
    assert.equal(byCategory.code, 0, byCategory.stderr);
    assert.match(byCategory.stdout, /^gateway\.gateway\.networking\.k8s\.io\/waypoint$/m);
    const res = await kubectl('api-resources', '--api-group=security.istio.io', '--no-headers');
    assert.equal(res.code, 0, res.stderr);
    const rows = res.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows, [
      ['authorizationpolicies', 'ap', 'security.istio.io/v1', 'true', 'AuthorizationPolicy'],
      ['peerauthentications', 'pa', 'security.istio.io/v1', 'true', 'PeerAuthentication'],
      ['requestauthentications', 'ra', 'security.istio.io/v1', 'true', 'RequestAuthentication'],
    ]);
  });

  it('kubectl get authorizationpolicies -A prints the policies, and kubectl prints the Warning', { skip: kubectlMissing ? 'kubectl is not on PATH' : false }, async () => {
    const dir = fs.mkdtempSync(path.join(cp.root, 'kubectl-'));
    const kubectl = kubectlFor(dir);
    const got = await kubectl('get', 'authorizationpolicies', '-A');
    assert.equal(got.code, 0, got.stderr);
    const lines = got.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAMESPACE\s+NAME\s+ACTION\s+AGE$/);
    assert.ok(lines.some((l) => /^mesh-b\s+allow-b\s+ALLOW\s+\S+$/.test(l)), got.stdout);
    const file = path.join(dir, 'l7.yaml');
    fs.writeFileSync(file, JSON.stringify({ ...l7Allow, metadata: { name: 'via-kubectl', namespace: 'mesh-b' } }));
    const created = await kubectl('create', '-f', file);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /Warning: spec\.rules\[0\]: the rule at rules\[0\] has L7 attributes/);
    const yaml = await kubectl('get', 'authorizationpolicy', 'via-kubectl', '-n', 'mesh-b', '-o', 'yaml');
    assert.match(yaml.stdout, /reason: UnsupportedValue/);
  });
});
