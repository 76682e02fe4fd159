// meshWarnings: valid-but-surprising config, per kind. The API server sends these as HTTP
// `Warning` headers and in status; `ambit apply` prints them. Pure.
import { authorizationPolicyWarnings, type AuthorizationPolicy } from './authorization-policy.js';
import { peerAuthenticationWarnings, type PeerAuthentication } from './peer-authentication.js';
import type { MeshWarning } from './warning.js';

export type { MeshWarning };

/** Warnings for a validated object of any kind (none for kinds without rules). */
export function meshWarnings(obj: { apiVersion: string; kind: string; spec?: unknown }): MeshWarning[] {
  const group = obj.apiVersion.split('/')[0];
  if (group === 'security.istio.io' && obj.kind === 'AuthorizationPolicy') return authorizationPolicyWarnings(obj as Pick<AuthorizationPolicy, 'spec'>);
  if (group === 'security.istio.io' && obj.kind === 'PeerAuthentication') return peerAuthenticationWarnings(obj as Pick<PeerAuthentication, 'spec'>);
  return [];
}

/** The text of one warning, as sent in a `Warning: 299 - "..."` header and printed by apply. */
export const warningText = (w: MeshWarning): string => `${w.path}: ${w.message}`;
