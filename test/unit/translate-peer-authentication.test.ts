// PeerAuthentication → DENY Authorizations (spec §5.4), checked against istiod's own rules: a
// full mode matrix decided by the real evaluator and compared with an independent oracle, cases
// lifted from istiod's tests, and the exact objects istiod emits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyMatch, type Authorization, type Match } from '../../src/mesh-api/types.js';
import { evaluate } from '../../src/authz/evaluate.js';
import type { MtlsMode, PeerAuthenticationInput } from '../../src/control-plane/translate/inputs.js';
import { staticStrictPolicy } from '../../src/control-plane/translate/peer-authentication.js';
import { translate } from '../../src/control-plane/translate/snapshot.js';
import { decide, namespace, pod, run, workloadNamed } from './support/translate-fixtures.js';

const ROOT = 'istio-system';
const STRICT_KEY = `${ROOT}/istio_converted_static_strict`;
const m = (f: Partial<Match>): Match => ({ ...emptyMatch(), ...f });
const NO_PEER = m({ notPrincipals: [{ presence: true }] });

const pa = (ns: string, name: string, spec: string, created = '2024-01-01T00:00:00Z'): string => `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ${name}, namespace: ${ns}, creationTimestamp: "${created}"}
spec: ${spec}
`;
const world = (yaml: string, labels: Record<string, string> = { app: 'a' }, ns = 'foo') =>
  run({ yaml, namespaces: [namespace(ns, { 'istio.io/dataplane-mode': 'ambient' })], pods: [pod(ns, 'web-1', { labels })] });
const listed = (yaml: string, labels?: Record<string, string>, ns?: string): string[] => workloadNamed(world(yaml, labels, ns), 'web-1').authorizationPolicies;
const converted = (yaml: string): Authorization[] => world(yaml).snapshot.authorizations.filter((a) => a.name.startsWith('converted_peer_authentication_'));

// --- The oracle --------------------------------------------------------------------------------
// Written from istiod's source (istio/istio 86c9f01fd73, pilot/pkg/serviceregistry/ambient/), not from
// our translator. A level is undefined when no PeerAuthentication exists there.
//  authorization.go L113-122  inherited strictness: mesh STRICT, overridden by a namespace PA whose mode is not UNSET.
//  authorization.go L124-136  no workload PA → inherited; workload STRICT → strict, PERMISSIVE/DISABLE → not, UNSET → inherited.
//  authorization.go L138-217  which key the workload lists: STRICT + a PERMISSIVE/DISABLE port, PERMISSIVE/DISABLE + a
//                             STRICT port, UNSET under inherited STRICT + a PERMISSIVE port (DISABLE does not count),
//                             UNSET otherwise + a STRICT port → the converted policy (and never the static one too).
//  authorization.go L276-306  a STRICT port gets its own deny group unless: workload STRICT, or workload UNSET and the
//                             namespace PA STRICT, or (namespace PA absent/UNSET and mesh PA STRICT) — the last for any mode.
//  authorization.go L307-339  a PERMISSIVE/DISABLE port is exempted only under workload STRICT, or workload UNSET with a
//                             STRICT namespace PA, or no namespace PA and a STRICT mesh PA.
//  authorization.go L341-372  the exemptions share one group with "no peer"; no exemptions under STRICT → no policy.
//  A listed key with no policy behind it is skipped by the tunnel (ztunnel looks policies up by key).
type Level = MtlsMode | undefined;
function oracle(mesh: Level, ns: Level, wl: Level, ports: Record<number, MtlsMode>): (port: number) => boolean {
  const inherited = ns !== undefined && ns !== 'UNSET' ? ns === 'STRICT' : mesh === 'STRICT';
  if (wl === undefined) return () => !inherited;
  const entries = Object.entries(ports).map(([p, mode]) => ({ port: Number(p), mode }));
  const any = (...modes: MtlsMode[]): boolean => entries.some((e) => modes.includes(e.mode));
  const own = wl === 'STRICT' || (wl === 'UNSET' && inherited);
  const listsConverted =
    (wl === 'STRICT' && any('PERMISSIVE', 'DISABLE')) ||
    ((wl === 'PERMISSIVE' || wl === 'DISABLE') && any('STRICT')) ||
    (wl === 'UNSET' && inherited && any('PERMISSIVE')) ||
    (wl === 'UNSET' && !inherited && any('STRICT'));
  if (!listsConverted) return () => !own;
  const parentStrict = wl === 'STRICT' || (wl === 'UNSET' && ns === 'STRICT') || ((ns === undefined || ns === 'UNSET') && mesh === 'STRICT');
  const strictPorts = parentStrict ? [] : entries.filter((e) => e.mode === 'STRICT').map((e) => e.port);
  const exempting = wl === 'STRICT' || (wl === 'UNSET' && (ns === 'STRICT' || (ns === undefined && mesh === 'STRICT')));
  const exempt = exempting ? entries.filter((e) => e.mode === 'PERMISSIVE' || e.mode === 'DISABLE').map((e) => e.port) : [];
  return (port) => !(strictPorts.includes(port) || (exempt.length > 0 && !exempt.includes(port)));
}

