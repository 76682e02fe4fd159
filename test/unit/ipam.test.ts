// Pod IP allocation: range, round-robin reuse policy, restore after restart, exhaustion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIRST_POD_HOST, LAST_POD_HOST } from '../../src/local/cluster/addressing.js';
import { Ipam } from '../../src/local/cluster/ipam.js';

const CAPACITY = LAST_POD_HOST - FIRST_POD_HOST + 1;

describe('Ipam', () => {
  it('allocates from the node CIDR starting at the first pod host', () => {
    const ipam = new Ipam(3);
    assert.equal(ipam.allocate('demo/a'), `10.0.3.${FIRST_POD_HOST}`);
    assert.equal(ipam.allocate('demo/b'), `10.0.3.${FIRST_POD_HOST + 1}`);
    assert.equal(ipam.inUse, 2);
  });

  it('is idempotent per pod key', () => {
    const ipam = new Ipam(1);
    const ip = ipam.allocate('demo/a');
    assert.equal(ipam.allocate('demo/a'), ip);
    assert.equal(ipam.ipOf('demo/a'), ip);
    assert.equal(ipam.inUse, 1);
  });

  it('does not hand a just-released IP to the next pod', () => {
    const ipam = new Ipam(1);
    const a = ipam.allocate('a');
    ipam.allocate('b');
    ipam.release(a);
    assert.equal(ipam.ipOf('a'), undefined);
    assert.equal(ipam.allocate('c'), '10.0.1.4');
  });

  it('wraps around and reuses freed IPs only after the end of the range', () => {
    const ipam = new Ipam(1);
    for (let i = 0; i < CAPACITY; i++) ipam.allocate(`p${i}`);
    ipam.release('10.0.1.10');
    ipam.release('10.0.1.5');
    assert.equal(ipam.allocate('x'), '10.0.1.5');
    assert.equal(ipam.allocate('y'), '10.0.1.10');
  });

  it('reports exhaustion clearly', () => {
    const ipam = new Ipam(1);
    for (let i = 0; i < CAPACITY; i++) ipam.allocate(`p${i}`);
    assert.equal(ipam.inUse, 253);
    assert.throws(() => ipam.allocate('one-too-many'), { message: 'node1 has no free pod IPs (253 in use)' });
  });

  it('restores state and continues after the highest restored IP', () => {
    const ipam = new Ipam(2);
    ipam.restore('10.0.2.7', 'demo/a');
    ipam.restore('10.0.2.3', 'demo/b');
    ipam.restore('10.0.2.7', 'demo/a'); // same again: no-op
    assert.equal(ipam.ipOf('demo/b'), '10.0.2.3');
    assert.equal(ipam.allocate('demo/c'), '10.0.2.8');
    assert.throws(() => ipam.restore('10.0.2.7', 'demo/z'), /already held by demo\/a/);
    assert.throws(() => ipam.restore('10.0.2.9', 'demo/a'), /already holds 10\.0\.2\.7/);
  });

  it('rejects IPs outside the node pod range', () => {
    const ipam = new Ipam(1);
    for (const bad of ['10.0.2.5', '10.0.1.1', '10.0.1.255', '10.0.1.x', '10.0.1.', '192.168.0.1']) {
      assert.throws(() => ipam.restore(bad, 'k'), /is not a pod IP of node1/, bad);
      assert.throws(() => ipam.release(bad), /is not a pod IP of node1/, bad);
    }
    ipam.release('10.0.1.9'); // free already: ignored
  });
});
