// Pure model rules: object validation with path-qualified errors, label/field selectors,
// the three PATCH flavours, and the age column of printed tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/local/apiserver/errors.js';
import { applyPatch, jsonPatch, mergePatch } from '../../src/local/apiserver/patch.js';
import { fieldValue, fromLabelSelector, matches, parseFieldSelector, parseSelector, SelectorError, type Requirement } from '../../src/model/core/labels.js';
import { age, podStatusText, tableFor } from '../../src/model/core/printers.js';
import type { KubeObject, Pod } from '../../src/model/core/types.js';
import { formatErrors, formatPath, validateObject, type FieldError } from '../../src/model/core/validate.js';

type Obj = Record<string, unknown>;

const container = (extra: Obj = {}): Obj => ({ name: 'app', command: ['sleep', 'infinity'], ...extra });
const pod = (meta: Obj = {}, spec: Obj = {}): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...meta }, spec: { containers: [container()], ...spec } });
const service = (ports: Obj[], spec: Obj = {}, meta: Obj = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', ...meta },
  spec: { selector: { app: 'web' }, ports, ...spec },
});
const deployment = (matchLabels: Record<string, string>, templateLabels: Record<string, string>, spec: Obj = {}, podSpec: Obj = {}): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { replicas: 2, selector: { matchLabels }, template: { metadata: { labels: templateLabels }, spec: { containers: [container()], ...podSpec } }, ...spec },
});

function errorsOf(input: unknown): FieldError[] {
  const r = validateObject(input);
  return r.ok ? [] : r.errors;
}

describe('validateObject: accepted objects', () => {
  const ok: [string, Obj][] = [
    ['a minimal Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }],
    ['a Node with status', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } }],
    ['a Pod with one container and a command', pod()],
    ['a Pod with generateName instead of name', { ...pod(), metadata: { generateName: 'p-' } }],
    ['a Pod with prefixed and empty label values', pod({ labels: { 'example.com/app': 'web', tier: '', 'a_b.c-d': 'X.y_z-1' } })],
    ['a Pod with a tcpSocket readiness probe on a named port', pod({}, { containers: [container({ ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 'http' } } })] })],
    ['a single-port Service without a port name', service([{ port: 80, targetPort: 8080 }])],
    ['a multi-port Service with names and a named targetPort', service([{ name: 'http', port: 80, targetPort: 'http' }, { name: 'grpc', port: 81, targetPort: 9090 }])],
    ['a headless Service', service([{ port: 80 }], { clusterIP: 'None' })],
    ['a Deployment whose template labels include the selector', deployment({ app: 'web' }, { app: 'web', extra: 'yes' })],
    ['Endpoints with a subset', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web' }, subsets: [{ addresses: [{ ip: '10.0.1.5' }], ports: [{ port: 80 }] }] }],
  ];
  for (const [what, obj] of ok) {
    it(`accepts ${what}`, () => {
      const r = validateObject(obj);
      assert.deepEqual(r.ok ? [] : r.errors, []);
      assert.ok(r.ok);
      assert.equal(r.value, obj, 'returns the input itself, not a normalised copy');
    });
  }
});