// --- The matrix ---------------------------------------------------------------------------------
const LEVELS: Level[] = [undefined, 'UNSET', 'PERMISSIVE', 'STRICT', 'DISABLE'];
const show = (l: Level): string => l ?? 'absent';
const paObj = (ns: string, name: string, mode: Level, extra: PeerAuthenticationInput['spec'] = {}, created = '2024-01-01T00:00:00Z'): PeerAuthenticationInput => ({
  metadata: { name, namespace: ns, creationTimestamp: created },
  // UNSET spelled three ways, as users write it: explicit, an empty mtls, and no mtls at all.
  spec: { ...extra, ...(mode === 'UNSET' ? (ns === ROOT ? { mtls: { mode: 'UNSET' } } : extra.selector ? { mtls: {} } : {}) : { mtls: { mode } }) },
});

describe('translate peer authentication: mesh × namespace × workload × port modes, plaintext decided by the evaluator, as istiod decides', () => {
  const web = pod('foo', 'web-1', { labels: { app: 'a' } });
  for (const mesh of LEVELS) {
    for (const ns of LEVELS) {
      it(`mesh ${show(mesh)}, namespace ${show(ns)}: every workload mode and pair of port modes`, () => {
        let checked = 0;
        for (const wl of LEVELS) {
          for (const p1 of wl === undefined ? [undefined] : LEVELS) {
            for (const p2 of wl === undefined ? [undefined] : LEVELS) {
              const ports: Record<number, MtlsMode> = {};
              if (p1) ports[9000] = p1;
              if (p2) ports[9001] = p2;
              const pas: PeerAuthenticationInput[] = [];
              if (mesh) pas.push(paObj(ROOT, 'mesh', mesh));
              if (ns) pas.push(paObj('foo', 'ns', ns));
              const portLevelMtls = Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, { mode: v }]));
              if (wl) pas.push(paObj('foo', 'wl', wl, { selector: { matchLabels: { app: 'a' } }, ...(p1 || p2 ? { portLevelMtls } : {}) }));
              const r = translate({ pods: [web], namespaces: [namespace('foo', { 'istio.io/dataplane-mode': 'ambient' })], services: [], peerAuthentications: pas, clusterId: 'Kubernetes' });
              const dest = workloadNamed(r, 'web-1');
              const want = oracle(mesh, ns, wl, ports);
              const label = `mesh ${show(mesh)} ns ${show(ns)} workload ${show(wl)} port9000 ${show(p1)} port9001 ${show(p2)}`;
              for (const port of [9000, 9001, 8080]) {
                const got = evaluate(r.snapshot.authorizations, dest, { srcIp: '10.0.2.5', dstIp: dest.addresses[0] ?? '', dstPort: port }).allowed;
                assert.equal(got, want(port), `${label}: plaintext to ${port} ${want(port) ? 'allowed' : 'denied'} by istiod`);
              }
              const mtls = evaluate(r.snapshot.authorizations, dest, { srcIp: '10.0.2.5', dstIp: dest.addresses[0] ?? '', dstPort: 9000, identity: { trustDomain: 'cluster.local', namespace: 'x', serviceAccount: 'y' } });
              assert.equal(mtls.allowed, true, `${label}: mTLS is never denied by PeerAuthentication`);
              checked++;
            }
          }
        }
        assert.equal(checked, 1 + 4 * 25);
      });
    }
  }
});

