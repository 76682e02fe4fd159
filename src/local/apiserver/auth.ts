// Local authentication: bearer tokens from a 0600 file written by `ambit cluster up`.
// Authorization: admins may do anything; a node may read everything and write only the
// pods bound to it (status, the ambient redirection annotation through it, and the final
// delete after it stopped them).
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';
import { REDIRECTION_ANNOTATION } from '../../model/enrollment.js';

export interface User {
  name: string;
  /** 'admin' for users and controllers, 'node' for node agents. */
  role: 'admin' | 'node';
  node?: string;
}

export interface TokenEntry {
  token: string;
  user: string;
  role: 'admin' | 'node';
  node?: string;
}

export class Authenticator {
  constructor(readonly tokens: TokenEntry[]) {}

  authenticate(req: IncomingMessage): User {
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ')) throw new ApiError('Unauthorized', 'Unauthorized: a bearer token is required (use the kubeconfig written by ambit cluster up)');
    const presented = Buffer.from(h.slice(7).trim());
    for (const t of this.tokens) {
      const want = Buffer.from(t.token);
      if (want.length === presented.length && timingSafeEqual(want, presented)) {
        return { name: t.user, role: t.role, ...(t.node ? { node: t.node } : {}) };
      }
    }
    throw new ApiError('Unauthorized', 'Unauthorized: unknown token');
  }
}

export interface Access {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  resource: string;
  subresource?: string;
  name?: string;
  /** For pod writes by a node: the node the pod is bound to. */
  podNode?: string;
}

export function authorize(user: User, a: Access): void {
  if (user.role === 'admin') return;
  if (a.verb === 'get' || a.verb === 'list' || a.verb === 'watch') return;
  if (a.resource === 'nodes' && a.name === user.node && a.verb !== 'delete') return;
  if (a.resource === 'pods' && (a.subresource === 'status' || a.verb === 'delete') && a.podNode === user.node) return;
  throw new ApiError('Forbidden', `${a.resource}${a.subresource ? `/${a.subresource}` : ''} is forbidden: User "${user.name}" cannot ${a.verb} it (nodes may only write the status of pods bound to them)`);
}

/**
 * What a node may change in a pod's metadata through pods/status: only the ambient redirection
 * annotation, set to `enabled` or `pending` or removed (what istio-cni writes). Checked on the
 * object as it would be stored, after the patch is applied.
 */
export function authorizePodStatusMetadata(user: User, before: Record<string, string> | undefined, after: Record<string, string> | undefined): void {
  if (user.role === 'admin') return;
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const k of keys) {
    if (before?.[k] === after?.[k]) continue;
    const v = after?.[k];
    if (k === REDIRECTION_ANNOTATION && (v === undefined || v === 'enabled' || v === 'pending')) continue;
    throw new ApiError(
      'Forbidden',
      `pods/status is forbidden: User "${user.name}" cannot change annotation ${k}${v !== undefined ? ` to '${v}'` : ''} (nodes may only set ${REDIRECTION_ANNOTATION} to 'enabled' or 'pending', or remove it)`,
    );
  }
}