describe('validateObject: rejected objects name the exact path', () => {
  const bad: [string, unknown, FieldError[]][] = [
    [
      'a Service targetPort above 65535',
      service([{ name: 'a', port: 80 }, { name: 'b', port: 81, targetPort: 70000 }]),
      [{ path: 'spec.ports[1].targetPort', message: 'must be 1-65535' }],
    ],
    [
      'a Service targetPort that is neither a number nor a port name',
      service([{ name: 'a', port: 80 }, { name: 'b', port: 81, targetPort: 'Not_A_Name' }]),
      [{ path: 'spec.ports[1].targetPort', message: 'must be 1-65535 or a port name' }],
    ],
    ['a Service port of 0', service([{ port: 0 }]), [{ path: 'spec.ports[0].port', message: 'must be 1-65535' }]],
    ['a Service port given as a string', service([{ port: '80' }]), [{ path: 'spec.ports[0].port', message: 'must be 1-65535' }]],
    ['an unknown field in a Service port', service([{ name: 'a', port: 80 }, { name: 'b', port: 81, foo: 1 }]), [{ path: 'spec.ports[1].foo', message: 'unknown field' }]],
    ['an unknown top-level field', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, foo: 1 }, [{ path: 'foo', message: 'unknown field' }]],
    ['an unknown field deep in a container', pod({}, { containers: [container({ env: [{ name: 'A', valueFrom: {} }] })] }), [{ path: 'spec.containers[0].env[0].valueFrom', message: 'unknown field' }]],
    [
      'a multi-port Service without port names',
      service([{ port: 80 }, { port: 81 }]),
      [
        { path: 'spec.ports[0].name', message: 'required when a Service has more than one port' },
        { path: 'spec.ports[1].name', message: 'required when a Service has more than one port' },
      ],
    ],
    ['a Service with a duplicate port', service([{ name: 'a', port: 80 }, { name: 'b', port: 80 }]), [{ path: 'spec.ports[1].port', message: 'duplicate of spec.ports[0] (80/TCP)' }]],
    ['a Service with no ports', service([]), [{ path: 'spec.ports', message: 'at least one port is required' }]],
    ['a Service with a nodePort', service([{ port: 80, nodePort: 30080 }]), [{ path: 'spec.ports[0].nodePort', message: 'nodePort is not supported: services are ClusterIP only' }]],
    ['a LoadBalancer Service', service([{ port: 80 }], { type: 'LoadBalancer' }), [{ path: 'spec.type', message: 'only type ClusterIP is supported by the local cluster' }]],
    ['a Service name that is not a DNS-1035 label', service([{ port: 80 }], {}, { name: '1web' }), [{ path: 'metadata.name', message: 'must be a DNS-1035 label (start with a letter; a-z, 0-9, -)' }]],
    ['a Deployment selector that the template labels do not match', deployment({ app: 'web' }, { app: 'api' }), [{ path: 'spec.template.metadata.labels', message: "must include the selector's app=web" }]],
    ['a Deployment with an empty selector', deployment({}, {}, { selector: {} }), [{ path: 'spec.selector', message: 'must not be empty' }]],
    ['a Deployment whose pods would not restart', deployment({ app: 'web' }, { app: 'web' }, {}, { restartPolicy: 'Never' }), [{ path: 'spec.template.spec.restartPolicy', message: "must be 'Always' for a Deployment" }]],
    ['a Deployment above 250 replicas', deployment({ app: 'web' }, { app: 'web' }, { replicas: 251 }), [{ path: 'spec.replicas', message: 'must be at most 250 (one node holds 253 pods)' }]],
    [
      'a container without a command',
      pod({}, { containers: [{ name: 'app', image: 'nginx' }] }),
      [{ path: 'spec.containers[0].command', message: 'required: the local runtime runs host commands, not images (set command: [...])' }],
    ],
    ['a container with an empty command', pod({}, { containers: [container({ command: [] })] }), [{ path: 'spec.containers[0].command', message: 'must name a program to run' }]],
    ['a Pod with two containers', pod({}, { containers: [container(), container({ name: 'b' })] }), [{ path: 'spec.containers', message: 'the local runtime runs one container per pod' }]],
    ['a Pod with no containers', pod({}, { containers: [] }), [{ path: 'spec.containers', message: 'at least one container is required' }]],
    [
      'a readiness probe with both tcpSocket and httpGet',
      pod({}, { containers: [container({ readinessProbe: { tcpSocket: { port: 80 }, httpGet: { port: 80 } } })] }),
      [{ path: 'spec.containers[0].readinessProbe', message: 'must set exactly one of tcpSocket or httpGet' }],
    ],
    [
      'a label key with a space',
      pod({ labels: { 'bad key': 'v' } }),
      [{ path: 'metadata.labels.bad key', message: 'must be [prefix/]name: name <= 63 chars of alphanumerics, -, _ or ., starting and ending alphanumeric' }],
    ],
    [
      'a label key with two slashes',
      pod({ labels: { 'a/b/c': 'v' } }),
      [{ path: 'metadata.labels.a/b/c', message: 'must be [prefix/]name: name <= 63 chars of alphanumerics, -, _ or ., starting and ending alphanumeric' }],
    ],
    [
      'a label key with an upper-case prefix',
      pod({ labels: { 'Example.com/app': 'v' } }),
      [{ path: 'metadata.labels.Example.com/app', message: 'must be [prefix/]name: name <= 63 chars of alphanumerics, -, _ or ., starting and ending alphanumeric' }],
    ],
    ['a label value starting with a dash', pod({ labels: { app: '-web' } }), [{ path: 'metadata.labels.app', message: 'must be empty or alphanumerics, -, _ or ., starting and ending alphanumeric' }]],
    ['a label value of 64 characters', pod({ labels: { app: 'a'.repeat(64) } }), [{ path: 'metadata.labels.app', message: 'must be at most 63 characters' }]],
    ['a Pod name with upper case', pod({ name: 'Web' }), [{ path: 'metadata.name', message: 'must be a lowercase DNS-1123 subdomain (a-z, 0-9, -, .)' }]],
    ['a Namespace name with a dot', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } }, [{ path: 'metadata.name', message: 'must be a lowercase DNS-1123 label (a-z, 0-9, -)' }]],
    ['an object with neither name nor generateName', { ...pod(), metadata: {} }, [{ path: 'metadata.name', message: 'required' }]],
    [
      'an unsupported kind',
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } },
      [{ path: 'kind', message: 'unsupported kind v1/Secret; supported kinds: Namespace, Node, ServiceAccount, ConfigMap, Pod, Service, Endpoints, Deployment, AuthorizationPolicy, PeerAuthentication, RequestAuthentication, ServiceEntry, WorkloadEntry, DestinationRule, VirtualService, Gateway, HTTPRoute, GRPCRoute' }],
    ],
    ['a known kind under the wrong apiVersion', { apiVersion: 'v1', kind: 'Deployment', metadata: { name: 'x' } }, [{ path: 'kind', message: 'unsupported kind v1/Deployment; Deployment is served as apiVersion apps/v1' }]],
    ['a missing kind', { apiVersion: 'v1', metadata: { name: 'x' } }, [{ path: 'kind', message: 'required' }]],
    ['a missing apiVersion', { kind: 'Pod', metadata: { name: 'x' } }, [{ path: 'apiVersion', message: 'required' }]],
    ['a list instead of an object', [pod()], [{ path: '', message: 'must be a mapping (a Kubernetes object)' }]],
  ];
  for (const [what, obj, want] of bad) {
    it(`rejects ${what}`, () => {
      assert.deepEqual(errorsOf(obj), want);
    });
  }

  it('formats paths with dots for keys and brackets for indexes', () => {
    assert.equal(formatPath(['spec', 'ports', 1, 'targetPort']), 'spec.ports[1].targetPort');
    assert.equal(formatPath([]), '');
    assert.equal(formatErrors([{ path: 'spec.ports[1].foo', message: 'unknown field' }, { path: '', message: 'bare' }]), 'spec.ports[1].foo: unknown field; bare');
  });
});

