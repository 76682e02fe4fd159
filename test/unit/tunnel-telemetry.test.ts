// Node tunnel telemetry, pure parts (spec §8): Istio's TCP metric labels and their boundedness
// under pod churn, connection accounting (early refusals included), byte direction in metrics
// vs the access log, the access-log line shape, the readiness decision, and the metrics
// registry's series/histogram/collected kinds and the log levels they rely on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getLogLevel, logger, parseLogLevel, setLogLevel } from '../../src/lib/log.js';
import { MetricsRegistry } from '../../src/lib/metrics.js';
import type { ConnectionClosed, ConnectionRecord } from '../../src/dataplane/connections.js';
import { readiness, readinessResponse } from '../../src/dataplane/readiness.js';
import { accessLogEntry, formatAccessLog, hostOf } from '../../src/dataplane/telemetry/access-log.js';
import { metricBytes, TRAFFIC_LABEL_NAMES, trafficLabels } from '../../src/dataplane/telemetry/labels.js';
import { TunnelMetrics, xdsTerminationReason } from '../../src/dataplane/telemetry/tunnel-metrics.js';

const CLIENT = 'spiffe://cluster.local/ns/demo/sa/client';
const ECHO = 'spiffe://cluster.local/ns/demo/sa/echo';

function outbound(i = 0, over: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id: `c-${i}`,
    direction: 'outbound',
    pod: `10.0.1.${2 + (i % 200)}`,
    src: { addr: `10.0.1.${2 + (i % 200)}:${40000 + i}`, identity: CLIENT, workload: 'client', namespace: 'demo', canonicalService: 'client', canonicalRevision: 'v1', cluster: 'Kubernetes' },
    dst: {
      addr: '10.0.2.5:15008', hboneAddr: '10.0.2.5:8080', identity: ECHO, workload: 'echo', namespace: 'demo', canonicalService: 'echo', canonicalRevision: 'latest', cluster: 'Kubernetes',
      service: 'echo.demo.svc.cluster.local', serviceName: 'echo', serviceNamespace: 'demo',
    },
    security: 'mutual_tls',
    startedAt: 1_700_000_000_000,
    ...over,
  };
}

const inbound = (i = 0): ConnectionRecord => ({ ...outbound(i), direction: 'inbound', pod: '10.0.2.5', dst: { ...outbound(i).dst, addr: '10.0.2.5:8080' } });
const closed = (r: ConnectionRecord, over: Partial<ConnectionClosed> = {}): ConnectionClosed => ({ ...r, bytesSent: 100, bytesRecv: 2000, durationMs: 42, flag: '-', ...over });

function sources(): ConstructorParameters<typeof TunnelMetrics>[0] {
  return { enrolledPods: () => 3, certificates: () => [], xdsConnected: () => true, xdsMessages: () => new Map(), openConnections: () => [] };
}

test('labels: every Istio TCP label, reporter from direction, values from the record', () => {
  const l = trafficLabels(inbound());
  assert.deepEqual(Object.keys(l).sort(), [...TRAFFIC_LABEL_NAMES].sort());
  assert.equal(l.reporter, 'destination');
  assert.equal(trafficLabels(outbound()).reporter, 'source');
  assert.equal(l.source_principal, CLIENT);
  assert.equal(l.destination_principal, ECHO);
  assert.equal(l.source_workload, 'client');
  assert.equal(l.source_workload_namespace, 'demo');
  assert.equal(l.source_canonical_revision, 'v1');
  assert.equal(l.source_app, 'client');
  assert.equal(l.destination_service, 'echo.demo.svc.cluster.local');
  assert.equal(l.destination_service_name, 'echo');
  assert.equal(l.destination_service_namespace, 'demo');
  assert.equal(l.request_protocol, 'tcp');
  assert.equal(l.response_flags, '-');
  assert.equal(l.connection_security_policy, 'mutual_tls');
  assert.equal(trafficLabels(inbound(), 'DENY').response_flags, 'DENY');
});

test('labels: missing values are "unknown"; a plaintext peer has no principal even if its workload is known', () => {
  const r: ConnectionRecord = { id: 'x', direction: 'inbound', pod: '10.0.2.5', src: { addr: '10.0.1.9:1234', identity: CLIENT, workload: 'client', namespace: 'demo' }, dst: { addr: '10.0.2.5:8080' }, security: 'unknown', startedAt: 0 };
  const l = trafficLabels(r);
  assert.equal(l.source_principal, 'unknown');
  assert.equal(l.connection_security_policy, 'unknown');
  assert.equal(l.source_workload, 'client');
  for (const k of ['destination_workload', 'destination_principal', 'destination_service', 'source_canonical_service', 'source_cluster'] as const) assert.equal(l[k], 'unknown', k);
});