// --- Literal cases from istiod's own tests -------------------------------------------------------
describe('translate peer authentication: what workloads list, from istiod TestAmbientIndex_Policy', () => {
  const sel = (spec: string): string => pa('foo', 'selector', `{selector: {matchLabels: {app: a}}, ${spec}}`, '2024-01-02T00:00:00Z');
  const rows: [string, string, string[], Record<string, string>?][] = [
    ['mesh PERMISSIVE + namespace STRICT → static strict', pa(ROOT, 'global', '{mtls: {mode: PERMISSIVE}}') + pa('foo', 'namespace', '{mtls: {mode: STRICT}}'), [STRICT_KEY]],
    ['... + workload STRICT → still static strict', pa('foo', 'namespace', '{mtls: {mode: STRICT}}') + sel('mtls: {mode: STRICT}'), [STRICT_KEY]],
    ['... workload PERMISSIVE → nothing', pa('foo', 'namespace', '{mtls: {mode: STRICT}}') + sel('mtls: {mode: PERMISSIVE}'), []],
    ['... workload PERMISSIVE with a STRICT port → the converted policy', pa('foo', 'namespace', '{mtls: {mode: STRICT}}') + sel('mtls: {mode: PERMISSIVE}, portLevelMtls: {"9090": {mode: STRICT}}'), ['foo/converted_peer_authentication_selector']],
    ['... a pod the selector misses → static strict', pa('foo', 'namespace', '{mtls: {mode: STRICT}}') + sel('mtls: {mode: PERMISSIVE}, portLevelMtls: {"9090": {mode: STRICT}}'), [STRICT_KEY], { app: 'not-a' }],
    [
      '... a STRICT selector PA in the root namespace changes nothing',
      pa('foo', 'namespace', '{mtls: {mode: STRICT}}') + sel('mtls: {mode: PERMISSIVE}, portLevelMtls: {"9090": {mode: STRICT}}') + pa(ROOT, 'global-selector', '{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}}'),
      ['foo/converted_peer_authentication_selector'],
    ],
    ['... workload PERMISSIVE with a PERMISSIVE port → nothing', pa('foo', 'namespace', '{mtls: {mode: STRICT}}') + sel('mtls: {mode: PERMISSIVE}, portLevelMtls: {"9090": {mode: PERMISSIVE}}'), []],
    ['namespace PERMISSIVE + workload STRICT → static strict', pa('foo', 'namespace', '{mtls: {mode: PERMISSIVE}}') + sel('mtls: {mode: STRICT}'), [STRICT_KEY]],
    ['... workload STRICT with a PERMISSIVE port → the converted policy', pa('foo', 'namespace', '{mtls: {mode: PERMISSIVE}}') + sel('mtls: {mode: STRICT}, portLevelMtls: {"9090": {mode: PERMISSIVE}}'), ['foo/converted_peer_authentication_selector']],
    ['... workload UNSET with a STRICT port → the converted policy', pa('foo', 'namespace', '{mtls: {mode: PERMISSIVE}}') + sel('portLevelMtls: {"9090": {mode: STRICT}}'), ['foo/converted_peer_authentication_selector']],
    ['namespace STRICT + workload UNSET with a STRICT port → static strict', pa('foo', 'namespace', '{mtls: {mode: STRICT}}') + sel('portLevelMtls: {"9090": {mode: STRICT}}'), [STRICT_KEY]],
    ['namespace STRICT + workload UNSET with a PERMISSIVE port → the converted policy only', pa('foo', 'namespace', '{mtls: {mode: STRICT}}') + sel('portLevelMtls: {"9090": {mode: PERMISSIVE}}'), ['foo/converted_peer_authentication_selector']],
    ['mesh STRICT + workload DISABLE → nothing', pa(ROOT, 'strict', '{mtls: {mode: STRICT}}') + sel('mtls: {mode: DISABLE}'), []],
  ];
  for (const [name, yaml, keys, labels] of rows) it(name, () => assert.deepEqual(listed(yaml, labels), keys));

  it('AuthorizationPolicy keys come first (sorted), then PeerAuthentication keys', () => {
    const ap = `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: selector, namespace: foo}
spec: {selector: {matchLabels: {app: a}}}
`;
    assert.deepEqual(listed(ap + pa(ROOT, 'strict', '{mtls: {mode: STRICT}}')), ['foo/selector', STRICT_KEY]);
  });

  it('TestAmbientIndex_PeerAuthenticationNamespacePolicyChange: relaxing the namespace removes both the key and the policy', () => {
    const wl = pa('foo', 'selector', '{selector: {matchLabels: {app: a}}, portLevelMtls: {"9090": {mode: PERMISSIVE}}}');
    const strict = world(pa('foo', 'namespace', '{mtls: {mode: STRICT}}') + wl);
    assert.deepEqual(workloadNamed(strict, 'web-1').authorizationPolicies, ['foo/converted_peer_authentication_selector']);
    assert.ok(strict.snapshot.authorizations.some((a) => a.name === 'converted_peer_authentication_selector'));
    const relaxed = world(pa('foo', 'namespace', '{mtls: {mode: PERMISSIVE}}') + wl);
    assert.deepEqual(workloadNamed(relaxed, 'web-1').authorizationPolicies, []);
    assert.ok(!relaxed.snapshot.authorizations.some((a) => a.name === 'converted_peer_authentication_selector'));
  });
});

