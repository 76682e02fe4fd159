// Every kind's schema in one lookup: core kinds (model/core) and the Istio / Gateway API kinds
// (model/mesh). Lives above both so neither imports the other.
import type { z } from 'zod';
import type { KindInfo } from './core/kinds.js';
import { SCHEMAS } from './core/schemas.js';
import { MESH_SCHEMAS } from './mesh/schemas.js';

/** One schema per kind: core kinds by Kind, mesh kinds by `<group>/<Kind>` (all their versions). */
export function schemaFor(info: Pick<KindInfo, 'group' | 'kind'>): z.ZodType | undefined {
  return info.group ? (MESH_SCHEMAS[`${info.group}/${info.kind}`] ?? SCHEMAS[info.kind]) : SCHEMAS[info.kind];
}
