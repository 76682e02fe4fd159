// `ambit analyze`: pure checks over a set of objects (files, the live cluster, or both).
// Each check lives in checks/ and owns stable codes documented in docs/analyze.md.
import { dataplaneLabels } from './checks/dataplane-labels.js';
import { duplicateRoutes } from './checks/duplicate-routes.js';
import { l7RuleWithoutWaypoint } from './checks/l7-rules.js';
import { disableHasNoEffect, strictWithPlaintextClients } from './checks/peer-authentication.js';
import { unknownNamespace, unknownServiceAccount } from './checks/references.js';
import { selectorMatchesNothing } from './checks/selector.js';
import { spiffePrincipal } from './checks/spiffe-principals.js';
import { servicePorts } from './checks/service-ports.js';
import { unsupportedActionWithoutWaypoint } from './checks/unsupported-action.js';
import { waypointReferences } from './checks/waypoint.js';
import { type Check, Cluster } from './model.js';
import type { Finding, KubeObject, Level } from './types.js';

export type { Finding, Level } from './types.js';

export const CHECKS: readonly Check[] = [
  selectorMatchesNothing, // AMB001
  unknownServiceAccount, // AMB002
  unknownNamespace, // AMB003
  l7RuleWithoutWaypoint, // AMB004
  strictWithPlaintextClients, // AMB005
  servicePorts, // AMB006, AMB007
  duplicateRoutes, // AMB008
  dataplaneLabels, // AMB009, AMB010
  waypointReferences, // AMB011, AMB012, AMB015
  unsupportedActionWithoutWaypoint, // AMB013
  disableHasNoEffect, // AMB014
  spiffePrincipal, // AMB017
];

const RANK: Record<Level, number> = { Error: 0, Warning: 1, Info: 2 };

/** Runs every check; findings sorted by level, then object, then code. */
export function analyze(objects: KubeObject[]): Finding[] {
  const cluster = new Cluster(objects.filter((o) => typeof o === 'object' && o !== null && typeof o.kind === 'string' && typeof o.apiVersion === 'string'));
  const out: Finding[] = [];
  for (const check of CHECKS) {
    try {
      out.push(...check(cluster));
    } catch (e) {
      // A malformed object must not hide every other finding.
      out.push({ code: 'AMB000', level: 'Error', object: '(analyzer)', message: `check ${check.name} failed: ${(e as Error).message}. Please report this.` });
    }
  }
  return out.sort((a, b) => RANK[a.level] - RANK[b.level] || a.object.localeCompare(b.object) || a.code.localeCompare(b.code) || (a.path ?? '').localeCompare(b.path ?? ''));
}

/** istioctl's line format: `Error [AMB004] (AuthorizationPolicy demo/allow-web) message`. */
export const formatFinding = (f: Finding): string => `${f.level} [${f.code}] (${f.object}) ${f.message}${f.path ? ` (at ${f.path})` : ''}`;
