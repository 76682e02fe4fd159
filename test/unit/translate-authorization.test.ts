// AuthorizationPolicy → Authorization (spec §5.1, §5.2), table-driven, plus end-to-end decisions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyMatch, type Authorization, type Match } from '../../src/api/types.js';
import { convertAuthorizationPolicy } from '../../src/control/translate/authorization.js';
import type { AuthorizationPolicyInput, AuthorizationPolicySpec, Diagnostic } from '../../src/control/translate/inputs.js';
import { addressMatch, portValue, principalToMatch, serviceAccountMatch, stringToMatch } from '../../src/control/translate/match-values.js';
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
  it('principals are stripped of spiffe://', () => {
    assert.deepEqual(principalToMatch('spiffe://cluster.local/ns/a/sa/b'), { exact: 'cluster.local/ns/a/sa/b' });
    assert.deepEqual(principalToMatch('cluster.local/ns/a/sa/*'), { prefix: 'cluster.local/ns/a/sa/' });
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
    ['from, to and when become three clauses', { rules: [{ from: [{ source: { namespaces: ['a'] } }], to: [{ operation: { ports: ['80'] } }], when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] }] }, [[[m({ namespaces: [{ exact: 'a' }] })], [m({ destinationPorts: [80] })], [m({ sourceIps: [{ address: '10.0.0.0', length: 8 }] })]]], undefined],
    ['fields of one source share a Match', { rules: [{ from: [{ source: { namespaces: ['a'], notPrincipals: ['*'], ipBlocks: ['10.0.0.1'], notIpBlocks: ['10.0.0.2/31'] } }] }] }, [[[m({ namespaces: [{ exact: 'a' }], notPrincipals: [{ presence: true }], sourceIps: [{ address: '10.0.0.1', length: 32 }], notSourceIps: [{ address: '10.0.0.2', length: 31 }] })]]], undefined],
    ['notNamespaces map to notNamespaces', { rules: [{ from: [{ source: { notNamespaces: ['kube-*'] } }] }] }, [[[m({ notNamespaces: [{ prefix: 'kube-' }] })]]], undefined],
    ['serviceAccounts map with the policy namespace', { rules: [{ from: [{ source: { serviceAccounts: ['curl', 'x/y'], notServiceAccounts: ['bad'] } }] }] }, [[[m({ serviceAccounts: [{ namespace: 'app', serviceAccount: 'curl' }, { namespace: 'x', serviceAccount: 'y' }], notServiceAccounts: [{ namespace: 'app', serviceAccount: 'bad' }] })]]], undefined],
    ['ports and notPorts become destination ports', { rules: [{ to: [{ operation: { ports: ['8080'], notPorts: ['9090'] } }] }] }, [[[m({ destinationPorts: [8080], notDestinationPorts: [9090] })]]], undefined],
    ['when source.namespace maps to namespaces', { rules: [{ when: [{ key: 'source.namespace', values: ['a'], notValues: ['b'] }] }] }, [[[m({ namespaces: [{ exact: 'a' }], notNamespaces: [{ exact: 'b' }] })]]], undefined],
    ['when source.principal maps to principals', { rules: [{ when: [{ key: 'source.principal', values: ['spiffe://cluster.local/ns/a/sa/b'] }] }] }, [[[m({ principals: [{ exact: 'cluster.local/ns/a/sa/b' }] })]]], undefined],
    ['when destination.ip maps to destinationIps', { rules: [{ when: [{ key: 'destination.ip', notValues: ['10.0.1.0/24'] }] }] }, [[[m({ notDestinationIps: [{ address: '10.0.1.0', length: 24 }] })]]], undefined],
    ['when destination.port maps to destinationPorts', { rules: [{ when: [{ key: 'destination.port', values: ['80'] }] }] }, [[[m({ destinationPorts: [80] })]]], undefined],
    ['each when condition is a Match in the when clause', { rules: [{ when: [{ key: 'source.ip', values: ['10.0.0.1'] }, { key: 'destination.port', values: ['80'] }] }] }, [[[m({ sourceIps: [{ address: '10.0.0.1', length: 32 }] }), m({ destinationPorts: [80] })]]], undefined],
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
    ['a DENY rule keeps its L4 part', { action: 'DENY', rules: [{ to: [{ operation: { ports: ['80'], methods: ['POST'] } }] }] }, [[[m({ destinationPorts: [80] })]]], /more restrictive/],
    ['a DENY rule omits an L7-only dimension and keeps the rest', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['a'] } }], to: [{ operation: { paths: ['/admin'] } }] }] }, [[[m({ namespaces: [{ exact: 'a' }] })]]], /L4 remainder is denied/],
    ['a DENY rule drops an L7-only entry but keeps its L4 siblings', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['a'] } }, { source: { requestPrincipals: ['*'] } }] }] }, [[[m({ namespaces: [{ exact: 'a' }] })]]], /requestPrincipals/],
    ['a DENY rule drops a non-L4 when condition', { action: 'DENY', rules: [{ to: [{ operation: { ports: ['80'] } }], when: [{ key: 'request.auth.claims[iss]', values: ['x'] }] }] }, [[[m({ destinationPorts: [80] })]]], /request.auth.claims/],
    ['a DENY with only L7 has no effect', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }, [], /has no effect/],
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
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: waypoint-only, namespace: app}
spec: {targetRefs: [{kind: Service, group: "", name: web}], selector: {matchLabels: {app: web}}}
`;
  const r = run({ yaml, namespaces: [namespace('app')], pods: [pod('app', 'web-1', { labels: { app: 'web' } }), pod('app', 'db-1', { labels: { app: 'db' } })] });
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
      `kind: AuthorizationPolicy
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
      `kind: AuthorizationPolicy
metadata: {name: allow-get, namespace: app}
spec:
  rules: [{to: [{operation: {methods: [GET], ports: ["8080"]}}]}]`,
      [[8080, 'client/curl', false], [8080, undefined, false]],
    ],
    [
      'a DENY with ports and paths denies the whole port',
      `kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: app}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin"], ports: ["8080"]}}]}]`,
      [[8080, 'client/curl', false], [9000, 'client/curl', true]],
    ],
    [
      'a DENY with only paths has no effect',
      `kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: app}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin"]}}]}]`,
      [[8080, 'client/curl', true], [8080, undefined, true]],
    ],
    [
      'a global DENY of plaintext via notPrincipals "*" denies plaintext only',
      `kind: AuthorizationPolicy
metadata: {name: no-plaintext, namespace: istio-system}
spec:
  action: DENY
  rules: [{from: [{source: {notPrincipals: ["*"]}}]}]`,
      [[8080, undefined, false], [8080, 'client/curl', true]],
    ],
    [
      'a dry-run DENY is not enforced',
      `kind: AuthorizationPolicy
metadata: {name: dry, namespace: app, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, rules: [{}]}`,
      [[8080, 'client/curl', true]],
    ],
    [
      'an ipBlocks ALLOW matches by source address',
      `kind: AuthorizationPolicy
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