// --- Exact objects, from istiod's testdata goldens (TestRBACConvert) -------------------------------
describe('translate peer authentication: converted policies exactly as istiod emits them (testdata/peer-authn-*)', () => {
  const conv = (name: string, rules: Match[][][]): Authorization => ({
    name: `converted_peer_authentication_${name}`,
    namespace: 'foo',
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules: rules.map((clauses) => ({ clauses: clauses.map((matches) => ({ matches })) })),
    dryRun: false,
  });
  const strictPort = (p: number): Match[][] => [[m({ notPrincipals: [{ presence: true }], destinationPorts: [p] })]];
  const except = (p: number): Match[] => [m({ notDestinationPorts: [p] })];
  const wl = (name: string, spec: string): string => pa('foo', name, `{selector: {matchLabels: {app: a}}, ${spec}}`);
  const rows: [string, string, Authorization[]][] = [
    ['strict-and-permissive-port-mtls', wl('s', 'mtls: {mode: STRICT}, portLevelMtls: {"9090": {mode: PERMISSIVE}}'), [conv('s', [[[NO_PEER], except(9090)]])]],
    ['strict-and-disable-port-mtls', wl('s', 'mtls: {mode: STRICT}, portLevelMtls: {"9090": {mode: DISABLE}}'), [conv('s', [[[NO_PEER], except(9090)]])]],
    ['strict-port-mtls-strict-and-permissive', wl('s', 'mtls: {mode: STRICT}, portLevelMtls: {"9090": {mode: STRICT}, "8080": {mode: PERMISSIVE}}'), [conv('s', [[[NO_PEER], except(8080)]])]],
    ['strict-and-strict-port-mtls (nothing)', wl('s', 'mtls: {mode: STRICT}, portLevelMtls: {"8080": {mode: STRICT}}'), []],
    ['permissive-port-mtls-strict', wl('p', 'mtls: {mode: PERMISSIVE}, portLevelMtls: {"9090": {mode: STRICT}}'), [conv('p', [strictPort(9090)])]],
    ['permissive-port-mtls-strict-and-permissive', wl('p', 'mtls: {mode: PERMISSIVE}, portLevelMtls: {"9090": {mode: STRICT}, "8080": {mode: PERMISSIVE}}'), [conv('p', [strictPort(9090)])]],
    ['disable-port-mtls-strict', wl('d', 'mtls: {mode: DISABLE}, portLevelMtls: {"9090": {mode: STRICT}}'), [conv('d', [strictPort(9090)])]],
    ['unset-port-mtls-strict', wl('u', 'mtls: {mode: UNSET}, portLevelMtls: {"8080": {mode: STRICT}}'), [conv('u', [strictPort(8080)])]],
    [
      'permissive-root-permissive-namespace-strict-workload-ports (one group per port, ports in order)',
      pa(ROOT, 'default-mesh', '{mtls: {mode: PERMISSIVE}}') + pa('foo', 'default-foo', '{mtls: {mode: PERMISSIVE}}') + wl('workload', 'portLevelMtls: {"9090": {mode: STRICT}, "8080": {mode: STRICT}}'),
      [conv('workload', [strictPort(8080), strictPort(9090)])],
    ],
    ['permissive-root-permissive-workload (nothing)', pa(ROOT, 'default-mesh', '{mtls: {mode: PERMISSIVE}}') + wl('workload', 'portLevelMtls: {"9090": {mode: PERMISSIVE}}'), []],
    [
      'permissive-root-strict-namespace-permissive-workload (strictness merged last)',
      pa(ROOT, 'default-mesh', '{mtls: {mode: PERMISSIVE}}') + pa('foo', 'default-foo', '{mtls: {mode: STRICT}}') + wl('workload', 'portLevelMtls: {"9090": {mode: PERMISSIVE}}'),
      [conv('workload', [[except(9090), [NO_PEER]]])],
    ],
    [
      'permissive-root-unset-namespace-mixed-workload-ports',
      pa(ROOT, 'default-mesh', '{mtls: {mode: PERMISSIVE}}') + pa('foo', 'default-foo', '{mtls: {mode: UNSET}}') + wl('workload', 'portLevelMtls: {"9090": {mode: STRICT}, "8080": {mode: PERMISSIVE}}'),
      [conv('workload', [strictPort(9090)])],
    ],
    [
      'strict-root-permissive-namespace-strict-workload',
      pa(ROOT, 'default-mesh', '{mtls: {mode: STRICT}}') + pa('foo', 'default-foo', '{mtls: {mode: PERMISSIVE}}') + wl('workload', 'portLevelMtls: {"9090": {mode: STRICT}}'),
      [conv('workload', [strictPort(9090)])],
    ],
    ['strict-root-permissive-workload', pa(ROOT, 'default-mesh', '{mtls: {mode: STRICT}}') + wl('workload', 'portLevelMtls: {"9090": {mode: PERMISSIVE}}'), [conv('workload', [[except(9090), [NO_PEER]]])]],
    [
      'strict-root-unset-workload-port-mtls-strict-and-permissive',
      pa(ROOT, 'default-mesh', '{mtls: {mode: STRICT}}') + wl('workload', 'portLevelMtls: {"9090": {mode: PERMISSIVE}, "8080": {mode: STRICT}}'),
      [conv('workload', [[except(9090), [NO_PEER]]])],
    ],
    ['strict-workload, no port levels (nothing)', wl('s', 'mtls: {mode: STRICT}'), []],
  ];
  for (const [name, yaml, want] of rows) it(name, () => assert.deepEqual(converted(yaml), want));

  it('the static strict policy: WORKLOAD_SELECTOR DENY, one rule, notPrincipals presence', () => {
    assert.deepEqual(staticStrictPolicy(ROOT), { name: 'istio_converted_static_strict', namespace: ROOT, scope: 'WORKLOAD_SELECTOR', action: 'DENY', rules: [{ clauses: [{ matches: [NO_PEER] }] }], dryRun: false });
  });
  it('the static strict policy is sent whenever any PeerAuthentication exists (istiod DefaultPolicy), and not otherwise', () => {
    assert.ok(world(pa('foo', 'ns', '{mtls: {mode: PERMISSIVE}}')).snapshot.authorizations.some((a) => `${a.namespace}/${a.name}` === STRICT_KEY));
    assert.ok(!world('').snapshot.authorizations.some((a) => `${a.namespace}/${a.name}` === STRICT_KEY));
  });
});

