// PeerAuthentication → DENY Authorizations (spec §5.4), table-driven, with end-to-end decisions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyMatch } from '../../src/api/types.js';
import { staticStrictPolicy } from '../../src/control/translate/peer-authentication.js';
import { decide, namespace, pod, run, workloadNamed } from './support/translate-fixtures.js';

const pa = (ns: string, name: string, spec: string, created = '2024-01-01T00:00:00Z'): string => `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ${name}, namespace: ${ns}, creationTimestamp: "${created}"}
spec: ${spec}
`;
const STRICT_KEY = 'istio-system/istio_converted_static_strict';

describe('translate peer authentication: the static strict policy', () => {
  it('is WORKLOAD_SELECTOR DENY with one rule matching notPrincipals presence', () => {
    assert.deepEqual(staticStrictPolicy('istio-system'), {
      name: 'istio_converted_static_strict',
      namespace: 'istio-system',
      scope: 'WORKLOAD_SELECTOR',
      action: 'DENY',
      rules: [{ clauses: [{ matches: [{ ...emptyMatch(), notPrincipals: [{ presence: true }] }] }] }],
      dryRun: false,
    });
  });
  it('is always in the snapshot', () => assert.ok(run({}).snapshot.authorizations.some((a) => `${a.namespace}/${a.name}` === STRICT_KEY)));
});

describe('translate peer authentication: effective mode (§5.4)', () => {
  const web = { labels: { app: 'web' } };
  const rows: [string, string, string[]][] = [
    ['no PeerAuthentication lists nothing (PERMISSIVE default)', '', []],
    ['STRICT namespace lists the static strict policy', pa('app', 'ns', '{mtls: {mode: STRICT}}'), [STRICT_KEY]],
    ['STRICT mesh-wide (istio-system, no selector) lists the static strict policy', pa('istio-system', 'mesh', '{mtls: {mode: STRICT}}'), [STRICT_KEY]],
    ['STRICT on the workload selector lists the static strict policy', pa('app', 'wl', '{selector: {matchLabels: {app: web}}, mtls: {mode: STRICT}}'), [STRICT_KEY]],
    ['PERMISSIVE lists nothing', pa('app', 'ns', '{mtls: {mode: PERMISSIVE}}'), []],
    ['DISABLE is ignored', pa('app', 'ns', '{mtls: {mode: DISABLE}}'), []],
    ['a namespace PA overrides the mesh PA', pa('istio-system', 'mesh', '{mtls: {mode: STRICT}}') + pa('app', 'ns', '{mtls: {mode: PERMISSIVE}}'), []],
    ['a workload PA overrides the namespace PA', pa('app', 'ns', '{mtls: {mode: STRICT}}') + pa('app', 'wl', '{selector: {matchLabels: {app: web}}, mtls: {mode: PERMISSIVE}}'), []],
    ['UNSET on the namespace inherits the mesh mode', pa('istio-system', 'mesh', '{mtls: {mode: STRICT}}') + pa('app', 'ns', '{mtls: {mode: UNSET}}'), [STRICT_KEY]],
    ['UNSET on the workload inherits the namespace mode', pa('app', 'ns', '{mtls: {mode: STRICT}}') + pa('app', 'wl', '{selector: {matchLabels: {app: web}}}'), [STRICT_KEY]],
    ['a workload PA that does not select the pod does not apply', pa('app', 'wl', '{selector: {matchLabels: {app: db}}, mtls: {mode: STRICT}}'), []],
    ['another namespace\'s STRICT does not apply', pa('other', 'ns', '{mtls: {mode: STRICT}}'), []],
    ['of two namespace PAs the oldest wins', pa('app', 'b-new', '{mtls: {mode: PERMISSIVE}}', '2024-02-01T00:00:00Z') + pa('app', 'a-old', '{mtls: {mode: STRICT}}', '2024-01-01T00:00:00Z'), [STRICT_KEY]],
  ];
  for (const [name, yaml, keys] of rows) {
    it(name, () => assert.deepEqual(workloadNamed(run({ yaml, namespaces: [namespace('app')], pods: [pod('app', 'web-1', web)] }), 'web-1').authorizationPolicies, keys));
  }
});

