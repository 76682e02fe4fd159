// AuthorizationPolicy → Authorization (spec §5.1, §5.2), table-driven, plus end-to-end decisions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyMatch, type Authorization, type Match } from '../../src/mesh-api/types.js';
import { policyMatches } from '../../src/authz/evaluate.js';
import { convertAuthorizationPolicy } from '../../src/control-plane/translate/authorization.js';
import type { AuthorizationPolicyInput, AuthorizationPolicySpec, Diagnostic } from '../../src/control-plane/translate/inputs.js';
import { addressMatch, portValue, serviceAccountMatch, stringToMatch } from '../../src/control-plane/translate/match-values.js';
import { decide, namespace, pod, run, workloadNamed } from './support/translate-fixtures.js';

const ap = (spec: AuthorizationPolicySpec, o: { ns?: string; name?: string; annotations?: Record<string, string> } = {}): AuthorizationPolicyInput => ({
  metadata: { name: o.name ?? 'p', namespace: o.ns ?? 'app', ...(o.annotations ? { annotations: o.annotations } : {}) },
  spec,
});
const convert = (p: AuthorizationPolicyInput): { out: Authorization | undefined; diags: Diagnostic[] } => {
  const diags: Diagnostic[] = [];
  return { out: convertAuthorizationPolicy(p, 'istio-system', diags), diags };
};
const m = (f: Partial<Match>): Match => ({ ...emptyMatch(), ...f });

describe('translate authorization: which policies are sent (§5.1)', () => {
  const rows: [string, AuthorizationPolicyInput, Partial<Authorization> | undefined, RegExp | undefined][] = [
    ['a policy with targetRefs is not sent to node tunnels', ap({ targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'wp' }], rules: [{}] }), undefined, undefined],
    ['a policy with targetRef is not sent to node tunnels', ap({ targetRef: { kind: 'Service', name: 'svc' }, rules: [{}] }), undefined, undefined],
    ['CUSTOM is not sent and says why', ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] }), undefined, /ztunnel does not support the CUSTOM action/],
    ['AUDIT is not sent and says why', ap({ action: 'AUDIT', rules: [{}] }), undefined, /ztunnel does not support the AUDIT action/],
    ['no action means ALLOW', ap({ rules: [{}] }), { action: 'ALLOW' }, undefined],
    ['DENY is sent as DENY', ap({ action: 'DENY', rules: [{}] }), { action: 'DENY' }, undefined],
    ['no selector is NAMESPACE scope', ap({ rules: [{}] }), { scope: 'NAMESPACE', namespace: 'app' }, undefined],
    ['no selector in istio-system is GLOBAL', ap({ rules: [{}] }, { ns: 'istio-system' }), { scope: 'GLOBAL' }, undefined],
    ['a selector is WORKLOAD_SELECTOR', ap({ selector: { matchLabels: { app: 'x' } }, rules: [{}] }), { scope: 'WORKLOAD_SELECTOR' }, undefined],
    ['a selector in istio-system is still WORKLOAD_SELECTOR', ap({ selector: { matchLabels: { app: 'x' } } }, { ns: 'istio-system' }), { scope: 'WORKLOAD_SELECTOR' }, undefined],
    ['the dry-run annotation sets dryRun', ap({ rules: [{}] }, { annotations: { 'istio.io/dry-run': 'true' } }), { dryRun: true }, undefined],
    ['without the annotation dryRun is false', ap({ rules: [{}] }), { dryRun: false }, undefined],
    ['no rules gives zero rules (matches nothing)', ap({}), { rules: [] }, undefined],
    ['an empty rule gives a rule with no clauses (matches everything)', ap({ rules: [{}] }), { rules: [{ clauses: [] }] }, undefined],
  ];
  for (const [name, p, want, diag] of rows) {
    it(name, () => {
      const { out, diags } = convert(p);
      if (want === undefined) assert.equal(out, undefined);
      else for (const [k, v] of Object.entries(want)) assert.deepEqual(out?.[k as keyof Authorization], v, k);
      if (diag) assert.match(diags.map((d) => d.message).join('\n'), diag);
      else assert.deepEqual(diags, []);
    });
  }
});