describe('label selectors', () => {
  it("parses every operator: 'a=b,c!=d,e in (x,y),f notin (z),g,!h'", () => {
    const want: Requirement[] = [
      { key: 'a', op: 'in', values: ['b'] },
      { key: 'c', op: 'notin', values: ['d'] },
      { key: 'e', op: 'in', values: ['x', 'y'] },
      { key: 'f', op: 'notin', values: ['z'] },
      { key: 'g', op: 'exists' },
      { key: 'h', op: 'notexists' },
    ];
    assert.deepEqual(parseSelector('a=b,c!=d,e in (x,y),f notin (z),g,!h'), want);
    assert.deepEqual(parseSelector(' a = b , c!=d , e in ( x , y ),f notin(z), g , ! h '), want, 'whitespace is insignificant');
    assert.deepEqual(parseSelector('a==b'), [{ key: 'a', op: 'in', values: ['b'] }], '== is the same as =');
    assert.deepEqual(parseSelector(''), [], 'the empty selector selects everything');
    assert.deepEqual(parseSelector('example.com/tier=web'), [{ key: 'example.com/tier', op: 'in', values: ['web'] }]);
  });

  const sel = parseSelector('a=b,c!=d,e in (x,y),f notin (z),g,!h');
  const base = { a: 'b', e: 'x', g: '' };
  const table: [string, Record<string, string> | undefined, boolean][] = [
    ['all requirements met', base, true],
    ['c present with another value', { ...base, c: 'other' }, true],
    ['f present with an allowed value', { ...base, f: 'y' }, true],
    ['a with another value', { ...base, a: 'x' }, false],
    ['a missing', { e: 'x', g: '' }, false],
    ['c equal to the excluded value', { ...base, c: 'd' }, false],
    ['e outside the set', { ...base, e: 'w' }, false],
    ['e missing', { a: 'b', g: '' }, false],
    ['f equal to the excluded value', { ...base, f: 'z' }, false],
    ['g missing', { a: 'b', e: 'x' }, false],
    ['h present (even empty)', { ...base, h: '' }, false],
    ['no labels at all', undefined, false],
  ];
  for (const [what, labels, want] of table) {
    it(`${want ? 'matches' : 'does not match'} when ${what}`, () => {
      assert.equal(matches(sel, labels), want);
    });
  }

  it('the empty selector matches objects without labels; != and notin match when the key is absent', () => {
    assert.equal(matches([], undefined), true);
    assert.equal(matches(parseSelector('x!=1'), {}), true);
    assert.equal(matches(parseSelector('x notin (1)'), undefined), true);
  });

  const broken: [string, RegExp][] = [
    ['a in x', /expected '\(' after in/],
    ['a in (x', /missing '\)'/],
    ['!', /expected a key after '!'/],
    ['a b', /unknown operator 'b'/],
    ['a foo (x)', /unknown operator 'foo'/],
    ['=b', /expected a key at position 0/],
    ['a=b,,c', /expected a key at position 4/],
    ['a=b c', /expected ',' at position 4/],
  ];
  for (const [text, msg] of broken) {
    it(`throws a SelectorError for '${text}'`, () => {
      assert.throws(() => parseSelector(text), (e: unknown) => e instanceof SelectorError && e.code === 'BAD_SELECTOR' && msg.test(e.message) && e.message.includes(`'${text}'`));
    });
  }

  it('converts a LabelSelector (matchLabels + matchExpressions) to requirements', () => {
    const reqs = fromLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'env', operator: 'NotIn', values: ['prod'] },
        { key: 'canary', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(matches(reqs, { app: 'web', tier: 'a', env: 'dev', canary: '' }), true);
    assert.equal(matches(reqs, { app: 'web', tier: 'a', env: 'dev', canary: '', legacy: 'y' }), false);
    assert.equal(matches(reqs, { app: 'web', tier: 'a', env: 'prod', canary: '' }), false);
    assert.deepEqual(fromLabelSelector(undefined), []);
  });

  it('parses field selectors and reads dotted paths', () => {
    assert.deepEqual(parseFieldSelector('spec.nodeName=node1,metadata.name!=x, status.phase==Running'), [
      { path: 'spec.nodeName', op: '=', value: 'node1' },
      { path: 'metadata.name', op: '!=', value: 'x' },
      { path: 'status.phase', op: '=', value: 'Running' },
    ]);
    assert.deepEqual(parseFieldSelector('  '), []);
    assert.throws(() => parseFieldSelector('spec.nodeName'), (e: unknown) => e instanceof SelectorError && /cannot parse 'spec.nodeName'/.test(e.message));
    const p = { metadata: { name: 'x' }, spec: { nodeName: 'node1' } };
    assert.equal(fieldValue(p, 'spec.nodeName'), 'node1');
    assert.equal(fieldValue(p, 'status.phase'), '', 'a missing field reads as the empty string');
  });
});

