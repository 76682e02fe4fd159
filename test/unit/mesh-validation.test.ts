// The checks istiod's validation webhook (and Gateway API's CEL rules) apply beyond the CRD
// schemas, as table tests modelled on istio pkg/config/validation/validation_test.go: each
// invalid object is refused with the exact field path, each valid neighbour is accepted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipProblem } from '../../src/lib/ip.js';
import { formatErrors, validateObject } from '../../src/model/core/validate.js';
import { meshWarnings } from '../../src/model/mesh/index.js';

type Obj = Record<string, unknown>;
const obj = (apiVersion: string, kind: string, spec: unknown, meta: Obj = {}): Obj => ({ apiVersion, kind, metadata: { name: 'x', namespace: 'default', ...meta }, spec });
const ap = (spec: unknown, meta: Obj = {}): Obj => obj('security.istio.io/v1', 'AuthorizationPolicy', spec, meta);
const pa = (spec: unknown): Obj => obj('security.istio.io/v1', 'PeerAuthentication', spec);
const ra = (spec: unknown): Obj => obj('security.istio.io/v1', 'RequestAuthentication', spec);
const se = (spec: Obj): Obj => obj('networking.istio.io/v1', 'ServiceEntry', { hosts: ['api.example.com'], ...spec });
const we = (spec: unknown): Obj => obj('networking.istio.io/v1', 'WorkloadEntry', spec);
const dr = (spec: Obj): Obj => obj('networking.istio.io/v1', 'DestinationRule', { host: 'reviews', ...spec });
const vs = (spec: Obj): Obj => obj('networking.istio.io/v1', 'VirtualService', { hosts: ['reviews'], ...spec });
const gw = (spec: Obj): Obj => obj('gateway.networking.k8s.io/v1', 'Gateway', { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }], ...spec });
const hr = (spec: unknown): Obj => obj('gateway.networking.k8s.io/v1', 'HTTPRoute', spec);
const gr = (spec: unknown): Obj => obj('gateway.networking.k8s.io/v1', 'GRPCRoute', spec);

const from = (source: unknown): Obj => ({ rules: [{ from: [{ source }] }] });
const when = (key: string, values: string[], field = 'values'): Obj => ({ rules: [{ when: [{ key, [field]: values }] }] });
const route = (...weights: (number | undefined)[]): Obj => ({ http: [{ route: weights.map((w, i) => ({ destination: { host: `v${i}` }, ...(w === undefined ? {} : { weight: w }) })) }] });
const waypointRef = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' };

/** [name, object, expected errors (formatErrors) or '' when the object is valid] */
type Case = [string, Obj, string];

function run(cases: Case[]): void {
  for (const [name, o, want] of cases) {
    it(`${want ? 'refuses' : 'accepts'} ${name}`, () => {
      const r = validateObject(o);
      assert.equal(r.ok ? '' : formatErrors(r.errors), want);
    });
  }
}

describe('ipProblem reads IPs and CIDRs as Go net/netip does', () => {
  const table: [string, boolean, string | undefined][] = [
    ['10.0.0.1', false, undefined],
    ['10.0.0.0/8', true, undefined],
    ['10.0.0.1/24', true, undefined], // host bits may be set, as netip.ParsePrefix allows
    ['0.0.0.0/0', true, undefined],
    ['2001:db8::/32', true, undefined],
    ['::ffff:10.0.0.1', false, undefined],
    ['10.0.0.0/33', true, "'10.0.0.0/33' is not a CIDR range (prefix length must be 0-32)"],
    ['2001:db8::/129', true, "'2001:db8::/129' is not a CIDR range (prefix length must be 0-128)"],
    ['10.0.0.0/08', true, "'10.0.0.0/08' is not a CIDR range (prefix length must be 0-32)"],
    ['10.0.0.0/', true, "'10.0.0.0/' is not a CIDR range (prefix length must be 0-32)"],
    ['300.1.1.1', false, "'300.1.1.1' is not an IP address"],
    ['010.1.1.1', false, "'010.1.1.1' is not an IP address"],
    ['1.2.3', false, "'1.2.3' is not an IP address"],
    ['a.b.c.d/8', true, "'a.b.c.d/8' is not a CIDR range (bad address 'a.b.c.d')"],
    ['10.0.0.0/8', false, "'10.0.0.0/8' is not an IP address (a CIDR range is not allowed here)"],
  ];
  for (const [text, cidr, want] of table) it(`${text} (${cidr ? 'IP or CIDR' : 'IP'})`, () => assert.equal(ipProblem(text, cidr), want));
});

