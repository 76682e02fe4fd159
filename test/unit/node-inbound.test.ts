// Inbound authorization of the node tunnel (spec §2.6 step 3, §5.3) with a fake pod context.
import assert from 'node:assert/strict';
import net from 'node:net';
import { it } from 'node:test';
import { emptyMatch, type Authorization, type MeshSnapshot, type Workload } from '../../src/mesh-api/types.js';
import { authorizeInbound, handlePlaintextInbound } from '../../src/node-tunnel/inbound.js';
import { formatDryRun, type DryRunEvent } from '../../src/dataplane/inbound-authz.js';
import type { SocketFactory } from '../../src/platform/sockets.js';
import type { PodContext } from '../../src/node-tunnel/pod.js';
import { MeshState } from '../../src/dataplane/mesh-state.js';

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

// Dry-run through the real plaintext (15006) handler on loopback: only the netns parts of the
// socket factory are stood in for (original destination, dialing the app).
it('plaintext inbound: a matching dry-run DENY is reported once with what was enforced, and never enforced', async () => {
  const app = net.createServer((s) => s.end('hello'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as net.AddressInfo).port;
  const sockets: SocketFactory = {
    originalDst: () => ({ address: '10.0.1.2', port: 8080 }),
    connectFromNetns: () => net.connect(appPort, '127.0.0.1'),
    listenInNetns: () => assert.fail('not used'),
    setMark: () => assert.fail('not used'),
  };
  const dryDeny: Authorization = { ...deny({ sourceIps: [{ address: '127.0.0.1', length: 32 }] }), name: 'dry-deny', dryRun: true };
  const events: DryRunEvent[] = [];
  const ctx: PodContext = { ...ctxWith([dryDeny]), sockets, onDryRun: (e) => events.push(e) };
  const front = net.createServer((c) => handlePlaintextInbound(ctx, c));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  try {
    const got = await new Promise<string>((resolve, reject) => {
      const c = net.connect((front.address() as net.AddressInfo).port, '127.0.0.1');
      let data = '';
      c.on('data', (d) => (data += d.toString()));
      c.on('close', () => resolve(data));
      c.on('error', reject);
    });
    assert.equal(got, 'hello', 'the dry-run DENY did not stop the connection');
    assert.deepEqual(events, [
      { policy: 'b/dry-deny', action: 'DENY', decision: 'deny', message: 'dry-run: deny policy match', pod: '10.0.1.2', src: '127.0.0.1', dstPort: 8080, enforced: { allowed: true, reason: 'no allow policies' } },
    ]);
    assert.equal(formatDryRun(events[0]!), 'dry-run: deny policy match policy=b/dry-deny would=deny plaintext 127.0.0.1 -> 10.0.1.2:8080 (enforced: allow, no allow policies)');
  } finally {
    front.close();
    app.close();
  }
});