test('boundedness: 200 connections from differently named pods of one workload give one series per metric', () => {
  const m = new TunnelMetrics(sources());
  for (let i = 0; i < 200; i++) {
    // Every pod has its own IP, port, connection id and (pod) name; the workload is the same.
    const r = inbound(i);
    m.connectionOpened(r);
    m.connectionClosed(closed(r, { bytesSent: i, bytesRecv: 2 * i }));
  }
  assert.equal(m.opened.size, 1);
  assert.equal(m.closed.size, 1);
  assert.equal(m.receivedBytes.size, 1);
  assert.equal(m.sentBytes.size, 1);
  assert.equal(m.failed.size, 0);
  const labels = trafficLabels(inbound());
  assert.equal(m.opened.get(labels), 200);
  assert.equal(m.closed.get(labels), 200);
  assert.equal(m.receivedBytes.get(labels), (199 * 200) / 2);
  const text = m.render();
  assert.doesNotMatch(text, /10\.0\.1\.|c-\d+|:4\d{4}/, 'no addresses, ports or connection ids in labels');
  assert.equal(text.split('\n').filter((l) => l.startsWith('istio_tcp_connections_opened_total{')).length, 1);
});

test('accounting: an early refusal counts opened ("-"), closed and failed with its flag; opened = closed + open', () => {
  const m = new TunnelMetrics(sources());
  const denied = closed(inbound(1), { bytesSent: 0, bytesRecv: 0, durationMs: 0, flag: 'DENY', error: 'HTTP 401: denied by deny-client' });
  assert.equal(m.connectionClosed(denied), false, 'never opened');
  const ok = inbound(2);
  m.connectionOpened(ok);
  m.connectionOpened(ok); // a duplicate report counts once
  assert.equal(m.opened.get(trafficLabels(ok)), 2);
  assert.equal(m.closed.get(trafficLabels(denied, 'DENY')), 1);
  assert.equal(m.failed.get(trafficLabels(denied, 'DENY')), 1);
  assert.equal(m.connectionClosed(closed(ok)), true);
  assert.equal(m.closed.get(trafficLabels(ok)), 1);
  assert.equal(m.failed.get(trafficLabels(ok)), 0);
  const text = m.render();
  assert.match(text, /istio_tcp_connections_failed_total\{[^}]*response_flags="DENY"[^}]*\} 1/);
  assert.match(text, /istio_tcp_connections_opened_total\{[^}]*reporter="destination"[^}]*\} 2/);
});

test('bytes: metrics count received = client→server for both reporters; the access log un-flips per side', () => {
  assert.deepEqual(metricBytes({ bytesSent: 100, bytesRecv: 2000 }), { received: 100, sent: 2000 });
  const m = new TunnelMetrics(sources());
  for (const r of [outbound(), inbound()]) m.connectionClosed(closed(r));
  assert.equal(m.receivedBytes.get(trafficLabels(outbound())), 100);
  assert.equal(m.receivedBytes.get(trafficLabels(inbound())), 100);
  assert.equal(m.sentBytes.get(trafficLabels(inbound())), 2000);
  const out = accessLogEntry(closed(outbound()), true);
  assert.equal(out.bytes_sent, 100, 'outbound: what the client sent');
  assert.equal(out.bytes_recv, 2000);
  const inn = accessLogEntry(closed(inbound()), true);
  assert.equal(inn.bytes_sent, 2000, 'inbound: what the server sent back');
  assert.equal(inn.bytes_recv, 100);
});

test('access log: one JSON object with ztunnel’s fields, identities only over mTLS', () => {
  const e = accessLogEntry(closed(outbound()), true, { src: 'client-7d9f-abcde', dst: 'echo-5c6b-xyz' });
  const line = formatAccessLog(e);
  assert.ok(!line.includes('\n'));
  const o = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(o), [
    'level', 'time', 'scope', 'message', 'src.addr', 'src.workload', 'src.namespace', 'src.identity', 'src.cluster',
    'dst.addr', 'dst.hbone_addr', 'dst.service', 'dst.workload', 'dst.namespace', 'dst.identity', 'dst.cluster',
    'direction', 'bytes_sent', 'bytes_recv', 'duration', 'response_flags',
  ]);
  assert.equal(o['level'], 'info');
  assert.equal(o['scope'], 'access');
  assert.equal(o['message'], 'connection complete');
  assert.equal(o['src.identity'], CLIENT);
  assert.equal(o['dst.identity'], ECHO);
  assert.equal(o['src.workload'], 'client-7d9f-abcde', 'the pod name when known');
  assert.equal(o['dst.addr'], '10.0.2.5:15008');
  assert.equal(o['dst.hbone_addr'], '10.0.2.5:8080');
  assert.equal(o['duration'], '42ms');
  assert.equal(o['direction'], 'outbound');
  assert.equal(o['response_flags'], '-');
  assert.equal(o['time'], new Date(1_700_000_000_042).toISOString());

  const plain = accessLogEntry(closed({ ...inbound(), security: 'unknown' }), true);
  assert.equal(plain['src.identity'], undefined);
  assert.equal(plain['dst.identity'], undefined);
  assert.equal(plain['src.workload'], 'client', 'falls back to the canonical service');

  const failed = accessLogEntry(closed(inbound(), { flag: 'CONNECT', error: 'connection refused' }), true);
  assert.equal(failed.level, 'error');
  assert.equal(failed.message, 'connection complete');
  assert.equal(failed.error, 'connection refused');

  const deny = accessLogEntry(closed(inbound(), { flag: 'DENY', error: 'HTTP 401: deny-client', bytesSent: 0, bytesRecv: 0, durationMs: 0 }), false);
  assert.equal(deny.level, 'warn');
  assert.equal(deny.message, 'connection failed');
  assert.equal(deny.response_flags, 'DENY');
  assert.equal(deny['src.identity'], CLIENT, 'an early deny still names both identities');
  assert.equal(deny['dst.identity'], ECHO);
  assert.equal(deny.duration, '0ms');
  assert.equal(hostOf('10.0.2.5:15008'), '10.0.2.5');
  assert.equal(hostOf('[fd00::1]:80'), 'fd00::1');
});