describe('translate authorization: value conversion (§4.6, §5.2)', () => {
  const strings: [string, string, unknown][] = [
    ['"*" becomes presence', '*', { presence: true }],
    ['"*x" becomes suffix x', '*-prod', { suffix: '-prod' }],
    ['"x*" becomes prefix x', 'team-*', { prefix: 'team-' }],
    ['anything else is exact', 'foo', { exact: 'foo' }],
  ];
  for (const [name, v, want] of strings) it(name, () => assert.deepEqual(stringToMatch(v), want));
  // istiod stringToMatch on principals as written: it does not strip spiffe:// (behaviour change:
  // Ambit used to strip it, which made such a policy match where Istio's never does).
  it('principals are sent as written, spiffe:// included, with a diagnostic', () => {
    const { out, diags } = convert(ap({ rules: [{ from: [{ source: { principals: ['spiffe://cluster.local/ns/a/sa/b', 'cluster.local/ns/a/sa/*'] } }] }] }));
    assert.deepEqual(out?.rules[0]?.clauses[0]?.matches[0]?.principals, [{ exact: 'spiffe://cluster.local/ns/a/sa/b' }, { prefix: 'cluster.local/ns/a/sa/' }]);
    assert.match(diags.map((d) => d.message).join('\n'), /rule 0: principal 'spiffe:\/\/cluster.local\/ns\/a\/sa\/b' includes the spiffe:\/\/ scheme.*never matches/);
  });
  it('serviceAccounts "ns/sa" names both', () => assert.deepEqual(serviceAccountMatch('other/curl', 'app'), { namespace: 'other', serviceAccount: 'curl' }));
  it('a bare serviceAccount means the policy namespace', () => assert.deepEqual(serviceAccountMatch('curl', 'app'), { namespace: 'app', serviceAccount: 'curl' }));
  it('ipBlocks become CIDRs, a bare IP a host prefix', () => {
    assert.deepEqual(addressMatch('10.0.0.0/8'), { address: '10.0.0.0', length: 8 });
    assert.deepEqual(addressMatch('10.0.1.7'), { address: '10.0.1.7', length: 32 });
    assert.deepEqual(addressMatch('fd00::/64'), { address: 'fd00::', length: 64 });
    assert.equal(addressMatch('10.0.0.0/33'), undefined);
  });
  it('ports are numbers from strings', () => {
    assert.equal(portValue('8080'), 8080);
    assert.equal(portValue(9000), 9000);
    assert.equal(portValue('http'), undefined);
  });
});

