// Inbound authorization of the node tunnel (spec §2.6 step 3, §5.3) with a fake pod context.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { emptyMatch, type Authorization, type MeshSnapshot, type Workload } from '../../src/api/types.js';
import { authorizeInbound } from '../../src/node/inbound.js';
import type { PodContext } from '../../src/node/pod.js';
import { MeshState } from '../../src/node/state.js';

const server = { uid: 'c//Pod/b/s', name: 's', namespace: 'b', addresses: ['10.0.1.2'], tunnelProtocol: 'HBONE', trustDomain: '', serviceAccount: 'server', services: {}, authorizationPolicies: [], status: 'HEALTHY' } as unknown as Workload;
const deny = (m: Partial<ReturnType<typeof emptyMatch>>): Authorization => ({ name: 'd', namespace: 'b', scope: 'NAMESPACE', action: 'DENY', dryRun: false, rules: [{ clauses: [{ matches: [{ ...emptyMatch(), ...m }] }] }] });
const ctxWith = (authorizations: Authorization[], workloads: Workload[] = [server]): PodContext => {
  const snap: MeshSnapshot = { workloads, services: [], authorizations };
  return { pod: { netns: 'x', netnsPath: '/run/netns/x', ip: '10.0.1.2' }, state: () => new MeshState(snap), sockets: undefined as never, identity: 'spiffe://cluster.local/ns/b/sa/server', connections: { opened: () => {}, closed: () => {} }, track: () => {}, trackInbound: () => {}, waitForWorkload: async () => true };
};
const peer = 'spiffe://cluster.local/ns/a/sa/client';

it('inbound authz: destination must be this pod and known; identity must parse; DENY by principal; plaintext has no identity', () => {
  const conn = { srcIp: '::ffff:10.0.2.5', dstIp: '10.0.1.2', dstPort: 8080, peerIdentity: peer };
  assert.deepEqual(authorizeInbound(ctxWith([]), conn), { allowed: true, reason: 'no allow policies' });
  assert.match(authorizeInbound(ctxWith([]), { ...conn, dstIp: '10.0.1.3' }).reason, /not this pod/);
  for (const port of [15001, 15006, 15008]) assert.match(authorizeInbound(ctxWith([]), { ...conn, dstPort: port }).reason, /SelfCall/, `port ${port}`);
  assert.match(authorizeInbound(ctxWith([], []), conn).reason, /unknown local workload/);
  assert.match(authorizeInbound(ctxWith([]), { ...conn, peerIdentity: 'spiffe://cluster.local/x' }).reason, /not a workload identity/);
  const byPrincipal = ctxWith([deny({ principals: [{ exact: 'cluster.local/ns/a/sa/client' }] })]);
  assert.deepEqual(authorizeInbound(byPrincipal, conn), { allowed: false, reason: 'denied by policy (b/d)' });
  assert.equal(authorizeInbound(byPrincipal, { ...conn, peerIdentity: undefined }).allowed, true);
  assert.equal(authorizeInbound(ctxWith([deny({ notPrincipals: [{ presence: true }] })]), { ...conn, peerIdentity: undefined }).allowed, false);
  assert.equal(authorizeInbound(ctxWith([deny({ sourceIps: [{ address: '10.0.2.5', length: 32 }] })]), conn).allowed, false);
});