describe('PATCH', () => {
  const target = {
    metadata: { name: 'p', labels: { app: 'web', tier: 'front' }, annotations: { a: '1' } },
    spec: { containers: [{ name: 'c', command: ['x'] }], nodeName: 'node1' },
  };

  it('merge patch: null removes a label, objects merge, lists and scalars replace', () => {
    const out = mergePatch(target, { metadata: { labels: { tier: null, new: 'yes' } }, spec: { containers: [{ name: 'd', command: ['y'] }] } });
    assert.deepEqual(out, {
      metadata: { name: 'p', labels: { app: 'web', new: 'yes' }, annotations: { a: '1' } },
      spec: { containers: [{ name: 'd', command: ['y'] }], nodeName: 'node1' },
    });
    assert.deepEqual(target.metadata.labels, { app: 'web', tier: 'front' }, 'the target is not mutated');
    assert.deepEqual(mergePatch(target, { metadata: { annotations: null } }), { ...target, metadata: { name: 'p', labels: target.metadata.labels } });
    assert.equal(mergePatch(target, 'scalar'), 'scalar', 'a non-object patch replaces the document');
  });

  it('strategic merge patch: label removal via null, $-directives dropped', () => {
    const out = applyPatch('application/strategic-merge-patch+json', target, {
      $setElementOrder: { x: 1 },
      metadata: { labels: { app: null, $patch: 'merge' } },
    }) as typeof target;
    assert.deepEqual(out.metadata.labels, { tier: 'front' });
    assert.deepEqual(Object.keys(out).sort(), ['metadata', 'spec']);
  });

  it('JSON patch: add, replace, remove, test and ~1 escapes', () => {
    const out = jsonPatch(target, [
      { op: 'test', path: '/metadata/labels/app', value: 'web' },
      { op: 'add', path: '/metadata/labels/example.com~1team', value: 'mesh' },
      { op: 'replace', path: '/spec/nodeName', value: 'node2' },
      { op: 'remove', path: '/metadata/labels/tier' },
      { op: 'add', path: '/spec/containers/0/command/-', value: 'z' },
      { op: 'add', path: '/spec/containers/0/command/0', value: 'first' },
    ]) as typeof target;
    assert.deepEqual(out.metadata.labels, { app: 'web', 'example.com/team': 'mesh' });
    assert.equal(out.spec.nodeName, 'node2');
    assert.deepEqual(out.spec.containers[0]?.command, ['first', 'x', 'z']);
    assert.equal(target.spec.nodeName, 'node1', 'the target is not mutated');
  });

  it('JSON patch errors: a failed test is 422 Invalid, a missing parent or bad op is 400 BadRequest', () => {
    const isErr = (reason: string, re: RegExp) => (e: unknown) => e instanceof ApiError && e.reason === reason && re.test(e.message);
    assert.throws(() => jsonPatch(target, [{ op: 'test', path: '/metadata/labels/app', value: 'api' }]), isErr('Invalid', /test failed at \/metadata\/labels\/app/));
    assert.throws(() => jsonPatch(target, [{ op: 'add', path: '/status/phase', value: 'Running' }]), isErr('BadRequest', /path \/status\/phase does not exist/));
    assert.throws(() => jsonPatch(target, [{ op: 'move', from: '/a', path: '/b' }]), isErr('BadRequest', /unsupported op 'move'/));
    assert.throws(() => jsonPatch(target, [{ op: 'add', value: 1 }]), isErr('BadRequest', /op 0: missing path/));
    assert.throws(() => jsonPatch(target, { op: 'add' }), isErr('BadRequest', /must be an array/));
  });

  it('applyPatch picks the flavour from the content type and refuses server-side apply with 415', () => {
    const body = { metadata: { labels: { tier: null } } };
    assert.deepEqual((applyPatch('application/merge-patch+json; charset=utf-8', target, body) as typeof target).metadata.labels, { app: 'web' });
    assert.deepEqual((applyPatch('application/json-patch+json', target, [{ op: 'remove', path: '/metadata/labels/app' }]) as typeof target).metadata.labels, { tier: 'front' });
    assert.throws(() => applyPatch('application/apply-patch+yaml', target, body), (e: unknown) => e instanceof ApiError && e.code === 415 && /server-side apply is not supported/.test(e.message));
    assert.throws(() => applyPatch('application/json', target, body), (e: unknown) => e instanceof ApiError && e.code === 415 && /unsupported patch content type 'application\/json'/.test(e.message));
  });
});

