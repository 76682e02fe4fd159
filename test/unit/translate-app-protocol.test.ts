// Service port → workloadapi.AppProtocol as istiod derives it. The tables restate the cases of
// istio/istio (86c9f01f) pkg/config/kube/conversion_test.go TestConvertProtocol and
// pkg/config/protocol/instance_test.go TestParse, then the mapping of
// pilot/pkg/serviceregistry/ambient toAppProtocolFromProtocol, then both through translation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppProtocol } from '../../src/mesh-api/types.js';
import { appProtocolFor, kubePortProtocol, parseProtocol, type IstioProtocol } from '../../src/control-plane/translate/app-protocol.js';
import { namespace, run, service } from './support/translate-fixtures.js';

describe('Istio protocol.Parse', () => {
  const rows: [string, IstioProtocol][] = [
    ['tcp', 'TCP'],
    ['http', 'HTTP'],
    ['HTTP', 'HTTP'],
    ['Http', 'HTTP'],
    ['http_proxy', 'HTTP_PROXY'],
    ['Http_Proxy', 'HTTP_PROXY'],
    ['HTTP_PROXY', 'HTTP_PROXY'],
    ['https', 'HTTPS'],
    ['http2', 'HTTP2'],
    ['grpc', 'GRPC'],
    ['grpc-web', 'GRPC-Web'],
    ['gRPC-Web', 'GRPC-Web'],
    ['grpc-Web', 'GRPC-Web'],
    ['udp', 'UDP'],
    ['Mongo', 'Mongo'],
    ['mongo', 'Mongo'],
    ['MONGO', 'Mongo'],
    ['Redis', 'Redis'],
    ['redis', 'Redis'],
    ['REDIS', 'Redis'],
    ['Mysql', 'MySQL'],
    ['mysql', 'MySQL'],
    ['MYSQL', 'MySQL'],
    ['MySQL', 'MySQL'],
    ['tls', 'TLS'],
    ['', 'UnsupportedProtocol'],
    ['SMTP', 'UnsupportedProtocol'],
    ['HBONE', 'UnsupportedProtocol'],
    ['constructor', 'UnsupportedProtocol'],
  ];
  for (const [name, want] of rows) it(`'${name}' → ${want}`, () => assert.equal(parseProtocol(name), want));
});

describe('Istio kube ConvertProtocol', () => {
  // [case, port, port name, protocol, appProtocol, expected]
  const rows: [string, number, string | undefined, string | undefined, string | undefined, IstioProtocol][] = [
    ['resolves empty', 0, undefined, undefined, undefined, 'UnsupportedProtocol'],
    ['resolves from protocol directly', 0, undefined, 'UDP', undefined, 'UDP'],
    ['resolves from port name', 0, 'http-something', undefined, undefined, 'HTTP'],
    ['prefers appProto over portName', 0, 'http-something', undefined, 'https', 'HTTPS'],
    ['resolves from appProto', 0, 'something-httpx', undefined, 'https', 'HTTPS'],
    ['resolves grpc-web', 0, 'grpc-web-x', undefined, undefined, 'GRPC-Web'],
    ['makes sure grpc-web is not resolved incorrectly', 0, 'grpcweb-x', undefined, undefined, 'UnsupportedProtocol'],
    ['resolves based on known ports', 3306, 'random-name', undefined, undefined, 'TCP'],
    ['standard app protocol', 3306, 'random-name', undefined, 'kubernetes.io/h2c', 'HTTP2'],
    // Further rows from the same function's branches.
    ['kubernetes.io/ws is HTTP', 80, 'x', 'TCP', 'kubernetes.io/ws', 'HTTP'],
    ['kubernetes.io/wss is HTTPS', 443, 'x', 'TCP', 'kubernetes.io/wss', 'HTTPS'],
    ['UDP wins over the name', 53, 'http-dns', 'UDP', 'http', 'UDP'],
    ['the name is case-insensitive', 80, 'GRPC-api', 'TCP', undefined, 'GRPC'],
    ['a bare name is its own prefix', 80, 'tls', 'TCP', undefined, 'TLS'],
    ['an empty appProtocol replaces the name', 80, 'http', 'TCP', '', 'UnsupportedProtocol'],
    ['DNS port without a protocol name is TCP', 53, 'dns', 'TCP', undefined, 'TCP'],
    ['SMTP, MongoDB ports likewise', 27017, undefined, undefined, undefined, 'TCP'],
    ['a recognised name wins over a well-known port', 25, 'http', undefined, undefined, 'HTTP'],
  ];
  for (const [name, port, portName, proto, app, want] of rows) it(name, () => assert.equal(kubePortProtocol(port, portName, proto, app), want));
});