describe('AuthorizationPolicy: istiod ValidateAuthorizationPolicy', () => {
  run([
    ['an ALLOW policy without rules (allows nothing)', ap({ action: 'ALLOW' }), ''],
    ['a DENY policy with an empty rule (denies everything)', ap({ action: 'DENY', rules: [{}] }), ''],
    ['a DENY policy without rules', ap({ action: 'DENY' }), 'spec.rules: required when action is DENY (use [{}] to match every request)'],
    ['a CUSTOM policy without rules', ap({ action: 'CUSTOM', provider: { name: 'ext' } }), 'spec.rules: required when action is CUSTOM (use [{}] to match every request)'],
    ['valid ipBlocks and notIpBlocks', ap(from({ ipBlocks: ['10.0.0.0/8', '192.168.1.1'], notIpBlocks: ['10.1.0.0/16', '2001:db8::/32'] })), ''],
    ['a prefix length over 32 in ipBlocks', ap(from({ ipBlocks: ['10.0.0.0/33'] })), "spec.rules[0].from[0].source.ipBlocks[0]: '10.0.0.0/33' is not a CIDR range (prefix length must be 0-32)"],
    ['an octet over 255 in notIpBlocks', ap(from({ notIpBlocks: ['1.2.3.4', '300.1.1.1'] })), "spec.rules[0].from[0].source.notIpBlocks[1]: '300.1.1.1' is not an IP address"],
    ['a name in remoteIpBlocks', ap(from({ remoteIpBlocks: ['ip1'] })), "spec.rules[0].from[0].source.remoteIpBlocks[0]: 'ip1' is not an IP address"],
    ['a bad notRemoteIpBlocks CIDR', ap(from({ notRemoteIpBlocks: ['::1/200'] })), "spec.rules[0].from[0].source.notRemoteIpBlocks[0]: '::1/200' is not a CIDR range (prefix length must be 0-128)"],
    ['port 0', ap({ rules: [{ to: [{ operation: { ports: ['0'] } }] }] }), 'spec.rules[0].to[0].operation.ports[0]: must be a port number 1-65535 written as a string (e.g. "8080")'],
    ['port 65536 in notPorts', ap({ rules: [{ to: [{ operation: { notPorts: ['65536'] } }] }] }), 'spec.rules[0].to[0].operation.notPorts[0]: must be a port number 1-65535 written as a string (e.g. "8080")'],
    ['an empty from list', ap({ rules: [{ from: [] }] }), 'spec.rules[0].from: must not be empty (leave it out to match any source)'],
    ['a from entry without source', ap({ rules: [{ from: [{}] }] }), 'spec.rules[0].from[0].source: required'],
    ['an empty source', ap(from({})), 'spec.rules[0].from[0].source: must set at least one field'],
    ['a source with only empty lists', ap(from({ principals: [] })), 'spec.rules[0].from[0].source: must set at least one field'],
    ['an empty to list', ap({ rules: [{ to: [] }] }), 'spec.rules[0].to: must not be empty (leave it out to match any operation)'],
    ['a to entry without operation', ap({ rules: [{ to: [{}] }] }), 'spec.rules[0].to[0].operation: required'],
    ['an empty operation', ap({ rules: [{ to: [{ operation: {} }] }] }), 'spec.rules[0].to[0].operation: must set at least one field'],
    ['an empty principal', ap(from({ principals: ['cluster.local/ns/a/sa/b', ''] })), 'spec.rules[0].from[0].source.principals[1]: must not be empty'],
    ['an empty namespace in notNamespaces', ap(from({ notNamespaces: [''] })), 'spec.rules[0].from[0].source.notNamespaces[0]: must not be empty'],
    ['an empty method', ap({ rules: [{ to: [{ operation: { methods: [''] } }] }] }), 'spec.rules[0].to[0].operation.methods[0]: must not be empty'],
    ['principals and namespaces with * forms', ap(from({ principals: ['*', 'cluster.local/ns/a/*', '*/sa/b'], namespaces: ['*', 'prod-*'] })), ''],
    ['serviceAccounts as sa and ns/sa', ap(from({ serviceAccounts: ['reader', 'team/writer'] })), ''],
    ['serviceAccounts with namespaces', ap(from({ serviceAccounts: ['reader'], namespaces: ['a'] })), 'spec.rules[0].from[0].source: serviceAccounts cannot be set with namespaces or principals'],
    ['a wildcard service account', ap(from({ serviceAccounts: ['team/*'] })), "spec.rules[0].from[0].source.serviceAccounts[0]: wildcards are not allowed in service accounts ('team/*')"],
    ['a service account with two slashes', ap(from({ notServiceAccounts: ['a/b/c'] })), "spec.rules[0].from[0].source.notServiceAccounts[0]: 'a/b/c' must be 'serviceAccount' or 'namespace/serviceAccount'"],
    ['a service account with an empty namespace', ap(from({ serviceAccounts: ['/sa'] })), "spec.rules[0].from[0].source.serviceAccounts[0]: '/sa' must be 'serviceAccount' or 'namespace/serviceAccount'"],
    ['17 service accounts', ap(from({ serviceAccounts: Array.from({ length: 17 }, (_, i) => `sa${i}`) })), 'spec.rules[0].from[0].source.serviceAccounts: at most 16 service accounts'],
    ['the L4 when keys with good values', ap({ rules: [{ when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }, { key: 'destination.ip', notValues: ['10.1.2.3'] }, { key: 'destination.port', values: ['8080'] }, { key: 'source.principal', values: ['*'] }, { key: 'source.namespace', values: ['a'] }] }] }), ''],
    ['L7 when keys Istio accepts', ap({ rules: [{ when: [{ key: 'request.headers[x-user]', values: ['a'] }, { key: 'request.auth.claims[iss]', values: ['b'] }, { key: 'remote.ip', values: ['1.2.3.4'] }, { key: 'connection.sni', values: ['a.com'] }] }] }), ''],
    ['a bad CIDR in when source.ip', ap(when('source.ip', ['10.0.0.0/33'])), "spec.rules[0].when[0].values[0]: '10.0.0.0/33' is not a CIDR range (prefix length must be 0-32)"],
    ['a bad IP in when destination.ip notValues', ap(when('destination.ip', ['a.b.c.d'], 'notValues')), "spec.rules[0].when[0].notValues[0]: 'a.b.c.d' is not an IP address"],
    ['a bad IP in when remote.ip', ap(when('remote.ip', ['300.1.1.1'])), "spec.rules[0].when[0].values[0]: '300.1.1.1' is not an IP address"],
    ['port 0 in when destination.port', ap(when('destination.port', ['0'])), "spec.rules[0].when[0].values[0]: '0' is not a port number 1-65535"],
    ['port 65536 in when destination.port notValues', ap(when('destination.port', ['80', '65536'], 'notValues')), "spec.rules[0].when[0].notValues[1]: '65536' is not a port number 1-65535"],
    ['an empty when value', ap(when('request.headers[:authority]', ['v1', ''])), 'spec.rules[0].when[0].values[1]: must not be empty'],
    ['a when without a key', ap({ rules: [{ when: [{ values: ['a'] }] }] }), 'spec.rules[0].when[0].key: required'],
    ['a when without values', ap({ rules: [{ when: [{ key: 'source.principal' }] }] }), 'spec.rules[0].when[0]: must set values or notValues'],
    [
      'an unknown when key',
      ap(when('key1', ['v1'])),
      'spec.rules[0].when[0].key: unknown key key1; known keys: source.ip, remote.ip, source.namespace, source.serviceAccount, source.principal, source.trustDomain, request.auth.principal, request.auth.audiences, request.auth.presenter, destination.ip, destination.port, connection.sni, request.headers[...], request.auth.claims[...], experimental.envoy.filters.*[...]',
    ],
    ['a header key without brackets', ap(when('request.headers', ['a'])), 'spec.rules[0].when[0].key: key request.headers must have the form name[key]'],
    ['a header key with an empty name', ap(when('request.headers[]', ['a'])), 'spec.rules[0].when[0].key: key request.headers[] must have the form name[key]'],
    ['the retired destination.namespace key', ap(when('destination.namespace', ['a'])), "spec.rules[0].when[0].key: key destination.namespace is replaced by the policy's metadata.namespace"],
    ['the retired destination.labels key', ap(when('destination.labels[app]', ['a'])), 'spec.rules[0].when[0].key: key destination.labels[app] is replaced by the workload selector'],
    ['a wildcard service account in when', ap(when('source.serviceAccount', ['ns/*'])), "spec.rules[0].when[0].values[0]: wildcards are not allowed in service accounts ('ns/*')"],
    ['a mid-string wildcard trust domain', ap(when('source.trustDomain', ['a*b'])), "spec.rules[0].when[0].values[0]: a wildcard is only allowed at the start or end ('a*b')"],
    ['CUSTOM with a provider and ipBlocks', ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ from: [{ source: { ipBlocks: ['1.2.3.4'] } }] }] }), ''],
    [
      'CUSTOM with principals and a source.namespace condition',
      ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ from: [{ source: { principals: ['a'] } }], when: [{ key: 'source.namespace', values: ['a'] }] }] }),
      'spec.rules[0].from[0].source.principals: is not supported with action CUSTOM; spec.rules[0].when[0].key: source.namespace is not supported with action CUSTOM',
    ],
    ['CUSTOM with a request.auth condition', ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ when: [{ key: 'request.auth.claims[iss]', values: ['a'] }] }] }), 'spec.rules[0].when[0].key: request.auth.claims[iss] is not supported with action CUSTOM'],
    ['a provider with ALLOW', ap({ action: 'ALLOW', provider: { name: 'ext' } }), 'spec.provider: only allowed when action is CUSTOM'],
    ['an empty provider name', ap({ action: 'CUSTOM', provider: { name: '' }, rules: [{}] }), 'spec.provider.name: required'],
    ['selector and targetRef', ap({ selector: { matchLabels: { app: 'a' } }, targetRef: waypointRef }), 'spec.selector: only one of selector or targetRef(s) may be set'],
    ['targetRef and targetRefs', ap({ targetRef: waypointRef, targetRefs: [waypointRef] }), 'spec.targetRefs: only one of targetRef or targetRefs may be set'],
    ['targetRefs to a Service, a ServiceEntry and a GatewayClass', ap({ targetRefs: [{ kind: 'Service', name: 's' }, { group: 'networking.istio.io', kind: 'ServiceEntry', name: 'e' }, { group: 'gateway.networking.k8s.io', kind: 'GatewayClass', name: 'c' }] }), ''],
    ['a targetRef in another namespace', ap({ targetRef: { ...waypointRef, namespace: 'other' } }), 'spec.targetRef.namespace: must not be set: cross-namespace references are not supported'],
    [
      'a targetRef to a Deployment',
      ap({ targetRefs: [{ group: 'apps', kind: 'Deployment', name: 'd' }] }),
      "spec.targetRefs[0].kind: must refer to a Service, networking.istio.io ServiceEntry, or gateway.networking.k8s.io Gateway or GatewayClass (got 'apps/Deployment')",
    ],
    [
      'a targetRef to Gateway without its group',
      ap({ targetRef: { kind: 'Gateway', name: 'waypoint' } }),
      "spec.targetRef.kind: must refer to a Service, networking.istio.io ServiceEntry, or gateway.networking.k8s.io Gateway or GatewayClass (got '/Gateway')",
    ],
    ['a selector label with a wildcard value', ap({ selector: { matchLabels: { app: 'httpbin-*' } } }), 'spec.selector.matchLabels.app: must be empty or alphanumerics, -, _ or ., starting and ending alphanumeric'],
    ['a selector with an empty label value', ap({ selector: { matchLabels: { app: '', version: 'v1' } } }), ''],
    ['dry-run true on a DENY policy', ap({ action: 'DENY', rules: [{}] }, { annotations: { 'istio.io/dry-run': 'true' } }), ''],
    ['dry-run with a non-boolean value', ap({ action: 'ALLOW' }, { annotations: { 'istio.io/dry-run': 'foo' } }), "metadata.annotations.istio.io/dry-run: must be true or false (got 'foo')"],
    ['dry-run on an AUDIT policy', ap({ action: 'AUDIT', rules: [{}] }, { annotations: { 'istio.io/dry-run': 'true' } }), 'metadata.annotations.istio.io/dry-run: only supported with action ALLOW or DENY (action is AUDIT)'],
  ]);
});