describe('printers', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');
  const ago = (seconds: number): string => new Date(now - seconds * 1000).toISOString();
  const table: [number, string][] = [
    [0, '0s'],
    [59, '59s'],
    [119, '119s'],
    [125, '2m5s'],
    [9 * 60 + 59, '9m59s'],
    [10 * 60, '10m'],
    [179 * 60 + 59, '179m'],
    [180 * 60, '3h'],
    [3 * 3600 + 5 * 60, '3h5m'],
    [47 * 3600 + 59 * 60, '47h59m'],
    [48 * 3600, '2d'],
    [400 * 86400, '400d'],
  ];
  for (const [s, want] of table) {
    it(`age() of ${s}s is '${want}'`, () => {
      assert.equal(age(ago(s), now), want);
    });
  }

  it("age() is '<unknown>' without a timestamp and never negative for clock skew", () => {
    assert.equal(age(undefined, now), '<unknown>');
    assert.equal(age(ago(-30), now), '0s');
  });

  it('the Pod table shows Terminating for a pod being deleted and the wait reason of its container', () => {
    const p = (extra: Partial<Pod>): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', creationTimestamp: ago(30) }, spec: { containers: [{ name: 'c', command: ['x'] }] }, ...extra });
    assert.equal(podStatusText(p({ metadata: { name: 'p', deletionTimestamp: ago(1) } })), 'Terminating');
    assert.equal(podStatusText(p({ status: { phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } })), 'CrashLoopBackOff');
    assert.equal(podStatusText(p({})), 'Pending');
    const t = tableFor('Pod');
    assert.deepEqual(t.columns.map((c) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node']);
    const row = t.cells(p({ status: { phase: 'Running', podIP: '10.0.1.5', containerStatuses: [{ name: 'c', ready: true, restartCount: 1 }] } }), now);
    assert.deepEqual(row, ['p', '1/1', 'Running', 1, '30s', '10.0.1.5', '<none>']);
  });

  it('an unknown kind gets a Name/Age table', () => {
    const o: KubeObject = { apiVersion: 'x/v1', kind: 'Widget', metadata: { name: 'w', creationTimestamp: ago(5) } };
    const t = tableFor('Widget');
    assert.deepEqual(t.columns.map((c) => c.name), ['Name', 'Age']);
    assert.deepEqual(t.cells(o, now), ['w', '5s']);
  });
});