describe('translate authorization: rules, clauses and matches (§5.2)', () => {
  const rows: [string, AuthorizationPolicySpec, Match[][][], RegExp | undefined][] = [
    ['each from entry is a Match in the from clause', { rules: [{ from: [{ source: { namespaces: ['a'] } }, { source: { principals: ['cluster.local/ns/b/sa/c'] } }] }] }, [[[m({ namespaces: [{ exact: 'a' }] }), m({ principals: [{ exact: 'cluster.local/ns/b/sa/c' }] })]]], undefined],
    ['to, from and when become three clauses, in istiod\'s order', { rules: [{ from: [{ source: { namespaces: ['a'] } }], to: [{ operation: { ports: ['80'] } }], when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] }] }, [[[m({ destinationPorts: [80] })], [m({ namespaces: [{ exact: 'a' }] })], [m({ sourceIps: [{ address: '10.0.0.0', length: 8 }] })]]], undefined],
    ['fields of one source share a Match', { rules: [{ from: [{ source: { namespaces: ['a'], notPrincipals: ['*'], ipBlocks: ['10.0.0.1'], notIpBlocks: ['10.0.0.2/31'] } }] }] }, [[[m({ namespaces: [{ exact: 'a' }], notPrincipals: [{ presence: true }], sourceIps: [{ address: '10.0.0.1', length: 32 }], notSourceIps: [{ address: '10.0.0.2', length: 31 }] })]]], undefined],
    ['notNamespaces map to notNamespaces', { rules: [{ from: [{ source: { notNamespaces: ['kube-*'] } }] }] }, [[[m({ notNamespaces: [{ prefix: 'kube-' }] })]]], undefined],
    ['serviceAccounts map with the policy namespace', { rules: [{ from: [{ source: { serviceAccounts: ['curl', 'x/y'], notServiceAccounts: ['bad'] } }] }] }, [[[m({ serviceAccounts: [{ namespace: 'app', serviceAccount: 'curl' }, { namespace: 'x', serviceAccount: 'y' }], notServiceAccounts: [{ namespace: 'app', serviceAccount: 'bad' }] })]]], undefined],
    ['ports and notPorts become destination ports', { rules: [{ to: [{ operation: { ports: ['8080'], notPorts: ['9090'] } }] }] }, [[[m({ destinationPorts: [8080], notDestinationPorts: [9090] })]]], undefined],
    ['when source.namespace maps to namespaces', { rules: [{ when: [{ key: 'source.namespace', values: ['a'], notValues: ['b'] }] }] }, [[[m({ namespaces: [{ exact: 'a' }], notNamespaces: [{ exact: 'b' }] })]]], undefined],
    ['when source.principal maps to principals', { rules: [{ when: [{ key: 'source.principal', values: ['cluster.local/ns/a/sa/b'] }] }] }, [[[m({ principals: [{ exact: 'cluster.local/ns/a/sa/b' }] })]]], undefined],
    ['a spiffe:// source.principal is sent as written', { rules: [{ when: [{ key: 'source.principal', notValues: ['spiffe://cluster.local/ns/a/sa/b'] }] }] }, [[[m({ notPrincipals: [{ exact: 'spiffe://cluster.local/ns/a/sa/b' }] })]]], /never excludes anyone/],
    ['when destination.ip maps to destinationIps', { rules: [{ when: [{ key: 'destination.ip', notValues: ['10.0.1.0/24'] }] }] }, [[[m({ notDestinationIps: [{ address: '10.0.1.0', length: 24 }] })]]], undefined],
    ['when destination.port maps to destinationPorts', { rules: [{ when: [{ key: 'destination.port', values: ['80'] }] }] }, [[[m({ destinationPorts: [80] })]]], undefined],
    // Behaviour change: all conditions used to share one clause (OR-ed), which widened an ALLOW.
    ['each when condition is its own clause (AND-ed)', { rules: [{ when: [{ key: 'source.ip', values: ['10.0.0.1'] }, { key: 'destination.port', values: ['80'] }] }] }, [[[m({ sourceIps: [{ address: '10.0.0.1', length: 32 }] })], [m({ destinationPorts: [80] })]]], undefined],
    ['each from and to entry is one Match of its clause', { rules: [{ to: [{ operation: { ports: ['80'] } }, { operation: { notPorts: ['81'] } }], from: [{ source: { namespaces: ['a'] } }, { source: { ipBlocks: ['10.0.0.1'] } }] }] }, [[[m({ destinationPorts: [80] }), m({ notDestinationPorts: [81] })], [m({ namespaces: [{ exact: 'a' }] }), m({ sourceIps: [{ address: '10.0.0.1', length: 32 }] })]]], undefined],
    ['a malformed ipBlock drops the rule and says so', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/99'] } }] }, {}] }, [[]], /invalid ipBlocks '10.0.0.0\/99'/],
  ];
  for (const [name, spec, want, diag] of rows) {
    it(name, () => {
      const { out, diags } = convert(ap(spec));
      assert.deepEqual(out?.rules.map((r) => r.clauses.map((c) => c.matches)), want);
      if (diag) assert.match(diags.map((d) => d.message).join('\n'), diag);
      else assert.deepEqual(diags, []);
    });
  }
});

