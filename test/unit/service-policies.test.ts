// The cluster's own side of internalTrafficPolicy and publishNotReadyAddresses (what kube-proxy
// and the endpoints controller do for traffic outside the mesh), from Kubernetes' rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeSubsets } from '../../src/local/controllers/endpoints-controller.js';
import type { Endpoints, Service } from '../../src/model/core/types.js';
import { serviceRules } from '../../src/local/node-agent/service-view.js';
import { pod, service } from './support/translate-fixtures.js';

const eps = (ns: string, name: string, addrs: [string, string][]): Endpoints => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name, namespace: ns },
  subsets: [{ addresses: addrs.map(([ip, nodeName]) => ({ ip, nodeName })), ports: [{ port: 8080 }] }],
});

describe('internalTrafficPolicy in the service rules', () => {
  const rows: [string, Service['spec']['internalTrafficPolicy'], string, string[]][] = [
    ['Cluster: every endpoint', 'Cluster', 'node1', ['10.0.1.5', '10.0.2.5']],
    ['unset: every endpoint', undefined, 'node1', ['10.0.1.5', '10.0.2.5']],
    ['Local: only this node\'s', 'Local', 'node1', ['10.0.1.5']],
    ['Local on a node without endpoints: none (dropped, not sent elsewhere)', 'Local', 'node3', []],
  ];
  for (const [name, itp, node, want] of rows) {
    it(name, () => {
      const s = service('app', 'web', { app: 'web' }, [{ port: 80, targetPort: 8080 }], { spec: itp ? { internalTrafficPolicy: itp } : {} });
      const [rule] = serviceRules([s], [eps('app', 'web', [['10.0.1.5', 'node1'], ['10.0.2.5', 'node2']])], node);
      assert.deepEqual(rule?.endpoints.map((e) => e.ip), want);
    });
  }
});

describe('publishNotReadyAddresses in the endpoints', () => {
  const pods = [pod('app', 'ready', { labels: { app: 'web' }, ip: '10.0.1.1' }), pod('app', 'starting', { labels: { app: 'web' }, ip: '10.0.1.2', ready: false }), pod('app', 'stopping', { labels: { app: 'web' }, ip: '10.0.1.3', terminating: true }), pod('app', 'done', { labels: { app: 'web' }, ip: '10.0.1.4', phase: 'Succeeded' })];
  const rows: [string, boolean | undefined, string[], string[]][] = [
    ['off: ready pods are addresses, not-ready ones notReadyAddresses, terminating and completed ones neither', undefined, ['10.0.1.1'], ['10.0.1.2']],
    ['on: ready, not-ready and terminating pods are all addresses; completed ones still not', true, ['10.0.1.1', '10.0.1.2', '10.0.1.3'], []],
  ];
  for (const [name, publish, ready, notReady] of rows) {
    it(name, () => {
      const s = service('app', 'web', { app: 'web' }, [{ port: 80, targetPort: 8080 }], { spec: publish !== undefined ? { publishNotReadyAddresses: publish } : {} });
      const [subset] = computeSubsets(s, pods);
      assert.deepEqual((subset?.addresses ?? []).map((a) => a.ip), ready);
      assert.deepEqual((subset?.notReadyAddresses ?? []).map((a) => a.ip), notReady);
    });
  }
});
