// The per-snapshot policy index decides exactly as the full evaluation over every policy
// (spec §5.3): same decision, same deciding policy, same dry-run outcomes, same unknown keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyMatch, type Authorization, type AuthzScope, type Match, type Workload } from '../../src/mesh-api/types.js';
import { applicablePolicies, evaluate, type Connection } from '../../src/authz/evaluate.js';
import { PolicyIndex } from '../../src/authz/policy-index.js';

/** Deterministic PRNG (mulberry32), so a failure reproduces from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMESPACES = ['a', 'b', 'c', 'istio-system'];
const SAS = ['x', 'y', 'default'];
const PORTS = [80, 8080, 9090];

function generate(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const some = <T>(f: () => T, max: number): T[] => Array.from({ length: Math.floor(rand() * (max + 1)) }, f);
  const match = (): Match => {
    const m = emptyMatch();
    if (rand() < 0.4) m.namespaces = some(() => ({ exact: pick(NAMESPACES) }), 2);
    if (rand() < 0.2) m.notNamespaces = some(() => ({ prefix: pick(NAMESPACES) }), 1);
    if (rand() < 0.3) m.principals = some(() => ({ suffix: `/sa/${pick(SAS)}` }), 2);
    if (rand() < 0.2) m.notPrincipals = [{ presence: true }];
    if (rand() < 0.3) m.sourceIps = some(() => ({ address: `10.0.${Math.floor(rand() * 3)}.0`, length: 24 }), 2);
    if (rand() < 0.3) m.destinationPorts = some(() => pick(PORTS), 2);
    if (rand() < 0.2) m.notDestinationPorts = [pick(PORTS)];
    if (rand() < 0.2) m.serviceAccounts = [{ namespace: pick(NAMESPACES), serviceAccount: pick(SAS) }];
    return m;
  };
  const policies: Authorization[] = some(
    () => ({
      // A small name space makes duplicate keys (same ns/name twice) happen too.
      name: `p${Math.floor(rand() * 12)}`,
      namespace: pick(NAMESPACES),
      scope: pick<AuthzScope>(['GLOBAL', 'NAMESPACE', 'NAMESPACE', 'WORKLOAD_SELECTOR', 'WORKLOAD_SELECTOR']),
      action: rand() < 0.5 ? 'ALLOW' : 'DENY',
      dryRun: rand() < 0.2,
      rules: some(() => ({ clauses: some(() => ({ matches: some(match, 2) }), 2) }), 2),
    }),
    14,
  );
  const keys = some(() => (rand() < 0.8 && policies.length > 0 ? `${pick(policies).namespace}/${pick(policies).name}` : `${pick(NAMESPACES)}/missing`), 4);
  const dest: Pick<Workload, 'namespace' | 'authorizationPolicies'> = { namespace: pick(NAMESPACES), authorizationPolicies: keys };
  const c: Connection = {
    srcIp: `10.0.${Math.floor(rand() * 3)}.${1 + Math.floor(rand() * 9)}`,
    dstIp: '10.0.1.7',
    dstPort: pick(PORTS),
    ...(rand() < 0.7 ? { identity: { trustDomain: 'cluster.local', namespace: pick(NAMESPACES), serviceAccount: pick(SAS) } } : {}),
  };
  return { policies, dest, c };
}

describe('authz policy index', () => {
  it('decides as the full evaluation on 2000 randomized policy sets', () => {
    let denied = 0;
    let byPolicy = 0;
    let withDryRun = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const { policies, dest, c } = generate(prng(seed));
      const index = new PolicyIndex(policies);
      const full = evaluate(policies, dest, c);
      assert.deepEqual(index.evaluate(dest, c), full, `seed ${seed}`);
      const a = applicablePolicies(policies, dest);
      const b = index.applicable(dest);
      assert.deepEqual(b.unknownKeys, a.unknownKeys, `seed ${seed}`);
      assert.equal(b.policies.length, a.policies.length, `seed ${seed}`);
      b.policies.forEach((p, i) => assert.equal(p, a.policies[i], `seed ${seed}: the same policy objects in the same order`));
      if (!full.allowed) denied++;
      if (full.policy) byPolicy++;
      if (full.dryRun.length > 0) withDryRun++;
    }
    // The generator exercises every branch, not just "no policies".
    assert.ok(denied > 400 && byPolicy > 400 && withDryRun > 150, JSON.stringify({ denied, byPolicy, withDryRun }));
  });

  it('a namespace with no policies of its own sees only GLOBAL ones; an unknown key is reported', () => {
    const g: Authorization = { name: 'g', namespace: 'istio-system', scope: 'GLOBAL', action: 'DENY', dryRun: false, rules: [{ clauses: [] }] };
    const n: Authorization = { ...g, name: 'n', namespace: 'a', scope: 'NAMESPACE' };
    const s: Authorization = { ...g, name: 's', namespace: 'b', scope: 'WORKLOAD_SELECTOR' };
    const index = new PolicyIndex([n, g, s]);
    assert.deepEqual(index.applicable({ namespace: 'c', authorizationPolicies: ['b/s', 'b/nope'] }), { policies: [g, s], unknownKeys: ['b/nope'] });
    assert.deepEqual(index.applicable({ namespace: 'a', authorizationPolicies: [] }).policies, [n, g]);
    assert.equal(index.size, 3);
  });
});
