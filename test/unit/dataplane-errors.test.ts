// The data plane's one failure table (dataplane/errors.ts): stable, unique codes, and the flags
// and statuses the node tunnel has always used for each failure it meets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DATAPLANE_ERRORS, errorKindOf, failure, kindOfHboneStatus, type DataplaneErrorKind } from '../../src/dataplane/errors.js';
import { HboneError } from '../../src/dataplane/hbone/client.js';
import { IdentityMismatchError } from '../../src/dataplane/hbone/tls.js';
import { flagFor } from '../../src/node-tunnel/outbound.js';

test('every kind has a unique AMBIT_E_ code, a flag, an HBONE status and an HTTP answer', () => {
  const codes = Object.values(DATAPLANE_ERRORS).map((e) => e.code);
  assert.equal(new Set(codes).size, codes.length, 'codes are unique');
  for (const [kind, e] of Object.entries(DATAPLANE_ERRORS)) {
    assert.match(e.code, /^AMBIT_E_[A-Z0-9_]+$/, kind);
    assert.ok(e.hboneStatus >= 400 && e.hboneStatus < 600, kind);
    assert.ok(e.httpStatus === 'fault' || (e.httpStatus >= 400 && e.httpStatus < 600), kind);
    assert.ok(e.message.length > 0, kind);
  }
});

test("the waypoint's HTTP answers are Envoy's: NR 404, UH 503, UF 503, UT 504, UO 503, FI per fault, RBAC 403", () => {
  const http = (k: DataplaneErrorKind): [string, number | 'fault'] => [DATAPLANE_ERRORS[k].httpFlag, DATAPLANE_ERRORS[k].httpStatus];
  assert.deepEqual(http('NO_ROUTE'), ['NR', 404]);
  assert.deepEqual(http('NO_HEALTHY_UPSTREAM'), ['UH', 503]);
  assert.deepEqual(http('UPSTREAM_CONNECT_FAILED'), ['UF', 503]);
  assert.deepEqual(http('UPSTREAM_TIMEOUT'), ['UT', 504]);
  assert.deepEqual(http('UPSTREAM_OVERFLOW'), ['UO', 503]);
  assert.deepEqual(http('FAULT_INJECTED'), ['FI', 'fault']);
  assert.deepEqual(http('POLICY_DENIED'), ['RBAC', 403]);
  assert.equal(DATAPLANE_ERRORS.POLICY_DENIED.message, 'RBAC: access denied');
});

test('outbound failures keep ztunnel flags: 401 → DENY, TLS → TLS_FAILURE, revoked → CERT_REVOKED, else CONNECT', () => {
  assert.equal(flagFor(new HboneError('x', 'HTTP_STATUS', 401)), 'DENY');
  assert.equal(flagFor(new HboneError('x', 'HTTP_STATUS', 503)), 'CONNECT');
  assert.equal(flagFor(new HboneError('x', 'HTTP_STATUS', 400)), 'CONNECT');
  assert.equal(flagFor(new HboneError('x', 'TLS')), 'TLS_FAILURE');
  assert.equal(flagFor(new HboneError('x', 'CERT_REVOKED')), 'CERT_REVOKED');
  assert.equal(flagFor(new HboneError('x', 'CONNECT_TIMEOUT')), 'CONNECT');
  assert.equal(flagFor(new HboneError('x', 'STREAM_RESET')), 'CONNECT');
  assert.equal(flagFor(new IdentityMismatchError('server presented spiffe://a, expected spiffe://b')), 'TLS_FAILURE');
  assert.equal(flagFor(new Error('ECONNREFUSED')), 'CONNECT');
  assert.equal(errorKindOf(new HboneError('x', 'CONNECT_TIMEOUT')), 'UPSTREAM_TIMEOUT');
  assert.equal(kindOfHboneStatus(401), 'POLICY_DENIED');
  assert.deepEqual(failure('POLICY_DENIED', 'denied by policy (a/b)'), { flag: 'DENY', code: 'AMBIT_E_POLICY_DENIED', error: 'denied by policy (a/b)' });
});
