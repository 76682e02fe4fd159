// Node tokens for the CA: ES256 JWTs with a dedicated 0600 key; clear reasons for refusal.
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { NodeAuthError, NodeAuthority, nodeTokenKeyPath } from '../../src/ca/node-auth.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-node-auth-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Signs arbitrary claims with the CA's node-token key (to forge wrong-audience tokens). */
function forge(claims: object): string {
  const key = createPrivateKey(fs.readFileSync(nodeTokenKeyPath(dir), 'utf8'));
  const input = `${Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

const reasonOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof NodeAuthError, String(e));
    return e.reason;
  }
  return 'accepted';
};

describe('node tokens', () => {
  it('creates the key 0600 on first use and reuses it', () => {
    const a = NodeAuthority.open(dir);
    assert.equal(fs.statSync(nodeTokenKeyPath(dir)).mode & 0o777, 0o600);
    const token = a.issueNodeToken('node1');
    assert.equal(NodeAuthority.open(dir).verifyNodeToken(token), 'node1');
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual({ iss: claims['iss'], sub: claims['sub'], aud: claims['aud'], node: claims['node'] }, { iss: 'ambit-ca', sub: 'system:node:node1', aud: 'istio-ca', node: 'node1' });
    assert.equal((claims['exp'] as number) - (claims['iat'] as number), 30 * 24 * 3600);
  });

  it('refuses expired, tampered, foreign, wrong-audience and malformed tokens', () => {
    const a = NodeAuthority.open(dir);
    const now = Math.floor(Date.now() / 1000);
    assert.equal(reasonOf(() => a.verifyNodeToken(a.issueNodeToken('node1', 10, Date.now() - 60_000))), 'EXPIRED');
    const [h, , s] = a.issueNodeToken('node1').split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ iss: 'ambit-ca', sub: 'system:node:node2', aud: 'istio-ca', node: 'node2', iat: now, exp: now + 60 })).toString('base64url')}.${s}`;
    assert.equal(reasonOf(() => a.verifyNodeToken(tampered)), 'BAD_SIGNATURE');
    assert.equal(reasonOf(() => a.verifyNodeToken(NodeAuthority.open(path.join(dir, 'other')).issueNodeToken('node1'))), 'BAD_SIGNATURE');
    assert.equal(reasonOf(() => a.verifyNodeToken(forge({ iss: 'ambit-ca', sub: 'system:node:node1', aud: 'kubernetes', node: 'node1', iat: now, exp: now + 60 }))), 'WRONG_AUDIENCE');
    assert.equal(reasonOf(() => a.verifyNodeToken(forge({ iss: 'ambit-ca', sub: 'system:node:node2', aud: 'istio-ca', node: 'node1', iat: now, exp: now + 60 }))), 'MALFORMED');
    assert.equal(reasonOf(() => a.verifyNodeToken('not-a-jwt')), 'MALFORMED');
    assert.throws(() => a.verifyNodeToken(forge({ iss: 'ambit-ca', sub: 'system:node:node1', aud: 'kubernetes', node: 'node1', iat: now, exp: now + 60 })), /audience is 'kubernetes', expected 'istio-ca'/);
  });
});
