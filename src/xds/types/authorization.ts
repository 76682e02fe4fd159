// istio.security.Authorization, named `<namespace>/<name>` (spec §4.6). Sent to every client.
import { authorizationResourceName } from '../../mesh-api/types.js';
import { decodeAuthorization, encodeAuthorization } from '../codec.js';
import { AUTHORIZATION_TYPE_URL } from '../proto.js';
import type { ResourceType } from '../resource-type.js';

export const authorizationType: ResourceType = {
  typeUrl: AUTHORIZATION_TYPE_URL,
  audience: 'all',
  items: (s) => s.authorizations.map((a) => ({ name: authorizationResourceName(a), src: a, encode: () => encodeAuthorization(a) })),
  apply(store, name, value) {
    const a = decodeAuthorization(value);
    if (authorizationResourceName(a) !== name) throw new Error(`name should be ${authorizationResourceName(a)}`);
    store.authorizations.set(name, a);
  },
  remove(store, name) {
    store.authorizations.delete(name);
  },
};