describe('translate authorization: L7 fields (§5.2)', () => {
  const rows: [string, AuthorizationPolicySpec, Match[][][], RegExp][] = [
    ['an ALLOW rule with paths is dropped entirely', { rules: [{ from: [{ source: { namespaces: ['a'] } }], to: [{ operation: { paths: ['/x'], ports: ['80'] } }] }] }, [], /paths.*ALLOW rule is dropped/],
    ['an ALLOW rule with methods is dropped, other rules stay', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }, { to: [{ operation: { ports: ['80'] } }] }] }, [[[m({ destinationPorts: [80] })]]], /rule 0: L7 fields \(methods\)/],
    ['an ALLOW rule with hosts is dropped', { rules: [{ to: [{ operation: { notHosts: ['a.com'] } }] }] }, [], /notHosts/],
    ['an ALLOW rule with requestPrincipals is dropped', { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] }, [], /requestPrincipals/],
    ['an ALLOW rule with remoteIpBlocks is dropped', { rules: [{ from: [{ source: { remoteIpBlocks: ['1.2.3.4'] } }] }] }, [], /remoteIpBlocks/],
    ['an ALLOW rule with a non-L4 when key is dropped', { rules: [{ when: [{ key: 'request.headers[x]', values: ['1'] }] }] }, [], /when request.headers\[x\]/],
    ['an ALLOW whose rules are all L7 allows nothing and says so', { rules: [{ to: [{ operation: { paths: ['/'] } }] }] }, [], /deny all traffic not allowed by another policy/],
    ['a DENY rule keeps its L4 part', { action: 'DENY', rules: [{ to: [{ operation: { ports: ['80'], methods: ['POST'] } }] }] }, [[[m({ destinationPorts: [80] })]]], /L4 remainder is denied, which is more restrictive/],
    // Behaviour changes below: istiod emits an empty Match for an L7-only part, so the rule is a no-op.
    ['a DENY rule with an L7-only to is a no-op', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['a'] } }], to: [{ operation: { paths: ['/admin'] } }] }] }, [[[m({})], [m({ namespaces: [{ exact: 'a' }] })]]], /leaves to with nothing to match.*no effect \(no-op\)/],
    ['a DENY rule keeps an L7-only from entry as an empty Match beside its L4 siblings', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['a'] } }, { source: { requestPrincipals: ['*'] } }] }] }, [[[m({ namespaces: [{ exact: 'a' }] }), m({})]]], /requestPrincipals\) are ignored.*more restrictive/],
    ['a DENY rule with a non-L4 when condition is a no-op', { action: 'DENY', rules: [{ to: [{ operation: { ports: ['80'] } }], when: [{ key: 'request.auth.claims[iss]', values: ['x'] }] }] }, [[[m({ destinationPorts: [80] })], [m({})]]], /leaves when\[0\] with nothing to match.*no-op/],
    ['a DENY with only L7 is sent and is a no-op', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }, [[[m({})]]], /has no effect \(no-op\)/],
  ];
  for (const [name, spec, want, diag] of rows) {
    it(name, () => {
      const { out, diags } = convert(ap(spec));
      assert.ok(out, 'the policy itself is still sent');
      assert.deepEqual(out.rules.map((r) => r.clauses.map((c) => c.matches)), want);
      assert.match(diags.map((d) => d.message).join('\n'), diag);
    });
  }
});

describe('translate authorization: selector policies on workloads (§4.4 field 16, §5.1)', () => {
  const yaml = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: sel, namespace: app}
spec: {selector: {matchLabels: {app: web}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: root-sel, namespace: istio-system}
spec: {selector: {matchLabels: {app: web}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: other-ns, namespace: other}
spec: {selector: {matchLabels: {app: web}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ns-wide, namespace: app}
spec: {rules: [{}]}
`;
  // The schema refuses a selector beside targetRefs; translation still keeps such a policy off node tunnels.
  const waypointOnly = { metadata: { name: 'waypoint-only', namespace: 'app' }, spec: { targetRefs: [{ kind: 'Service', group: '', name: 'web' }], selector: { matchLabels: { app: 'web' } } } };
  const r = run({ yaml, unvalidated: { authorizationPolicies: [waypointOnly] }, namespaces: [namespace('app')], pods: [pod('app', 'web-1', { labels: { app: 'web' } }), pod('app', 'db-1', { labels: { app: 'db' } })] });
  const rows: [string, string, string[]][] = [
    ['a matching selector policy is listed, a root-namespace one too, another namespace\'s not', 'web-1', ['app/sel', 'istio-system/root-sel']],
    ['a non-matching selector is not listed and NAMESPACE policies never are', 'db-1', []],
  ];
  for (const [name, w, keys] of rows) it(name, () => assert.deepEqual(workloadNamed(r, w).authorizationPolicies, keys));
  it('targetRefs policies are absent from the snapshot', () => assert.ok(!r.snapshot.authorizations.some((a) => a.name === 'waypoint-only')));
});

describe('translate authorization: end-to-end decisions', () => {
  const ns = [namespace('app', { 'istio.io/dataplane-mode': 'ambient' }), namespace('client')];
  const pods = [pod('app', 'web-1', { labels: { app: 'web' } })];
  const rows: [string, string, [number, string | undefined, boolean][]][] = [
    [
      'an L4 ALLOW by namespace and port allows only that',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-client, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  action: ALLOW
  rules:
  - from: [{source: {namespaces: [client]}}]
    to: [{operation: {ports: ["8080"]}}]`,
      [[8080, 'client/curl', true], [9000, 'client/curl', false], [8080, 'other/curl', false], [8080, undefined, false]],
    ],
    [
      'an ALLOW with paths denies everything (fail safe)',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-get, namespace: app}
spec:
  rules: [{to: [{operation: {methods: [GET], ports: ["8080"]}}]}]`,
      [[8080, 'client/curl', false], [8080, undefined, false]],
    ],
    [
      'a DENY with ports and paths denies the whole port',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: app}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin"], ports: ["8080"]}}]}]`,
      [[8080, 'client/curl', false], [9000, 'client/curl', true]],
    ],
    [
      'a DENY with only paths has no effect',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: app}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin"]}}]}]`,
      [[8080, 'client/curl', true], [8080, undefined, true]],
    ],
    [
      'a global DENY of plaintext via notPrincipals "*" denies plaintext only',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-plaintext, namespace: istio-system}
spec:
  action: DENY
  rules: [{from: [{source: {notPrincipals: ["*"]}}]}]`,
      [[8080, undefined, false], [8080, 'client/curl', true]],
    ],
    [
      'a dry-run DENY is not enforced',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: dry, namespace: app, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, rules: [{}]}`,
      [[8080, 'client/curl', true]],
    ],
    [
      'an ipBlocks ALLOW matches by source address',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: from-node2, namespace: app}
