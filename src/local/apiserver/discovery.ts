// Discovery documents (/api, /apis, /api/v1, /apis/<g>/<v>) and /version, built from the kind registry.
import { KINDS, type KindInfo } from '../../model/core/kinds.js';

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export const versionInfo = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-ambit',
  gitCommit: '',
  gitTreeState: 'clean',
  buildDate: '2026-11-23T00:00:00Z',
  goVersion: 'n/a',
  compiler: 'ambit',
  platform: 'linux/amd64',
};

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groups(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const k of KINDS) {
    if (!k.group) continue;
    const vs = m.get(k.group) ?? [];
    if (!vs.includes(k.version)) vs.push(k.version);
    m.set(k.group, vs);
  }
  return m;
}

export function apiGroupList(): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups()].map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

export function apiGroup(name: string): object | undefined {
  const versions = groups().get(name);
  if (!versions) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name,
    versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
  };
}

export function apiResourceList(group: string, version: string): object | undefined {
  const kinds = KINDS.filter((k) => k.group === group && k.version === version);
  if (kinds.length === 0) return undefined;
  const resources: object[] = [];
  for (const k of kinds) {
    // As the API server serves CRDs: shortNames and categories only when there are some.
    resources.push({
      name: k.resource,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: VERBS,
      ...(k.shortNames.length ? { shortNames: k.shortNames } : {}),
      ...(k.categories.length ? { categories: k.categories } : {}),
    });
    for (const sub of k.subresources) resources.push(subresource(k, sub));
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

function subresource(k: KindInfo, sub: string): object {
  if (sub === 'scale') {
    return { name: `${k.resource}/scale`, singularName: '', namespaced: k.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
  }
  return { name: `${k.resource}/${sub}`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: ['get', 'patch', 'update'] };
}

/**
 * Minimal OpenAPI v3: one PATCH operation per kind that declares the `fieldValidation`
 * query parameter. kubectl reads this to learn that the server validates fields itself
 * (strictly, always), so it does not need full schemas for client-side validation.
 */
export function openApiV3Root(): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const k of KINDS) {
    const gv = k.group ? `apis/${k.group}/${k.version}` : `api/${k.version}`;
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=ambit1` };
  }
  return { paths };
}

export function openApiV3GroupVersion(gv: string): object | undefined {
  const kinds = KINDS.filter((k) => (k.group ? `apis/${k.group}/${k.version}` : `api/${k.version}`) === gv);
  if (kinds.length === 0) return undefined;
  const paths: Record<string, object> = {};
  for (const k of kinds) {
    const item = `/${gv}${k.namespaced ? '/namespaces/{namespace}' : ''}/${k.resource}/{name}`;
    paths[item] = {
      patch: {
        'x-kubernetes-group-version-kind': { group: k.group, version: k.version, kind: k.kind },
        'x-kubernetes-action': 'patch',
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Ambit', version: versionInfo.gitVersion }, paths };
}
