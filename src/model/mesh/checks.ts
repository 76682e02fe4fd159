// Field checks istiod's validation webhook applies beyond the CRD schemas (istio
// pkg/config/validation, pkg/config/security), shared by the mesh kinds. Each returns why a
// value is refused, or undefined. Pure.
import type { z } from 'zod';
import { ipProblem } from '../../lib/ip.js';

export type Path = (string | number)[];

/** Adds one error at `path` (relative to the object being refined). */
export function issue(ctx: z.RefinementCtx, path: Path, message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

/** Each value must be an IP (or, with `cidr`, an IP or CIDR), as istiod's ValidateIPs / ValidateIPSubnet. */
export function checkIps(ctx: z.RefinementCtx, values: readonly string[] | undefined, path: Path, cidr = true): void {
  values?.forEach((v, i) => {
    const p = ipProblem(v, cidr);
    if (p) issue(ctx, [...path, i], p);
  });
}

/** A port written as a decimal string, 1-65535. */
export function portTextProblem(v: string): string | undefined {
  return /^[0-9]{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : `'${v}' is not a port number 1-65535`;
}

/** istiod CheckEmptyValues: an empty string in a match list would match nothing (or everything). */
export function checkNoEmpty(ctx: z.RefinementCtx, values: readonly string[] | undefined, path: Path): void {
  values?.forEach((v, i) => v === '' && issue(ctx, [...path, i], 'must not be empty'));
}

/** istiod CheckServiceAccount: `sa` or `ns/sa`, no wildcard, at most 16 values of 320 characters. */
export function checkServiceAccounts(ctx: z.RefinementCtx, values: readonly string[] | undefined, path: Path): void {
  if (!values) return;
  if (values.length > 16) issue(ctx, path, 'at most 16 service accounts');
  values.forEach((v, i) => {
    const p = serviceAccountProblem(v);
    if (p) issue(ctx, [...path, i], p);
  });
}

export function serviceAccountProblem(v: string): string | undefined {
  if (v === '') return 'must not be empty';
  if (v.includes('*')) return `wildcards are not allowed in service accounts ('${v}')`;
  if (v.length > 320) return 'must be at most 320 characters';
  const parts = v.split('/');
  if (parts.length > 2 || parts.some((x) => x === '')) return `'${v}' must be 'serviceAccount' or 'namespace/serviceAccount'`;
  return undefined;
}

/** istiod CheckWildcardValues: at most one `*`, only at the start or the end. */
export function wildcardValueProblem(v: string): string | undefined {
  if (v === '') return 'must not be empty';
  const n = v.split('*').length - 1;
  if (n > 1) return `at most one wildcard is allowed ('${v}')`;
  if (n === 1 && v !== '*' && !v.startsWith('*') && !v.endsWith('*')) return `a wildcard is only allowed at the start or end ('${v}')`;
  return undefined;
}

// Istio's DNS-1123 label (pkg/config/labels) accepts upper case, unlike Kubernetes'.
const DNS1123_LABEL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
export const isDns1123Label = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);

/** istiod ValidateFQDN: dot-separated DNS-1123 labels, a non-numeric top-level label, at most 255 characters. */
export function fqdnProblem(name: string): string | undefined {
  return domainProblem(name, false);
}

/** istiod ValidateWildcardDomain: an FQDN whose first label may be `*`, `*foo` or `*-foo`. */
export function wildcardDomainProblem(name: string): string | undefined {
  return domainProblem(name, true);
}

function domainProblem(name: string, wildcard: boolean): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.length > 255) return `domain name '${name}' is too long (max 255)`;
  let labels = name.split('.');
  if (labels.length > 1 && labels[labels.length - 1] === '') labels = labels.slice(0, -1); // `istio.io.` is allowed
  const tld = labels[labels.length - 1] ?? '';
  if (/^[0-9]+$/.test(tld)) return `domain name '${name}' is invalid (top-level label '${tld}' cannot be all-numeric)`;
  const bad = labels.find((l, i) => !(wildcard && i === 0 && (l === '*' || (l.length <= 63 && isDns1123Label(l.replace(/^\*-?/, ''))))) && !isDns1123Label(l));
  return bad === undefined ? undefined : `domain name '${name}' is invalid (label '${bad}' is not a DNS-1123 label)`;
}

/** The kinds istiod lets a policy's targetRef(s) name (group '' is core). */
const TARGET_KINDS = ['/Service', 'networking.istio.io/ServiceEntry', 'gateway.networking.k8s.io/Gateway', 'gateway.networking.k8s.io/GatewayClass'];

/** istiod validatePolicyTargetReference: same-namespace references to Service, ServiceEntry, Gateway or GatewayClass. */
export function checkTargetRef(ctx: z.RefinementCtx, ref: { group?: string | undefined; kind: string; namespace?: string | undefined } | undefined, path: Path): void {
  if (!ref) return;
  if (ref.namespace) issue(ctx, [...path, 'namespace'], 'must not be set: cross-namespace references are not supported');
  if (!TARGET_KINDS.includes(`${ref.group ?? ''}/${ref.kind}`)) {
    issue(ctx, [...path, 'kind'], `must refer to a Service, networking.istio.io ServiceEntry, or gateway.networking.k8s.io Gateway or GatewayClass (got '${ref.group ?? ''}/${ref.kind}')`);
  }
}

/** istiod validateOneOfSelectorType: a policy attaches by selector, targetRef or targetRefs, never two. */
export function checkOneAttachment(ctx: z.RefinementCtx, s: { selector?: unknown; targetRef?: unknown; targetRefs?: unknown[] | undefined }): void {
  if (s.targetRef && s.targetRefs?.length) issue(ctx, ['targetRefs'], 'only one of targetRef or targetRefs may be set');
  if (s.selector && (s.targetRef || s.targetRefs?.length)) issue(ctx, ['selector'], 'only one of selector or targetRef(s) may be set');
}

/**
 * istiod validateWorkloadEntry's address rule: an IP, a `unix://` socket path, or (where
 * `fqdn`) a DNS name; a unix endpoint takes no ports.
 */
export function checkEndpoint(ctx: z.RefinementCtx, e: { address?: string | undefined; ports?: Record<string, number> | undefined }, path: Path, fqdn: boolean): void {
  const addr = e.address ?? '';
  if (addr.startsWith('unix://')) {
    if (addr.length === 'unix://'.length) issue(ctx, [...path, 'address'], 'a unix:// address needs a socket path');
    if (Object.keys(e.ports ?? {}).length) issue(ctx, [...path, 'ports'], `must not be set for the unix endpoint ${addr}`);
  } else if (addr !== '' && ipProblem(addr, false)) {
    if (!fqdn) issue(ctx, [...path, 'address'], `'${addr}' is not an IP address`);
    else if (fqdnProblem(addr)) issue(ctx, [...path, 'address'], `'${addr}' is not an IP address or a DNS name`);
  }
  for (const name of Object.keys(e.ports ?? {})) if (!isDns1123Label(name)) issue(ctx, [...path, 'ports', name], 'port name must be a DNS-1123 label');
}