// --- Inheritance and selection edges -------------------------------------------------------------
describe('translate peer authentication: which PeerAuthentication applies', () => {
  it('of two selector PAs selecting one workload, the oldest decides what it lists', () => {
    const older = pa('foo', 'z-old', '{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}}', '2024-01-01T00:00:00Z');
    const newer = pa('foo', 'a-new', '{selector: {matchLabels: {app: a}}, mtls: {mode: PERMISSIVE}, portLevelMtls: {"8080": {mode: STRICT}}}', '2024-02-01T00:00:00Z');
    const r = world(older + newer);
    assert.deepEqual(workloadNamed(r, 'web-1').authorizationPolicies, [STRICT_KEY]);
    // istiod still emits the newer PA's converted policy; nothing lists it.
    assert.ok(r.snapshot.authorizations.some((a) => a.name === 'converted_peer_authentication_a-new'));
    assert.equal(decide(r, 'web-1', 9000).allowed, false);
  });
  it('of two namespace PAs the oldest wins', () => {
    assert.deepEqual(listed(pa('foo', 'b-new', '{mtls: {mode: PERMISSIVE}}', '2024-02-01T00:00:00Z') + pa('foo', 'a-old', '{mtls: {mode: STRICT}}')), [STRICT_KEY]);
  });
  it('a selector with no labels counts as namespace-wide', () => {
    assert.deepEqual(listed(pa('foo', 'ns', '{selector: {}, mtls: {mode: STRICT}}')), [STRICT_KEY]);
  });
  it('another namespace\'s STRICT does not apply', () => assert.deepEqual(listed(pa('other', 'ns', '{mtls: {mode: STRICT}}')), []));
  it('a workload in the root namespace takes the mesh PA; root selector PAs never apply', () => {
    assert.deepEqual(listed(pa(ROOT, 'mesh', '{mtls: {mode: STRICT}}'), { app: 'a' }, ROOT), [STRICT_KEY]);
    assert.deepEqual(listed(pa(ROOT, 'sel', '{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}}'), { app: 'a' }, ROOT), []);
  });
  it('a selector PA in the root namespace is ignored, with a diagnostic', () => {
    const r = world(pa(ROOT, 'sel', '{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}, portLevelMtls: {"9000": {mode: PERMISSIVE}}}'));
    assert.deepEqual(workloadNamed(r, 'web-1').authorizationPolicies, []);
    assert.match(r.diagnostics.map((d) => d.message).join('\n'), /portLevelMtls only applies to workload-selector policies/);
  });
  it('mesh- and namespace-level portLevelMtls are ignored, with a diagnostic', () => {
    // The schema refuses portLevelMtls without a selector; translation must still ignore it safely.
    const created = '2024-01-01T00:00:00Z';
    const peerAuthentications: PeerAuthenticationInput[] = [
      { metadata: { name: 'mesh', namespace: ROOT, creationTimestamp: created }, spec: { mtls: { mode: 'STRICT' }, portLevelMtls: { '9000': { mode: 'PERMISSIVE' } } } },
      { metadata: { name: 'ns', namespace: 'foo', creationTimestamp: created }, spec: { mtls: { mode: 'UNSET' }, portLevelMtls: { '8080': { mode: 'STRICT' } } } },
    ];
    const r = run({ unvalidated: { peerAuthentications }, namespaces: [namespace('foo', { 'istio.io/dataplane-mode': 'ambient' })], pods: [pod('foo', 'web-1', { labels: { app: 'a' } })] });
    assert.deepEqual(workloadNamed(r, 'web-1').authorizationPolicies, [STRICT_KEY]);
    assert.equal(decide(r, 'web-1', 9000).allowed, false);
    assert.equal(r.diagnostics.filter((d) => /portLevelMtls only applies/.test(d.message)).length, 2);
  });
});