describe('PeerAuthentication: istiod ValidatePeerAuthentication', () => {
  run([
    ['portLevelMtls with a selector', pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '8080': { mode: 'DISABLE' } } }), ''],
    ['portLevelMtls with a selector without labels', pa({ selector: {}, portLevelMtls: { '8080': { mode: 'STRICT' } } }), 'spec.portLevelMtls: requires a selector with matchLabels'],
    ['portLevelMtls with empty matchLabels', pa({ selector: { matchLabels: {} }, portLevelMtls: { '8080': { mode: 'STRICT' } } }), 'spec.portLevelMtls: requires a selector with matchLabels'],
    ['an empty portLevelMtls', pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: {} }), 'spec.portLevelMtls: must name at least one port when set'],
    ['port 0 in portLevelMtls', pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '0': { mode: 'STRICT' } } }), 'spec.portLevelMtls.0: port must be 1-65535'],
    ['port 65536 in portLevelMtls', pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '65536': { mode: 'STRICT' } } }), 'spec.portLevelMtls.65536: port must be 1-65535'],
  ]);
});

describe('RequestAuthentication: istiod validateJwtRule', () => {
  run([
    ['a rule with only jwksUri', ra({ jwtRules: [{ jwksUri: 'https://example.com/jwks.json' }] }), ''],
    ['a rule with neither issuer nor jwksUri', ra({ jwtRules: [{ audiences: ['a'] }] }), 'spec.jwtRules[0].issuer: required unless jwksUri is set'],
    ['a jwksUri with another scheme', ra({ jwtRules: [{ issuer: 'i', jwksUri: 'ftp://example.com/jwks' }] }), "spec.jwtRules[0].jwksUri: must be an http:// or https:// URL (got 'ftp://example.com/jwks')"],
    ['an empty audience', ra({ jwtRules: [{ issuer: 'i', audiences: [''] }] }), 'spec.jwtRules[0].audiences[0]: must not be empty'],
    ['a targetRef to a Pod', ra({ targetRef: { kind: 'Pod', name: 'p' } }), "spec.targetRef.kind: must refer to a Service, networking.istio.io ServiceEntry, or gateway.networking.k8s.io Gateway or GatewayClass (got '/Pod')"],
  ]);
});

