// The node tunnel's L4 decision (spec §5.3), table-driven: one row per rule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyMatch, type Authorization, type Match, type Rule } from '../../src/mesh-api/types.js';
import { evaluate, matchMatches, policyMatches, stringMatches, type Connection } from '../../src/authz/evaluate.js';
import { inCidr, parseIp } from '../../src/lib/ip.js';

const m = (fields: Partial<Match>): Match => ({ ...emptyMatch(), ...fields });
const rule = (...clauses: Match[][]): Rule => ({ clauses: clauses.map((matches) => ({ matches })) });
const pol = (name: string, o: Partial<Authorization> & { rules: Rule[] }): Authorization => ({ name, namespace: 'app', scope: 'NAMESPACE', action: 'ALLOW', dryRun: false, ...o });
const mtls: Connection = { srcIp: '10.0.2.5', dstIp: '10.0.1.7', dstPort: 8080, identity: { trustDomain: 'cluster.local', namespace: 'client', serviceAccount: 'curl' } };
const plain: Connection = { srcIp: '10.0.2.5', dstIp: '10.0.1.7', dstPort: 8080 };
const dest = { namespace: 'app', authorizationPolicies: [] as string[] };

describe('authz evaluate: string matches', () => {
  const rows: [string, Parameters<typeof stringMatches>[0], string, boolean][] = [
    ['exact hits the same value', { exact: 'a' }, 'a', true],
    ['exact misses another value', { exact: 'a' }, 'ab', false],
    ['prefix hits a longer value', { prefix: 'team-' }, 'team-x', true],
    ['suffix hits the ending', { suffix: '/sa/curl' }, 'cluster.local/ns/x/sa/curl', true],
    ['presence hits any non-empty value', { presence: true }, 'x', true],
    ['presence misses the empty value', { presence: true }, '', false],
  ];
  for (const [name, sm, v, want] of rows) it(name, () => assert.equal(stringMatches(sm, v), want));
});

describe('authz evaluate: addresses', () => {
  const rows: [string, string, string, number, boolean][] = [
    ['an IPv4 inside a /8 matches', '10.1.2.3', '10.0.0.0', 8, true],
    ['an IPv4 outside a /24 does not', '10.0.2.3', '10.0.1.0', 24, false],
    ['a /32 matches only itself', '10.0.1.7', '10.0.1.7', 32, true],
    ['an IPv6 inside a /64 matches', 'fd00::1:2', 'fd00::', 64, true],
    ['families never cross', '10.0.0.1', '::', 0, false],
    ['/0 matches every IPv4', '192.168.1.1', '0.0.0.0', 0, true],
  ];
  for (const [name, ip, net, len, want] of rows) it(name, () => assert.equal(inCidr(ip, net, len), want));
  it('malformed IPs do not parse', () => {
    for (const bad of ['1.2.3', '1.2.3.256', 'fd00::1::2', 'x']) assert.equal(parseIp(bad), undefined, bad);
    assert.equal(parseIp('::ffff:10.0.0.1')?.value, 0xffff0a000001n);
  });
});