spec: {rules: [{from: [{source: {ipBlocks: ["10.0.2.0/24"]}}]}]}`,
      [[8080, undefined, true]],
    ],
  ];
  for (const [name, yaml, checks] of rows) {
    it(name, () => {
      const r = run({ yaml, namespaces: ns, pods });
      for (const [port, from, allowed] of checks) assert.equal(decide(r, 'web-1', port, from).allowed, allowed, `port ${port} from ${from ?? 'plaintext'}`);
    });
  }
});

// istio/istio pilot/pkg/serviceregistry/ambient/testdata/deny-groups-in.yaml → deny-groups.yaml:
// clauses are to, from, then one per when; L7 is left out and an L7-only part is an empty Match.
describe('translate authorization: istiod deny-groups testdata', () => {
  const spec: AuthorizationPolicySpec = {
    action: 'DENY',
    rules: [
      { from: [{ source: { principals: ['from-mix-principal'], requestPrincipals: ['from-mix-requestPrincipals'], namespaces: ['from-mix-ns'] } }], to: [{ operation: { ports: ['80'] } }] },
      { from: [{ source: { principals: ['to-mix-principal'], namespaces: ['to-mix-ns'] } }], to: [{ operation: { ports: ['80'], methods: ['to-mix-method'] } }] },
      { from: [{ source: { principals: ['only-l4-principals'], namespaces: ['only-l4-ns'] } }], to: [{ operation: { ports: ['80'] } }] },
      { from: [{ source: { requestPrincipals: ['l7-principal'] } }], to: [{ operation: { paths: ['/l7-foo'], methods: ['l7-method'] } }] },
      { when: [{ key: 'source.namespace', values: ['when-l4-l7-ns'] }, { key: 'connection.sni', values: ['when-l4-l7-sni'] }] },
      { when: [{ key: 'source.namespace', values: ['when-l4-ns'] }, { key: 'source.ip', values: ['10.10.10.10'], notValues: ['20.20.20.20'] }] },
      { when: [{ key: 'connection.sni', values: ['when-l7-sni'] }, { key: 'request.headers[X-header]', values: ['when-l7-header'] }] },
    ],
  };
  const port80 = [m({ destinationPorts: [80] })];
  const src = (p: string, ns: string): Match[] => [m({ namespaces: [{ exact: ns }], principals: [{ exact: p }] })];
  const want: Match[][][] = [
    [port80, src('from-mix-principal', 'from-mix-ns')],
    [port80, src('to-mix-principal', 'to-mix-ns')],
    [port80, src('only-l4-principals', 'only-l4-ns')],
    [[m({})], [m({})]],
    [[m({ namespaces: [{ exact: 'when-l4-l7-ns' }] })], [m({})]],
    [[m({ namespaces: [{ exact: 'when-l4-ns' }] })], [m({ sourceIps: [{ address: '10.10.10.10', length: 32 }], notSourceIps: [{ address: '20.20.20.20', length: 32 }] })]],
    [[m({})], [m({})]],
  ];
  const { out, diags } = convert(ap(spec, { name: 'groups-deny' }));
  it('every rule is sent, clause for clause as istiod builds it', () => assert.deepEqual(out?.rules.map((r) => r.clauses.map((c) => c.matches)), want));
  it('each rule with L7 says whether it is a no-op or keeps its L4 remainder', () => {
    const byRule = (i: number): string => diags.filter((d) => d.message.startsWith(`rule ${i}:`)).map((d) => d.message).join('\n');
    for (const i of [0, 1]) assert.match(byRule(i), /L4 remainder is denied, which is more restrictive than written/, `rule ${i}`);
    for (const i of [2, 5]) assert.equal(byRule(i), '', `rule ${i}`);
    assert.match(byRule(3), /leaves to, from with nothing to match.*no effect \(no-op\)/);
    assert.match(byRule(4), /leaves when\[1\] with nothing to match.*no-op/);
    assert.match(byRule(6), /leaves when\[0\], when\[1\] with nothing to match.*no-op/);
  });
});

// istio/istio authorization_test.go TestConvertAuthorizationPolicyStatus (the L7 DENY cases): the
// status message there is per policy; here each rule says what happened, and "effective" is
// checked by evaluating the translated policy against the connection its L4 part names.
describe('translate authorization: istiod L7 status cases', () => {
  const bar = { principals: ['cluster.local/ns/foo/sa/bar'] };
  const rows: [string, AuthorizationPolicySpec, RegExp | undefined, boolean][] = [
    ['DENY with only L4 attributes: no diagnostic', { action: 'DENY', rules: [{ from: [{ source: bar }] }] }, undefined, true],
    ['DENY with only L7 attributes has no effect', { action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['example.com/sub-1'] } }] }] }, /rule 0: L7 fields \(notRequestPrincipals\).*no effect \(no-op\)/, false],
    ['DENY mixing L4 and L7 in one source is enforced without the L7', { action: 'DENY', rules: [{ from: [{ source: { ...bar, notRequestPrincipals: ['example.com/sub-1'] } }] }] }, /rule 0: L7 fields \(notRequestPrincipals\).*more restrictive/, true],
    ['DENY with an L7-only rule and a separate L4 rule is still enforced', { action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['example.com/sub-1'] } }] }, { from: [{ source: bar }] }] }, /rule 0: .*no-op/, true],
    ['DENY with an empty catch-all rule and an L7-only rule is still enforced', { action: 'DENY', rules: [{}, { from: [{ source: { notRequestPrincipals: ['example.com/sub-1'] } }] }] }, /rule 1: .*no-op/, true],
    ['DENY with L4 from and L7 when is a no-op (AND empty clause)', { action: 'DENY', rules: [{ from: [{ source: bar }], when: [{ key: 'request.headers[x-token]', values: ['secret'] }] }] }, /rule 0: L7 fields \(when request.headers\[x-token\]\).*leaves when\[0\].*no-op/, false],
    ['DENY with L4 from and L7-only to methods is a no-op (AND empty clause)', { action: 'DENY', rules: [{ from: [{ source: bar }], to: [{ operation: { methods: ['GET'] } }] }] }, /rule 0: L7 fields \(methods\).*leaves to with nothing.*no-op/, false],
    ['ALLOW with HTTP methods, requestPrincipals and a presenter condition is dropped', { rules: [{ from: [{ source: { requestPrincipals: ['example.com/sub-1'] } }], to: [{ operation: { methods: ['GET'] } }], when: [{ key: 'request.auth.presenter', values: ['presenter.example.com'] }] }] }, /methods.*requestPrincipals.*request.auth.presenter.*ALLOW rule is dropped/, false],
  ];
  const fromBar = { srcIp: '10.0.2.5', dstIp: '10.0.1.7', dstPort: 8080, identity: { trustDomain: 'cluster.local', namespace: 'foo', serviceAccount: 'bar' } };
  for (const [name, spec, diag, effective] of rows) {
    it(name, () => {
      const { out, diags } = convert(ap(spec));
      assert.ok(out);
      if (diag) assert.match(diags.map((d) => d.message).join('\n'), diag);
      else assert.deepEqual(diags, []);
      assert.equal(policyMatches(out, fromBar), effective, 'matches foo/bar at the node tunnel');
      // istiod's policy-level "has no enforceable rules at ztunnel and will have no effect".
      if (spec.action === 'DENY') assert.equal(/this DENY policy has no effect/.test(diags.map((d) => d.message).join('\n')), !effective);
    });
  }
});

describe('translate authorization: dry-run annotation (istiod strconv.ParseBool)', () => {
  const rows: [string, string | undefined, boolean, RegExp | undefined][] = [
    ['"true" is dry-run', 'true', true, undefined],
    ['"1" is dry-run', '1', true, undefined],
    ['"True" is dry-run', 'True', true, undefined],
    ['"false" is enforced', 'false', false, undefined],
    ['no annotation is enforced', undefined, false, undefined],
    ['"yes" is not a boolean: enforced, and said so', 'yes', false, /istio.io\/dry-run 'yes' is not a boolean; the policy is enforced/],
  ];
  for (const [name, v, want, diag] of rows) {
    it(name, () => {
      const { out, diags } = convert(ap({ rules: [{}] }, v === undefined ? {} : { annotations: { 'istio.io/dry-run': v } }));
      assert.equal(out?.dryRun, want);
      if (diag) assert.match(diags.map((d) => d.message).join('\n'), diag);
      else assert.deepEqual(diags, []);
    });
  }
});

describe('translate authorization: the issue-13 cases end to end', () => {
  const ns = [namespace('app', { 'istio.io/dataplane-mode': 'ambient' }), namespace('demo'), namespace('client')];
  const pods = [pod('app', 'web-1', { labels: { app: 'web' } })];
  const rows: [string, string, [number, string | undefined, boolean][]][] = [
    [
      'an ALLOW with two when conditions needs both (demo to 9999 only)',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: demo-9999, namespace: app}
spec:
  rules:
  - when:
    - {key: source.namespace, values: [demo]}
    - {key: destination.port, values: ["9999"]}`,
      [[9999, 'demo/curl', true], [8080, 'demo/curl', false], [9999, 'client/curl', false], [9999, undefined, false]],
    ],
    [
      'a DENY with an L4 from and an L7 when denies nothing',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-demo-header, namespace: app}
