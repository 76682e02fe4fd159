// Node credentials for the CA. Istio's ztunnel authenticates with a projected Kubernetes
// ServiceAccount JWT; the local cluster has no token issuer, so the CA mints its own:
//
//   JWT (RFC 7519), header {alg:'ES256', typ:'JWT'}, signed with a P-256 key that exists only
//   for this purpose (`<ca dir>/node-token-key.pem`, PKCS#8, mode 0600, made on first use;
//   not the CA signing key, so leaking a token key never lets anyone mint certificates).
//   Claims: {iss:'ambit-ca', sub:'system:node:<node>', aud:'istio-ca', node, iat, exp}.
//   The signature is raw r||s (JOSE form: dsaEncoding 'ieee-p1363'). Default validity 30 days.
//
// `ambit cluster up` writes one token per node; the CA accepts it as `authorization: Bearer`.
// A token proves only which node is calling; what that node may obtain is decided per call.
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as path from 'node:path';
import { AmbitError } from '../lib/errors.js';
import { loadOrCreateEcKey, signJwt, verifyJwt } from '../lib/es256-jwt.js';

export const NODE_TOKEN_ISSUER = 'ambit-ca';
export const NODE_TOKEN_AUDIENCE = 'istio-ca';
export const DEFAULT_NODE_TOKEN_TTL_S = 30 * 24 * 3600;
/** Tolerated clock difference for iat (tokens are made on the same machine; keep it small). */
const SKEW_S = 60;
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export type NodeAuthFailure = 'MALFORMED' | 'BAD_SIGNATURE' | 'EXPIRED' | 'NOT_YET_VALID' | 'WRONG_AUDIENCE' | 'WRONG_ISSUER';

export class NodeAuthError extends Error {
  constructor(readonly reason: NodeAuthFailure, message: string) {
    super(message);
  }
}

interface Claims {
  iss: string;
  sub: string;
  aud: string;
  node: string;
  iat: number;
  exp: number;
}

export const nodeTokenKeyPath = (caDir: string): string => path.join(caDir, 'node-token-key.pem');


/** Loads the node-token signing key (`<caDir>/node-token-key.pem` by default), creating it (0600) if it does not exist yet. */
function loadOrCreateKey(file: string): KeyObject {
  try {
    return loadOrCreateEcKey(file);
  } catch (e) {
    throw new AmbitError('AMBIT_E_CA_FILES', `node token key ${file} is unreadable or not a PEM private key (${(e as Error).message}); remove it and run ambit cluster up again to make a new one (old node tokens stop working)`);
  }
}

export class NodeAuthority {
  readonly #key: KeyObject;
  readonly #pub: KeyObject;

  private constructor(key: KeyObject) {
    this.#key = key;
    this.#pub = createPublicKey(key);
  }

  /** The node-token signer/verifier of the CA in caDir. */
  static open(caDir: string): NodeAuthority {
    return NodeAuthority.openKey(nodeTokenKeyPath(caDir));
  }

  /** The signer/verifier whose key is at `file` (a mesh control plane configured with its own key path). */
  static openKey(file: string): NodeAuthority {
    return new NodeAuthority(loadOrCreateKey(file));
  }

  issueNodeToken(node: string, ttlSeconds = DEFAULT_NODE_TOKEN_TTL_S, now = Date.now()): string {
    if (!NODE_NAME.test(node)) throw new Error(`'${node}' is not a valid node name`);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error(`node token TTL must be a positive number of seconds (got ${ttlSeconds})`);
    const iat = Math.floor(now / 1000);
    const claims: Claims = { iss: NODE_TOKEN_ISSUER, sub: `system:node:${node}`, aud: NODE_TOKEN_AUDIENCE, node, iat, exp: iat + ttlSeconds };
    return signJwt(this.#key, claims);
  }

  /** The node a token was issued to; NodeAuthError says why a token is not accepted. */
  verifyNodeToken(token: string, now = Date.now()): string {
    const checked = verifyJwt(this.#pub, token);
    if ('error' in checked) {
      if (checked.error === 'bad-signature') throw new NodeAuthError('BAD_SIGNATURE', 'the token signature does not verify: it was not issued by this cluster\'s CA (use the ca-token that ambit cluster up wrote for this node)');
      throw new NodeAuthError('MALFORMED', checked.detail);
    }
    const claims = checked.claims;
    if (!isClaims(claims)) throw new NodeAuthError('MALFORMED', 'the token claims must be {iss, sub, aud, node, iat, exp}');
    if (claims.iss !== NODE_TOKEN_ISSUER) throw new NodeAuthError('WRONG_ISSUER', `the token issuer is '${claims.iss}', expected '${NODE_TOKEN_ISSUER}'`);
    if (claims.aud !== NODE_TOKEN_AUDIENCE) throw new NodeAuthError('WRONG_AUDIENCE', `the token audience is '${claims.aud}', expected '${NODE_TOKEN_AUDIENCE}'`);
    if (claims.sub !== `system:node:${claims.node}` || !NODE_NAME.test(claims.node)) throw new NodeAuthError('MALFORMED', `the token subject '${claims.sub}' does not match its node '${claims.node}'`);
    const nowS = Math.floor(now / 1000);
    if (claims.exp <= nowS) throw new NodeAuthError('EXPIRED', `the token for ${claims.node} expired at ${new Date(claims.exp * 1000).toISOString()}; issue a new one (ambit cluster up writes fresh node tokens)`);
    if (claims.iat > nowS + SKEW_S) throw new NodeAuthError('NOT_YET_VALID', `the token for ${claims.node} is issued in the future (${new Date(claims.iat * 1000).toISOString()}); check the clock`);
    return claims.node;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isClaims(v: unknown): v is Claims {
  if (!isRecord(v)) return false;
  return ['iss', 'sub', 'aud', 'node'].every((k) => typeof v[k] === 'string') && Number.isInteger(v['iat']) && Number.isInteger(v['exp']);
}