describe('translate peer authentication: port-level mTLS (§5.4)', () => {
  const sel = '{matchLabels: {app: web}}';
  const rows: [string, string, string[], object | undefined, RegExp | undefined][] = [
    [
      'port-level PERMISSIVE under STRICT becomes notDestinationPorts',
      pa('app', 'wl', `{selector: ${sel}, mtls: {mode: STRICT}, portLevelMtls: {"9000": {mode: PERMISSIVE}}}`),
      ['app/converted_peer_authentication_wl'],
      [{ ...emptyMatch(), notPrincipals: [{ presence: true }], notDestinationPorts: [9000] }],
      undefined,
    ],
    [
      'port-level DISABLE under STRICT is an exception too',
      pa('app', 'wl', `{selector: ${sel}, mtls: {mode: STRICT}, portLevelMtls: {"9000": {mode: DISABLE}, "9001": {mode: PERMISSIVE}}}`),
      ['app/converted_peer_authentication_wl'],
      [{ ...emptyMatch(), notPrincipals: [{ presence: true }], notDestinationPorts: [9000, 9001] }],
      undefined,
    ],
    [
      'port-level STRICT under PERMISSIVE denies plaintext on that port',
      pa('app', 'wl', `{selector: ${sel}, mtls: {mode: PERMISSIVE}, portLevelMtls: {"8080": {mode: STRICT}}}`),
      ['app/converted_peer_authentication_wl'],
      [{ ...emptyMatch(), notPrincipals: [{ presence: true }], destinationPorts: [8080] }],
      undefined,
    ],
    [
      'port-level STRICT under an inherited STRICT namespace changes nothing',
      pa('app', 'ns', '{mtls: {mode: STRICT}}') + pa('app', 'wl', `{selector: ${sel}, portLevelMtls: {"8080": {mode: STRICT}}}`),
      [STRICT_KEY],
      undefined,
      undefined,
    ],
    [
      'port-level PERMISSIVE under an inherited STRICT namespace is converted',
      pa('app', 'ns', '{mtls: {mode: STRICT}}') + pa('app', 'wl', `{selector: ${sel}, portLevelMtls: {"9000": {mode: PERMISSIVE}}}`),
      ['app/converted_peer_authentication_wl'],
      [{ ...emptyMatch(), notPrincipals: [{ presence: true }], notDestinationPorts: [9000] }],
      undefined,
    ],
    [
      'port-level PERMISSIVE under PERMISSIVE changes nothing',
      pa('app', 'wl', `{selector: ${sel}, mtls: {mode: PERMISSIVE}, portLevelMtls: {"9000": {mode: PERMISSIVE}}}`),
      [],
      undefined,
      undefined,
    ],
    [
      'port-level mTLS on a namespace-wide PA is ignored with a diagnostic',
      pa('app', 'ns', '{mtls: {mode: PERMISSIVE}, portLevelMtls: {"8080": {mode: STRICT}}}'),
      [],
      undefined,
      /portLevelMtls only applies to workload-selector policies/,
    ],
  ];
  for (const [name, yaml, keys, matches, diag] of rows) {
    it(name, () => {
      const r = run({ yaml, namespaces: [namespace('app')], pods: [pod('app', 'web-1', { labels: { app: 'web' } })] });
      assert.deepEqual(workloadNamed(r, 'web-1').authorizationPolicies, keys);
      const conv = r.snapshot.authorizations.find((a) => a.name.startsWith('converted_peer_authentication_'));
      if (matches === undefined) assert.equal(conv, undefined);
      else {
        assert.equal(conv?.scope, 'WORKLOAD_SELECTOR');
        assert.equal(conv?.action, 'DENY');
        assert.deepEqual(conv?.rules.map((x) => x.clauses.map((c) => c.matches)), [[matches]]);
      }
      if (diag) assert.match(r.diagnostics.map((d) => d.message).join('\n'), diag);
    });
  }
});

describe('translate peer authentication: end-to-end decisions', () => {
  const rows: [string, string, [number, string | undefined, boolean][]][] = [
    ['with a STRICT namespace, a plaintext connection to port 8080 is denied and mTLS allowed', pa('app', 'ns', '{mtls: {mode: STRICT}}'), [[8080, undefined, false], [8080, 'client/curl', true]]],
    ['with PERMISSIVE, plaintext is allowed', pa('app', 'ns', '{mtls: {mode: PERMISSIVE}}'), [[8080, undefined, true]]],
    ['with DISABLE, plaintext is allowed (nothing converted)', pa('app', 'ns', '{mtls: {mode: DISABLE}}'), [[8080, undefined, true]]],
    [
      'STRICT with a PERMISSIVE port allows plaintext only there',
      pa('app', 'wl', '{selector: {matchLabels: {app: web}}, mtls: {mode: STRICT}, portLevelMtls: {"9000": {mode: PERMISSIVE}}}'),
      [[9000, undefined, true], [8080, undefined, false], [8080, 'client/curl', true]],
    ],
    [
      'PERMISSIVE with a STRICT port denies plaintext only there',
      pa('app', 'wl', '{selector: {matchLabels: {app: web}}, mtls: {mode: PERMISSIVE}, portLevelMtls: {"8080": {mode: STRICT}}}'),
      [[8080, undefined, false], [9000, undefined, true], [8080, 'client/curl', true]],
    ],
  ];
  for (const [name, yaml, checks] of rows) {
    it(name, () => {
      const r = run({ yaml, namespaces: [namespace('app', { 'istio.io/dataplane-mode': 'ambient' })], pods: [pod('app', 'web-1', { labels: { app: 'web' } })] });
      for (const [port, from, allowed] of checks) assert.equal(decide(r, 'web-1', port, from).allowed, allowed, `port ${port} from ${from ?? 'plaintext'}`);
    });
  }
});