spec:
  action: DENY
  rules:
  - from: [{source: {namespaces: [demo]}}]
    when: [{key: "request.headers[x-user]", values: [a]}]`,
      [[8080, 'demo/curl', true]],
    ],
    [
      'a DENY mixing ports and methods in one operation denies the whole port',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-post, namespace: app}
spec:
  action: DENY
  rules:
  - from: [{source: {namespaces: [demo]}}]
    to: [{operation: {ports: ["8080"], methods: [POST]}}]`,
      [[8080, 'demo/curl', false], [9999, 'demo/curl', true], [8080, 'client/curl', true]],
    ],
    [
      'an ALLOW of a spiffe:// principal never matches, so it allows nobody',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-uri, namespace: app}
spec:
  rules: [{from: [{source: {principals: ["spiffe://cluster.local/ns/demo/sa/curl"]}}]}]`,
      [[8080, 'demo/curl', false]],
    ],
    [
      'a DENY of a spiffe:// principal denies nobody',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-uri, namespace: app}
spec:
  action: DENY
  rules: [{from: [{source: {principals: ["spiffe://cluster.local/ns/demo/sa/curl"]}}]}]`,
      [[8080, 'demo/curl', true]],
    ],
  ];
  for (const [name, yaml, checks] of rows) {
    it(name, () => {
      const r = run({ yaml, namespaces: ns, pods });
      for (const [port, from, allowed] of checks) assert.equal(decide(r, 'web-1', port, from).allowed, allowed, `port ${port} from ${from ?? 'plaintext'}`);
    });
  }
  it('a dry-run DENY is evaluated and reported, not enforced', () => {
    const yaml = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: dry-deny-demo, namespace: app, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, rules: [{from: [{source: {namespaces: [demo]}}]}]}`;
    const r = run({ yaml, namespaces: ns, pods });
    assert.equal(r.snapshot.authorizations.find((a) => a.name === 'dry-deny-demo')?.dryRun, true);
    const hit = decide(r, 'web-1', 8080, 'demo/curl');
    assert.equal(hit.allowed, true);
    assert.deepEqual(hit.dryRun, [{ policy: 'app/dry-deny-demo', action: 'DENY', decision: 'deny', message: 'dry-run: deny policy match' }]);
    assert.deepEqual(decide(r, 'web-1', 8080, 'client/curl').dryRun, []);
  });
});
