// Gateway API references shared by Gateway, HTTPRoute and GRPCRoute. Pure.
import { z } from 'zod';
import { portNumber } from './common.js';

export const parentRef = z.strictObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().min(1, { error: 'required' }),
  sectionName: z.string().optional(),
  port: portNumber.optional(),
});

/** A backendRef to a core Service (the default kind) must name a port, as Gateway API's CEL rule says. */
export function backendRef<T extends z.ZodType>(filter: T) {
  return z
    .strictObject({
      group: z.string().optional(),
      kind: z.string().optional(),
      name: z.string().min(1, { error: 'required' }),
      namespace: z.string().optional(),
      port: portNumber.optional(),
      weight: z.number().int().min(0).max(1_000_000, { error: 'must be 0-1000000' }).optional(),
      filters: z.array(filter).optional(),
    })
    .refine((b) => b.port !== undefined || !((b.group ?? '') === '' && (b.kind ?? 'Service') === 'Service'), {
      error: 'required when referring to a Service',
      path: ['port'],
    });
}

/** Gateway API Hostname: a DNS name, optionally `*.`-prefixed; never an IP. */
export const hostname = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(253, { error: 'must be at most 253 characters' })
  .regex(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, { error: 'must be a lower-case DNS name, optionally prefixed with *.' });

export const hostnames = z.array(hostname).max(16, { error: 'at most 16 hostnames' });

export type ParentReference = z.infer<typeof parentRef>;