test('readiness: xDS sync, the enrollment snapshot and a valid certificate per enrolled pod', () => {
  const now = Date.now();
  const later = new Date(now + 3600_000);
  const base = { xdsSynced: true, enrollmentSynced: true, identities: [CLIENT, ECHO], certificates: [{ identity: CLIENT, notAfter: later }, { identity: ECHO, notAfter: later }], now };
  assert.deepEqual(readiness(base), { ready: true, pending: [] });
  assert.deepEqual(readinessResponse(readiness(base)), { status: 200, body: 'ready\n' });
  const r = readiness({ ...base, xdsSynced: false, enrollmentSynced: false, certificates: [{ identity: CLIENT, notAfter: new Date(now - 1) }, { identity: ECHO }] });
  assert.equal(r.ready, false);
  assert.equal(r.pending.length, 3);
  const res = readinessResponse(r);
  assert.equal(res.status, 500);
  assert.match(res.body, /^not ready, pending: state manager .*, enrollment .*, certificates \(spiffe:\/\/cluster\.local\/ns\/demo\/sa\/client, spiffe:\/\/cluster\.local\/ns\/demo\/sa\/echo\)\n$/);
  assert.equal(readiness({ ...base, identities: [] , certificates: [] }).ready, true, 'no pods: nothing to wait for');
});

test('xDS termination reasons as ztunnel names them', () => {
  assert.equal(xdsTerminationReason(14, false), 'ConnectionError');
  assert.equal(xdsTerminationReason(0, true), 'Complete');
  assert.equal(xdsTerminationReason(1, true), 'Reconnect');
  assert.equal(xdsTerminationReason(16, true), 'Error');
});

test('metrics registry: series handles, histograms, collected values, valid exposition', () => {
  const r = new MetricsRegistry();
  const c = r.counter('x_total', 'x', { labelled: true });
  const s = c.series({ b: '2', a: '1' });
  s.inc();
  s.inc(2);
  assert.equal(c.get({ a: '1', b: '2' }), 3);
  const h = r.histogram('d_seconds', 'd', [0.01, 0.1, 1]);
  h.observe(0.005, { side: 'client' });
  h.observe(0.5, { side: 'client' });
  h.observe(5, { side: 'client' });
  let live = [{ labels: { id: 'a' }, value: 7 }];
  r.collected('g', 'g', 'gauge', () => live);
  const text = r.render();
  assert.match(text, /^x_total\{a="1",b="2"\} 3$/m);
  assert.match(text, /^# TYPE d_seconds histogram$/m);
  assert.match(text, /^d_seconds_bucket\{side="client",le="0\.01"\} 1$/m);
  assert.match(text, /^d_seconds_bucket\{side="client",le="1"\} 2$/m);
  assert.match(text, /^d_seconds_bucket\{side="client",le="\+Inf"\} 3$/m);
  assert.match(text, /^d_seconds_count\{side="client"\} 3$/m);
  assert.match(text, /^d_seconds_sum\{side="client"\} 5\.505$/m);
  assert.match(text, /^g\{id="a"\} 7$/m);
  live = [];
  assert.doesNotMatch(r.render(), /^g\{/m, 'a collected series disappears with its source');
  assert.throws(() => r.gauge('g', 'again'), /twice/);
});

test('log levels: runtime level filters lines; info keeps the old format', () => {
  const lines: string[] = [];
  const out = { write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WritableStream;
  const log = logger('t', out);
  const before = getLogLevel();
  try {
    setLogLevel('info');
    log('plain');
    log.debug('hidden');
    log.warn('careful');
    setLogLevel('debug');
    log.debug('shown');
    setLogLevel('error');
    log('hidden too');
    log.error('bad');
  } finally {
    setLogLevel(before);
  }
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^\S+Z t: plain\n$/);
  assert.match(lines[1]!, /t: \[warn\] careful/);
  assert.match(lines[2]!, /t: \[debug\] shown/);
  assert.match(lines[3]!, /t: \[error\] bad/);
  assert.equal(parseLogLevel('WARNING'), 'warn');
  assert.equal(parseLogLevel('verbose'), undefined);
});
