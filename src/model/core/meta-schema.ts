// Shared zod pieces for object metadata (names, labels), used by the core and mesh schemas. Pure.
import { z } from 'zod';

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
export const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

export const labelKey = z.string().refine(
  (k) => {
    const parts = k.split('/');
    if (parts.length > 2) return false;
    const name = parts[parts.length - 1]!;
    const prefix = parts.length === 2 ? parts[0]! : undefined;
    if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
    return name.length <= 63 && LABEL_NAME.test(name);
  },
  { error: 'must be [prefix/]name: name <= 63 chars of alphanumerics, -, _ or ., starting and ending alphanumeric' },
);
export const labelValue = z.string().max(63, { error: 'must be at most 63 characters' }).regex(LABEL_VALUE, {
  error: 'must be empty or alphanumerics, -, _ or ., starting and ending alphanumeric',
});
export const labels = z.record(labelKey, labelValue);

const ownerReference = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

export function metadata(nameRe: RegExp, nameRule: string, maxLen: number) {
  return z.strictObject({
    name: z.string().max(maxLen, { error: `must be at most ${maxLen} characters` }).regex(nameRe, { error: nameRule }).optional(),
    generateName: z.string().optional(),
    namespace: z.string().regex(DNS1123_LABEL, { error: 'must be a DNS-1123 label' }).optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: z.number().int().optional(),
    creationTimestamp: z.string().nullable().optional(),
    deletionTimestamp: z.string().optional(),
    deletionGracePeriodSeconds: z.number().int().optional(),
    labels: labels.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    ownerReferences: z.array(ownerReference).optional(),
    finalizers: z.array(z.string()).optional(),
    managedFields: z.array(z.unknown()).optional(),
  });
}
export const subdomainMeta = metadata(DNS1123_SUBDOMAIN, 'must be a lowercase DNS-1123 subdomain (a-z, 0-9, -, .)', 253);
export const labelMeta = metadata(DNS1123_LABEL, 'must be a lowercase DNS-1123 label (a-z, 0-9, -)', 63);
export const serviceMeta = metadata(DNS1035_LABEL, 'must be a DNS-1035 label (start with a letter; a-z, 0-9, -)', 63);