describe('authz evaluate: matching (§5.3)', () => {
  const rows: [string, Authorization, Connection, boolean][] = [
    ['a policy with zero rules never matches', pol('p', { rules: [] }), mtls, false],
    ['a rule with no clauses matches everything', pol('p', { rules: [rule()] }), plain, true],
    ['a clause matches if any of its matches does', pol('p', { rules: [rule([m({ destinationPorts: [1] }), m({ destinationPorts: [8080] })])] }), mtls, true],
    ['a rule needs all of its clauses', pol('p', { rules: [rule([m({ destinationPorts: [8080] })], [m({ namespaces: [{ exact: 'other' }] })])] }), mtls, false],
    ['a policy matches if any rule does', pol('p', { rules: [rule([m({ destinationPorts: [1] })]), rule([m({ destinationPorts: [8080] })])] }), mtls, true],
    ['an empty Match is skipped, not a wildcard', pol('p', { rules: [rule([emptyMatch()])] }), mtls, false],
    // ztunnel rbac.rs: a clause with no Matches at all matches (only an empty Match is skipped).
    ['a clause with no Matches matches', pol('p', { rules: [{ clauses: [{ matches: [] }, { matches: [m({ destinationPorts: [8080] })] }] }] }), mtls, true],
    ['an empty-Match clause AND-ed with a matching one makes the rule a no-op', pol('p', { rules: [rule([m({ destinationPorts: [8080] })], [emptyMatch()])] }), mtls, false],
    ['an empty Match beside a matching one in the same clause is harmless', pol('p', { rules: [rule([emptyMatch(), m({ destinationPorts: [8080] })])] }), mtls, true],
    ['two when clauses are AND-ed: namespace hit, port miss', pol('p', { rules: [rule([m({ namespaces: [{ exact: 'client' }] })], [m({ destinationPorts: [9999] })])] }), mtls, false],
    ['two when clauses are AND-ed: both hit', pol('p', { rules: [rule([m({ namespaces: [{ exact: 'client' }] })], [m({ destinationPorts: [8080] })])] }), mtls, true],
    ['a principal sent with spiffe:// never matches', pol('p', { rules: [rule([m({ principals: [{ exact: 'spiffe://cluster.local/ns/client/sa/curl' }] })])] }), mtls, false],
    ['a notPrincipal sent with spiffe:// never excludes', pol('p', { rules: [rule([m({ notPrincipals: [{ exact: 'spiffe://cluster.local/ns/client/sa/curl' }] })])] }), mtls, true],
    ['types inside a Match are AND-ed', pol('p', { rules: [rule([m({ destinationPorts: [8080], namespaces: [{ exact: 'other' }] })])] }), mtls, false],
    ['a negative list with a hit fails the Match', pol('p', { rules: [rule([m({ notDestinationPorts: [8080] })])] }), mtls, false],
    ['a negative list without a hit passes', pol('p', { rules: [rule([m({ notDestinationPorts: [9090] })])] }), mtls, true],
    ['namespace comes from the peer identity', pol('p', { rules: [rule([m({ namespaces: [{ exact: 'client' }] })])] }), mtls, true],
    ['principal is the identity without spiffe://', pol('p', { rules: [rule([m({ principals: [{ exact: 'cluster.local/ns/client/sa/curl' }] })])] }), mtls, true],
    ['service accounts compare ns and sa', pol('p', { rules: [rule([m({ serviceAccounts: [{ namespace: 'client', serviceAccount: 'curl' }] })])] }), mtls, true],
    ['plaintext fails principal positives', pol('p', { rules: [rule([m({ principals: [{ presence: true }] })])] }), plain, false],
    ['plaintext fails namespace positives', pol('p', { rules: [rule([m({ namespaces: [{ presence: true }] })])] }), plain, false],
    ['plaintext fails service account positives', pol('p', { rules: [rule([m({ serviceAccounts: [{ namespace: 'client', serviceAccount: 'curl' }] })])] }), plain, false],
    ['plaintext matches notPrincipals presence', pol('p', { rules: [rule([m({ notPrincipals: [{ presence: true }] })])] }), plain, true],
    ['an identity fails notPrincipals presence', pol('p', { rules: [rule([m({ notPrincipals: [{ presence: true }] })])] }), mtls, false],
    ['source IP matches by CIDR', pol('p', { rules: [rule([m({ sourceIps: [{ address: '10.0.2.0', length: 24 }] })])] }), plain, true],
    ['destination IP matches by CIDR', pol('p', { rules: [rule([m({ notDestinationIps: [{ address: '10.0.1.7', length: 32 }] })])] }), plain, false],
  ];
  for (const [name, p, c, want] of rows) it(name, () => assert.equal(policyMatches(p, c), want));
  it('matchMatches checks one Match directly', () => assert.equal(matchMatches(m({ destinationPorts: [8080] }), plain), true));
});

