// The node agent's enrollment socket: a pod added while no node tunnel is connected is sent
// when one connects, and its ack is reported (the agent then annotates the pod `enabled`).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { frame, LineReader, parseRequest, ZDS_VERSION, type AddWorkload, type WorkloadRequest } from '../../src/mesh-api/zds.js';
import { TunnelLink } from '../../src/local/node-agent/tunnel-link.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-tunnel-link-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const add = (uid: string): AddWorkload => ({ type: 'add', uid, workload: { name: uid, namespace: 'demo', serviceAccount: 'default' }, netns: `ns-${uid}`, ip: '10.0.1.9' });

/** A node tunnel speaking the protocol: hello, then answers each frame with `answer(frame)`. */
function tunnel(sock: string, answer: (m: WorkloadRequest) => string): Promise<{ got: WorkloadRequest[]; socket: net.Socket }> {
  return new Promise((resolve) => {
    const got: WorkloadRequest[] = [];
    const reader = new LineReader();
    const s = net.connect(sock, () => {
      s.write(frame({ type: 'hello', version: ZDS_VERSION }));
      resolve({ got, socket: s });
    });
    s.setEncoding('utf8');
    s.on('data', (chunk: string) =>
      reader.push(chunk, (line) => {
        const m = parseRequest(line);
        got.push(m);
        s.write(frame({ type: 'ack', error: answer(m) }));
      }),
    );
  });
}

describe('TunnelLink', () => {
  it('reports each resent pod\'s ack when a tunnel connects, and not pods deleted meanwhile', async () => {
    const link = new TunnelLink(path.join(dir, 'a.sock'), () => {});
    await link.listen();
    const resent: [string, string][] = [];
    link.onResent((uid, err) => resent.push([uid, err]));
    try {
      assert.equal(await link.add(add('p1')), 'no node tunnel connected');
      assert.equal(await link.add(add('p2')), 'no node tunnel connected');
      assert.equal(await link.add(add('gone')), 'no node tunnel connected');
      await link.del('gone');
      const t = await tunnel(path.join(dir, 'a.sock'), (m) => (m.type === 'add' && m.uid === 'p2' ? 'netns not found' : ''));
      for (let i = 0; i < 100 && !t.got.some((m) => m.type === 'snapshot_sent'); i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(t.got.map((m) => (m.type === 'add' ? m.uid : m.type)), ['p1', 'p2', 'snapshot_sent']);
      assert.deepEqual(resent, [['p1', ''], ['p2', 'netns not found']]);
      // Later adds go straight to the connected tunnel and answer the caller, not the listener.
      assert.equal(await link.add(add('p3')), '');
      assert.equal(resent.length, 2);
      t.socket.destroy();
    } finally {
      await link.close();
    }
  });
});