describe('protocol → AppProtocol (toAppProtocolFromProtocol)', () => {
  const rows: [IstioProtocol, AppProtocol][] = [
    ['HTTP', 'HTTP11'],
    ['HTTP2', 'HTTP2'],
    ['GRPC', 'GRPC'],
    ['TLS', 'TLS'],
    ['HTTPS', 'TLS'],
    ['TCP', 'TCP'],
    ['GRPC-Web', 'UNKNOWN'],
    ['HTTP_PROXY', 'UNKNOWN'],
    ['UDP', 'UNKNOWN'],
    ['Mongo', 'UNKNOWN'],
    ['Redis', 'UNKNOWN'],
    ['MySQL', 'UNKNOWN'],
    ['UnsupportedProtocol', 'UNKNOWN'],
  ];
  for (const [p, want] of rows) it(`${p} → ${want}`, () => assert.equal(appProtocolFor(p), want));
});

describe('translated Service and ServiceEntry ports carry app_protocol', () => {
  it('a Kubernetes Service: appProtocol, else the port-name prefix; UNKNOWN stays implicit', () => {
    const ports = [
      { port: 80, name: 'http-web' },
      { port: 81, name: 'http2' },
      { port: 82, name: 'grpc-api' },
      { port: 83, name: 'grpc-web-ui' },
      { port: 443, name: 'https' },
      { port: 8443, name: 'tls-passthrough' },
      { port: 5432, name: 'tcp-db' },
      { port: 3306 },
      { port: 6379, name: 'redis' },
      { port: 9000, name: 'web' },
      { port: 9001, name: 'web', appProtocol: 'kubernetes.io/h2c' },
      { port: 9002, name: 'http', appProtocol: 'tcp' },
      { port: 53, name: 'dns', protocol: 'UDP' as const },
    ];
    const s = run({ namespaces: [namespace('app')], services: [service('app', 'web', { app: 'web' }, ports)] }).snapshot.services[0];
    assert.deepEqual(
      s?.ports.map((p) => [p.servicePort, p.appProtocol ?? '-']),
      [
        [80, 'HTTP11'],
        [81, 'HTTP2'],
        [82, 'GRPC'],
        [83, '-'],
        [443, 'TLS'],
        [8443, 'TLS'],
        [5432, 'TCP'],
        [3306, 'TCP'],
        [6379, '-'],
        [9000, '-'],
        [9001, 'HTTP2'],
        [9002, 'TCP'],
        [53, '-'],
      ],
    );
  });

  it("a ServiceEntry: the port's protocol (not its name); workload port lists carry none", () => {
    const yaml = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: app}
spec:
  hosts: [ext.example.com]
  addresses: [240.0.0.9]
  ports:
  - {number: 80, name: tcp-not-http, protocol: HTTP}
  - {number: 443, name: https, protocol: HTTPS}
  - {number: 8443, name: tls, protocol: TLS}
  - {number: 9000, name: grpc, protocol: GRPC}
  - {number: 9001, name: h2, protocol: http2}
  - {number: 5432, name: http-db, protocol: TCP}
  - {number: 27017, name: mongo, protocol: MONGO}
  - {number: 9100, name: http-x}
  resolution: STATIC
  endpoints: [{address: 1.2.3.4}]
`;
    const r = run({ yaml, namespaces: [namespace('app')] });
    const s = r.snapshot.services.find((x) => x.hostname === 'ext.example.com');
    assert.deepEqual(
      s?.ports.map((p) => [p.servicePort, p.appProtocol ?? '-']),
      [
        [80, 'HTTP11'],
        [443, 'TLS'],
        [8443, 'TLS'],
        [9000, 'GRPC'],
        [9001, 'HTTP2'],
        [5432, 'TCP'],
        [27017, '-'],
        [9100, '-'],
      ],
    );
    const ep = r.snapshot.workloads.find((w) => w.addresses.includes('1.2.3.4'));
    assert.ok(ep, 'the endpoint is a workload');
    assert.ok(
      Object.values(ep.services).every((ports) => ports.every((p) => p.appProtocol === undefined)),
      'istiod sets app_protocol on Service ports only',
    );
  });
});