describe('authz evaluate: decision (§5.3)', () => {
  const denyAll = pol('deny', { action: 'DENY', rules: [rule()] });
  const allowAll = pol('allow', { rules: [rule()] });
  const allowNothing = pol('allow-none', { rules: [] });
  const rows: [string, Authorization[], typeof dest, boolean, string][] = [
    ['no policy at all allows', [], dest, true, 'no allow policies'],
    ['a matching DENY denies', [denyAll, allowAll], dest, false, 'denied by policy'],
    ['DENY is checked before ALLOW', [allowAll, denyAll], dest, false, 'denied by policy'],
    ['only DENY that does not match allows', [pol('d', { action: 'DENY', rules: [] })], dest, true, 'no allow policies'],
    ['a matching ALLOW allows', [allowAll], dest, true, 'allowed by policy'],
    ['an ALLOW that matches nothing denies', [allowNothing], dest, false, 'allow policies exist, but none allowed'],
    ['a NAMESPACE policy in another namespace does not apply', [{ ...denyAll, namespace: 'other' }], dest, true, 'no allow policies'],
    ['a GLOBAL policy applies in every namespace', [{ ...denyAll, namespace: 'istio-system', scope: 'GLOBAL' }], dest, false, 'denied by policy'],
    ['a selector policy applies only when the workload lists it', [{ ...denyAll, scope: 'WORKLOAD_SELECTOR' }], dest, true, 'no allow policies'],
    ['a listed selector policy applies', [{ ...denyAll, scope: 'WORKLOAD_SELECTOR' }], { namespace: 'app', authorizationPolicies: ['app/deny'] }, false, 'denied by policy'],
    ['a dry-run DENY is only recorded', [{ ...denyAll, dryRun: true }], dest, true, 'no allow policies'],
    ['a dry-run ALLOW does not count as an ALLOW', [{ ...allowNothing, dryRun: true }], dest, true, 'no allow policies'],
  ];
  for (const [name, pols, d, allowed, reason] of rows) {
    it(name, () => {
      const r = evaluate(pols, d, plain);
      assert.equal(r.allowed, allowed);
      assert.equal(r.reason, reason);
    });
  }
  it('reports dry-run outcomes and unknown keys', () => {
    const r = evaluate([{ ...denyAll, dryRun: true }], { namespace: 'app', authorizationPolicies: ['app/missing'] }, plain);
    assert.deepEqual(r.dryRun, [{ policy: 'app/deny', action: 'DENY', decision: 'deny', message: 'dry-run: deny policy match' }]);
    assert.deepEqual(r.unknownKeys, ['app/missing']);
  });
});

// ztunnel state.rs assert_rbac: dry-run DENYs are checked before enforced DENYs (and reported even
// when one of those then denies); dry-run ALLOWs only after no enforced DENY matched; "no allow
// policies match" only when no enforced ALLOW exists. Nothing dry-run changes the decision.
describe('authz evaluate: dry-run outcomes (§5.3 step 2)', () => {
  const dry = (p: Authorization): Authorization => ({ ...p, dryRun: true });
  const denyAll = pol('deny', { action: 'DENY', rules: [rule()] });
  const dryDeny = dry(pol('dry-deny', { action: 'DENY', rules: [rule()] }));
  const dryDenyMiss = dry(pol('dry-deny-miss', { action: 'DENY', rules: [rule([m({ destinationPorts: [1] })])] }));
  const dryAllow = dry(pol('dry-allow', { rules: [rule()] }));
  const dryAllowMiss = dry(pol('dry-allow-miss', { rules: [rule([m({ destinationPorts: [1] })])] }));
  const allowAll = pol('allow', { rules: [rule()] });
  const rows: [string, Authorization[], boolean, [string, 'allow' | 'deny', string][]][] = [
    ['a matching dry-run DENY would deny; the connection is allowed', [dryDeny], true, [['app/dry-deny', 'deny', 'dry-run: deny policy match']]],
    ['a dry-run DENY that does not match reports nothing', [dryDenyMiss], true, []],
    ['a dry-run DENY is reported even when an enforced DENY denies', [dryDeny, denyAll], false, [['app/dry-deny', 'deny', 'dry-run: deny policy match']]],
    ['dry-run ALLOWs are not checked once an enforced DENY matched', [dryAllow, denyAll], false, []],
    ['a matching dry-run ALLOW would allow', [dryAllow], true, [['app/dry-allow', 'allow', 'dry-run: allow policy match']]],
    ['dry-run ALLOWs that all miss, with no enforced ALLOW, would deny', [dryAllowMiss], true, [['app/dry-allow-miss', 'deny', 'dry-run: no allow policies match']]],
    ['one matching dry-run ALLOW is enough: the missing one is not reported', [dryAllowMiss, dryAllow], true, [['app/dry-allow', 'allow', 'dry-run: allow policy match']]],
    ['with an enforced ALLOW, a missing dry-run ALLOW changes nothing and is not reported', [dryAllowMiss, allowAll], true, []],
  ];
  for (const [name, pols, allowed, want] of rows) {
    it(name, () => {
      const r = evaluate(pols, dest, mtls);
      assert.equal(r.allowed, allowed);
      assert.deepEqual(r.dryRun.map((o) => [o.policy, o.decision, o.message]), want);
    });
  }
});