describe('translate peer authentication: where istiod is surprising (reproduced, with a diagnostic)', () => {
  it('a DISABLE port under an inherited STRICT stays STRICT', () => {
    const r = world(pa('foo', 'ns', '{mtls: {mode: STRICT}}') + pa('foo', 'wl', '{selector: {matchLabels: {app: a}}, portLevelMtls: {"9000": {mode: DISABLE}}}'));
    assert.deepEqual(workloadNamed(r, 'web-1').authorizationPolicies, [STRICT_KEY]);
    assert.equal(decide(r, 'web-1', 9000).allowed, false);
    assert.match(r.diagnostics.map((d) => d.message).join('\n'), /DISABLE on port 9000 under an inherited STRICT mode does not exempt it/);
  });
  it('...but beside a PERMISSIVE port, the DISABLE port is exempted too', () => {
    const r = world(pa('foo', 'ns', '{mtls: {mode: STRICT}}') + pa('foo', 'wl', '{selector: {matchLabels: {app: a}}, portLevelMtls: {"9000": {mode: DISABLE}, "9001": {mode: PERMISSIVE}}}'));
    assert.deepEqual([9000, 9001, 8080].map((p) => decide(r, 'web-1', p).allowed), [true, true, false]);
  });
  it('mesh STRICT, namespace UNSET, a PERMISSIVE port: the workload lists a policy istiod never emits, so every port accepts plaintext', () => {
    const r = world(pa(ROOT, 'mesh', '{mtls: {mode: STRICT}}') + pa('foo', 'ns', '{mtls: {mode: UNSET}}') + pa('foo', 'wl', '{selector: {matchLabels: {app: a}}, portLevelMtls: {"9000": {mode: PERMISSIVE}}}'));
    assert.deepEqual(workloadNamed(r, 'web-1').authorizationPolicies, ['foo/converted_peer_authentication_wl']);
    assert.equal(decide(r, 'web-1', 8080).allowed, true);
    assert.match(r.diagnostics.map((d) => d.message).join('\n'), /list foo\/converted_peer_authentication_wl, which istiod does not emit/);
  });
  it('mesh STRICT, workload PERMISSIVE with a STRICT port: that port accepts plaintext', () => {
    const r = world(pa(ROOT, 'mesh', '{mtls: {mode: STRICT}}') + pa('foo', 'wl', '{selector: {matchLabels: {app: a}}, mtls: {mode: PERMISSIVE}, portLevelMtls: {"9000": {mode: STRICT}}}'));
    assert.equal(decide(r, 'web-1', 9000).allowed, true);
    assert.match(r.diagnostics.map((d) => d.message).join('\n'), /which istiod does not emit/);
  });
});
