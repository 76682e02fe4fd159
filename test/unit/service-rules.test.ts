// The kube-proxy renderer: nft script text for DNAT, zero-endpoint rejects and hairpin SNAT.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ServiceRule, renderServiceRules } from '../../src/local/cluster/net/service-proxy.js';

/** Lines of the named chain's body (between `chain <name> {` and its `}`), trimmed. */
function chainBody(script: string, name: string): string[] {
  const lines = script.split('\n').map((l) => l.trim());
  const start = lines.indexOf(`chain ${name} {`);
  assert.ok(start >= 0, `chain ${name} missing`);
  const end = lines.indexOf('}', start);
  return lines.slice(start + 1, end).filter((l) => !l.startsWith('type '));
}

const svc = (over: Partial<ServiceRule>): ServiceRule => ({ vip: '10.96.0.10', port: 80, protocol: 'TCP', endpoints: [], ...over });

describe('renderServiceRules', () => {
  it('replaces the table in one transaction and hooks prerouting and output', () => {
    const s = renderServiceRules([]);
    const lines = s.split('\n');
    const add = lines.indexOf('add table ip ambit_services');
    const del = lines.indexOf('delete table ip ambit_services');
    const def = lines.indexOf('table ip ambit_services {');
    assert.ok(add >= 0 && add < del && del < def, s);
    assert.match(s, /type nat hook prerouting priority dstnat;/);
    assert.match(s, /type nat hook output priority -100;/);
    assert.deepEqual(chainBody(s, 'services'), []);
    assert.deepEqual(chainBody(s, 'postrouting'), []);
    assert.ok(s.endsWith('}\n'));
  });

  const cases: { name: string; services: ServiceRule[]; services_chain: string[]; refuse_extra: string[] }[] = [
    {
      name: 'single endpoint: plain dnat',
      services: [svc({ endpoints: [{ ip: '10.0.1.2', port: 8080 }] })],
      services_chain: ['ip daddr 10.96.0.10 tcp dport 80 dnat to 10.0.1.2:8080'],
      refuse_extra: [],
    },
    {
      name: 'several endpoints: random map of address . port',
      services: [svc({ endpoints: [{ ip: '10.0.1.2', port: 8080 }, { ip: '10.0.2.2', port: 9090 }, { ip: '10.0.2.3', port: 8080 }] })],
      services_chain: ['ip daddr 10.96.0.10 tcp dport 80 dnat to numgen random mod 3 map { 0 : 10.0.1.2 . 8080, 1 : 10.0.2.2 . 9090, 2 : 10.0.2.3 . 8080 }'],
      refuse_extra: [],
    },
    {
      name: 'UDP service',
      services: [svc({ vip: '10.96.0.53', port: 53, protocol: 'UDP', endpoints: [{ ip: '10.0.1.5', port: 5353 }] })],
      services_chain: ['ip daddr 10.96.0.53 udp dport 53 dnat to 10.0.1.5:5353'],
      refuse_extra: [],
    },
    {
      name: 'no endpoints: TCP reset / ICMP port unreachable, no dnat',
      services: [svc({}), svc({ vip: '10.96.0.53', port: 53, protocol: 'UDP' })],
      services_chain: [],
      refuse_extra: ['ip daddr 10.96.0.10 tcp dport 80 reject with tcp reset', 'ip daddr 10.96.0.53 udp dport 53 reject with icmp type port-unreachable'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = renderServiceRules(c.services);
      assert.deepEqual(chainBody(s, 'services'), c.services_chain);
      assert.deepEqual(chainBody(s, 'refuse'), [
        ...c.refuse_extra,
        'ip daddr 10.96.0.0/16 meta l4proto tcp reject with tcp reset',
        'ip daddr 10.96.0.0/16 reject with icmp type port-unreachable',
      ]);
    });
  }

  it('masquerades only hairpin flows, one element per distinct endpoint IP', () => {
    const s = renderServiceRules([
      svc({ endpoints: [{ ip: '10.0.1.2', port: 8080 }, { ip: '10.0.2.2', port: 8080 }] }),
      svc({ port: 81, endpoints: [{ ip: '10.0.1.2', port: 8081 }] }),
    ]);
    assert.deepEqual(chainBody(s, 'postrouting'), ['ct status dnat ip saddr . ip daddr { 10.0.1.2 . 10.0.1.2, 10.0.2.2 . 10.0.2.2 } masquerade']);
  });

  it('refusal chains are reached from forward and output filter hooks', () => {
    const s = renderServiceRules([]);
    assert.deepEqual(chainBody(s, 'forward'), ['jump refuse']);
    assert.deepEqual(chainBody(s, 'output_filter'), ['jump refuse']);
  });

  it('is deterministic', () => {
    const input = [svc({ endpoints: [{ ip: '10.0.1.2', port: 1 }, { ip: '10.0.1.3', port: 2 }] })];
    assert.equal(renderServiceRules(input), renderServiceRules(input));
  });

  const invalid: [string, ServiceRule, RegExp][] = [
    ['VIP', svc({ vip: '10.96.0.300' }), /VIP is not an IPv4/],
    ['VIP injection', svc({ vip: '10.96.0.1; flush ruleset' }), /VIP is not an IPv4/],
    ['port', svc({ port: 0 }), /port must be 1-65535/],
    ['port fraction', svc({ port: 80.5 }), /port must be 1-65535/],
    ['protocol', svc({ protocol: 'SCTP' as 'TCP' }), /protocol must be TCP or UDP/],
    ['endpoint', svc({ endpoints: [{ ip: '10.0.1.2', port: 70000 }] }), /bad endpoint/],
  ];
  for (const [what, s, err] of invalid) {
    it(`rejects a bad ${what}`, () => assert.throws(() => renderServiceRules([s]), err));
  }

  it('rejects the same VIP:port/protocol twice', () => {
    assert.throws(() => renderServiceRules([svc({}), svc({})]), /listed twice/);
    renderServiceRules([svc({}), svc({ protocol: 'UDP' })]); // same port, other protocol: fine
  });
});