describe('ServiceEntry: istiod ValidateServiceEntry', () => {
  const port = { number: 443, name: 'https', protocol: 'TLS' };
  run([
    ['addresses with an IP and a CIDR (STATIC)', se({ addresses: ['10.1.2.3', '10.2.0.0/16'], ports: [port], resolution: 'STATIC', endpoints: [{ address: '10.2.0.5' }] }), ''],
    ['a prefix length over 32 in addresses', se({ addresses: ['10.0.0.0/33'], ports: [port] }), "spec.addresses[0]: '10.0.0.0/33' is not a CIDR range (prefix length must be 0-32)"],
    ['a bad IP in addresses', se({ addresses: ['300.1.1.1'], ports: [port] }), "spec.addresses[0]: '300.1.1.1' is not an IP address"],
    ['a CIDR with DNS resolution', se({ addresses: ['10.2.0.0/16'], ports: [port], resolution: 'DNS' }), 'spec.addresses[0]: CIDR ranges are allowed only with resolution NONE or STATIC (resolution is DNS)'],
    ['port 0', se({ ports: [{ number: 0, name: 'p' }] }), 'spec.ports[0].number: must be a port number 1-65535'],
    ['targetPort 65536', se({ ports: [{ number: 80, name: 'http', targetPort: 65536 }] }), 'spec.ports[0].targetPort: must be a port number 1-65535'],
    ['a port without a name', se({ ports: [{ number: 80, protocol: 'HTTP' }] }), 'spec.ports[0].name: required'],
    ['a duplicate port name', se({ ports: [{ number: 80, name: 'web' }, { number: 81, name: 'web' }] }), 'spec.ports[1].name: duplicate of ports[0]'],
    ['the full wildcard host', se({ hosts: ['*'] }), 'spec.hosts[0]: the full wildcard * is not allowed'],
    ['a host that is not a DNS name', se({ hosts: ['bad_host.com'] }), "spec.hosts[0]: domain name 'bad_host.com' is invalid (label 'bad_host' is not a DNS-1123 label)"],
    ['endpoints with resolution NONE', se({ ports: [port], endpoints: [{ address: '10.0.0.1' }] }), 'spec.endpoints: must not be set with resolution NONE'],
    ['a STATIC endpoint with a DNS name', se({ ports: [port], resolution: 'STATIC', endpoints: [{ address: 'api.internal' }] }), "spec.endpoints[0].address: 'api.internal' is not an IP address"],
    ['a STATIC endpoint with a bad IP', se({ ports: [port], resolution: 'STATIC', endpoints: [{ address: '300.1.1.1' }] }), "spec.endpoints[0].address: '300.1.1.1' is not an IP address"],
    ['a DNS endpoint with a DNS name', se({ ports: [port], resolution: 'DNS', endpoints: [{ address: 'api.internal', ports: { https: 8443 } }] }), ''],
    ['an endpoint port the ServiceEntry does not name', se({ ports: [port], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1', ports: { http: 8080 } }] }), 'spec.endpoints[0].ports.http: is not a port name of this ServiceEntry'],
    ['an endpoint port 0', se({ ports: [port], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1', ports: { https: 0 } }] }), 'spec.endpoints[0].ports.https: must be a port number 1-65535'],
    ['two endpoints with DNS_ROUND_ROBIN', se({ ports: [port], resolution: 'DNS_ROUND_ROBIN', endpoints: [{ address: 'a.example.com' }, { address: 'b.example.com' }] }), 'spec.endpoints: at most one endpoint with resolution DNS_ROUND_ROBIN'],
    ['a wildcard host with DNS and no endpoints', se({ hosts: ['*.example.com'], ports: [port], resolution: 'DNS' }), 'spec.hosts[0]: must be a DNS name without wildcards when resolution is DNS and there are no endpoints'],
    ['several hosts with a TCP port (DNS)', se({ hosts: ['a.example.com', 'b.example.com'], ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }], resolution: 'DNS' }), 'spec.ports[0].protocol: several hosts need HTTP or TLS ports (resolution is DNS)'],
    ['several hosts with a TLS port (DNS)', se({ hosts: ['a.example.com', 'b.example.com'], ports: [port], resolution: 'DNS' }), ''],
  ]);
});

describe('WorkloadEntry: istiod ValidateWorkloadEntry', () => {
  run([
    ['an IPv6 address', we({ address: '2001:db8::1' }), ''],
    ['a DNS name', we({ address: 'vm1.example.com', ports: { http: 8080 } }), ''],
    ['a unix socket', we({ address: 'unix:///var/run/app.sock' }), ''],
    ['a bad IP', we({ address: '300.1.1.1' }), "spec.address: '300.1.1.1' is not an IP address or a DNS name"],
    ['a CIDR', we({ address: '10.0.0.0/24' }), "spec.address: '10.0.0.0/24' is not an IP address or a DNS name"],
    ['a unix socket with ports', we({ address: 'unix:///var/run/app.sock', ports: { http: 80 } }), 'spec.ports: must not be set for the unix endpoint unix:///var/run/app.sock'],
    ['port 65536', we({ address: '10.0.0.1', ports: { http: 65536 } }), 'spec.ports.http: must be a port number 1-65535'],
    ['a port name that is not a DNS label', we({ address: '10.0.0.1', ports: { http_1: 80 } }), 'spec.ports.http_1: port name must be a DNS-1123 label'],
  ]);
});

describe('DestinationRule: istiod ValidateDestinationRule', () => {
  run([
    ['subsets and port-level settings', dr({ subsets: [{ name: 'v1', labels: { version: 'v1' } }], trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, loadBalancer: { simple: 'ROUND_ROBIN' } }] } }), ''],
    ['a subset name that is not a DNS label', dr({ subsets: [{ name: 'v1_beta' }] }), "spec.subsets[0].name: 'v1_beta' is not a DNS-1123 label"],
    ['a duplicate subset name', dr({ subsets: [{ name: 'v1' }, { name: 'v1' }] }), "spec.subsets[1].name: duplicate subset name 'v1'"],
    ['a port-level setting without a port', dr({ trafficPolicy: { portLevelSettings: [{ tls: { mode: 'ISTIO_MUTUAL' } }] } }), 'spec.trafficPolicy.portLevelSettings[0].port: required'],
    ['a port-level setting with port 0', dr({ trafficPolicy: { portLevelSettings: [{ port: { number: 0 }, tls: { mode: 'ISTIO_MUTUAL' } }] } }), 'spec.trafficPolicy.portLevelSettings[0].port.number: must be a port number 1-65535'],
    ['an empty port-level setting in a subset', dr({ subsets: [{ name: 'v1', trafficPolicy: { portLevelSettings: [{ port: { number: 80 } }] } }] }), 'spec.subsets[0].trafficPolicy.portLevelSettings[0]: must set at least one of loadBalancer, connectionPool, outlierDetection or tls'],
    ['a host that is not a DNS name', dr({ host: 'reviews..default' }), "spec.host: domain name 'reviews..default' is invalid (label '' is not a DNS-1123 label)"],
  ]);
});

describe('VirtualService: istiod ValidateVirtualService', () => {
  run([
    ['relative weights (not summing to 100)', vs(route(1, 3)), ''],
    ['a single destination without a weight', vs(route(undefined)), ''],
    ['a negative weight', vs(route(-10, 110)), 'spec.http[0].route[0].weight: must not be negative'],
    ['two destinations weighing 0', vs(route(0, undefined)), 'spec.http[0].route: the weights of several destinations must not all be 0'],
    ['no routes at all', vs({}), 'spec: must set http, tcp or tls routes'],
    ['the * host bound to the mesh', vs({ hosts: ['*'], ...route(undefined) }), 'spec.hosts[0]: the wildcard host * is not allowed for a VirtualService bound to the mesh'],
    ['an IP host', vs({ hosts: ['10.0.0.1'], ...route(undefined) }), ''],
    ['a destination host *', vs({ http: [{ route: [{ destination: { host: '*' } }] }] }), 'spec.http[0].route[0].destination.host: the wildcard host * is not a destination'],
    ['a destination subset that is not a DNS label', vs({ http: [{ route: [{ destination: { host: 'r', subset: 'v1_x' } }] }] }), "spec.http[0].route[0].destination.subset: 'v1_x' is not a DNS-1123 label"],
    ['a destination port 65536', vs({ http: [{ route: [{ destination: { host: 'r', port: { number: 65536 } } }] }] }), 'spec.http[0].route[0].destination.port.number: must be a port number 1-65535'],
    ['an HTTP match on port 0', vs({ http: [{ match: [{ port: 0 }], route: [{ destination: { host: 'r' } }] }] }), 'spec.http[0].match[0].port: must be a port number 1-65535'],
    ['a TCP route with subnets and a port', vs({ tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/8'], port: 5432 }], route: [{ destination: { host: 'db' } }] }] }), ''],
    ['a bad TCP destination subnet', vs({ tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/33'] }], route: [{ destination: { host: 'db' } }] }] }), "spec.tcp[0].match[0].destinationSubnets[0]: '10.0.0.0/33' is not a CIDR range (prefix length must be 0-32)"],
    ['a TCP match on port 65536', vs({ tcp: [{ match: [{ port: 65536 }], route: [{ destination: { host: 'db' } }] }] }), 'spec.tcp[0].match[0].port: must be a port number 1-65535'],
    ['a TCP route without destinations', vs({ tcp: [{ match: [{ port: 5432 }] }] }), 'spec.tcp[0].route: at least one destination is required'],
    ['an unknown TCP match field', vs({ tcp: [{ match: [{ sourceSubnet: '10.0.0.1' }], route: [{ destination: { host: 'db' } }] }] }), 'spec.tcp[0].match[0].sourceSubnet: unknown field'],
    ['a TLS match without SNI hosts', vs({ tls: [{ match: [{ port: 443 }], route: [{ destination: { host: 'r' } }] }] }), 'spec.tls[0].match[0].sniHosts: required'],
    ['a delegate with a TCP route', { ...vs({ tcp: [{ route: [{ destination: { host: 'db' } }] }] }), spec: { tcp: [{ route: [{ destination: { host: 'db' } }] }] } }, 'spec.tcp: must not be set in a delegate VirtualService (one without hosts)'],
  ]);
});

describe('Gateway API: CRD validation rules', () => {
  run([
    ['a Gateway with an IPAddress', gw({ addresses: [{ value: '10.0.0.10' }, { type: 'Hostname', value: 'gw.example.com' }] }), ''],
    ['a Gateway with a bad IPAddress', gw({ addresses: [{ type: 'IPAddress', value: '300.1.1.1' }] }), "spec.addresses[0].value: '300.1.1.1' is not an IP address"],
    ['a listener with an upper-case hostname', gw({ listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostname: 'Example.com' }] }), 'spec.listeners[0].hostname: must be a lower-case DNS name, optionally prefixed with *.'],
    ['a listener on port 65536', gw({ listeners: [{ name: 'http', port: 65536, protocol: 'HTTP' }] }), 'spec.listeners[0].port: must be a port number 1-65535'],
    ['an HTTPRoute with wildcard hostnames and a path prefix', hr({ hostnames: ['*.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }] }] }), ''],
    ['an HTTPRoute with an IP hostname', hr({ hostnames: ['10.0.0.1:80'] }), 'spec.hostnames[0]: must be a lower-case DNS name, optionally prefixed with *.'],
    ['a relative path prefix', hr({ rules: [{ matches: [{ path: { value: 'api' } }] }] }), "spec.rules[0].matches[0].path.value: must start with '/' when type is Exact or PathPrefix"],
    ['a parentRef port 0', hr({ parentRefs: [{ name: 'gw', port: 0 }] }), 'spec.parentRefs[0].port: must be a port number 1-65535'],
    ['a GRPCRoute method match with neither service nor method', gr({ rules: [{ matches: [{ method: { type: 'Exact' } }] }] }), 'spec.rules[0].matches[0].method: must set service, method or both'],
  ]);
});

describe('warnings istiod also gives', () => {
  it('an AuthorizationPolicy selector without labels selects the whole namespace', () => {
    const o = ap({ selector: {}, action: 'DENY', rules: [{ from: [{ source: { namespaces: ['x'] } }] }] });
    assert.ok(validateObject(o).ok);
    assert.deepEqual(meshWarnings(o as { apiVersion: string; kind: string }), [{ path: 'spec.selector', message: 'has no matchLabels, so it selects every workload in the namespace' }]);
  });
});
