// The `baggage` header of HBONE (spec §2.4, ztunnel src/baggage.rs): who the sender is, on the
// CONNECT (the source) and on the 200 (the destination), for the peer's telemetry labels. Pure.
//
// Writing follows ztunnel exactly (fixed key order, empty values left out, no percent-encoding).
// Reading follows its rules (known keys only, the last one wins, `k=` clears) but never trusts
// the peer: oversized headers, members and values are ignored, never an error, because
// telemetry must not be able to break a tunnel.

/** Peer metadata carried in baggage; absent means unknown. */
export interface Baggage {
  clusterName?: string;
  namespace?: string;
  /** Lower-case, as the `k8s.<type>.name` key spells it. */
  workloadType?: 'deployment' | 'cronjob' | 'pod' | 'job';
  workloadName?: string;
  /** The canonical service (`service.name`). */
  serviceName?: string;
  /** The canonical revision (`service.version`). */
  serviceVersion?: string;
  region?: string;
  zone?: string;
}

/** W3C Baggage's limit for the whole header; more is ignored. */
export const MAX_BAGGAGE_BYTES = 8192;
/** W3C Baggage allows 180 members (list-members); we read no more than that. */
export const MAX_BAGGAGE_MEMBERS = 180;
/** Longer than any Kubernetes name (253); a longer value is dropped, not truncated. */
export const MAX_BAGGAGE_VALUE = 256;

const WORKLOAD_TYPES = ['deployment', 'cronjob', 'pod', 'job'] as const;

export function formatBaggage(b: Baggage): string {
  const kv: [string, string | undefined][] = [
    ['k8s.cluster.name', b.clusterName],
    ['k8s.namespace.name', b.namespace],
    [b.workloadType ? `k8s.${b.workloadType}.name` : '', b.workloadType ? b.workloadName : undefined],
    ['service.name', b.serviceName],
    ['service.version', b.serviceVersion],
    ['cloud.region', b.region],
    ['cloud.availability_zone', b.zone],
  ];
  return kv.filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(',');
}

/** W3C baggage-octet: visible ASCII except `"`, `,`, `;` and `\` (what may stand unencoded in a value). */
const VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

const FIELDS: Record<string, keyof Baggage> = {
  'k8s.cluster.name': 'clusterName',
  'k8s.namespace.name': 'namespace',
  'service.name': 'serviceName',
  'service.version': 'serviceVersion',
  'cloud.region': 'region',
  'cloud.availability_zone': 'zone',
};

/**
 * The peer's baggage, from one header value or several (HTTP/2 may repeat the header; Node
 * joins repeats with ", "). Unknown keys, properties (`;…`) and malformed members are skipped.
 */
export function parseBaggage(header: string | readonly string[] | undefined): Baggage {
  const out: Baggage = {};
  if (header === undefined) return out;
  const values = typeof header === 'string' ? [header] : header;
  let budget = MAX_BAGGAGE_BYTES;
  let members = 0;
  for (const value of values) {
    if (typeof value !== 'string') continue;
    if (value.length > budget) break; // past the limit: keep what was read before it
    budget -= value.length;
    for (const member of value.split(',')) {
      if (++members > MAX_BAGGAGE_MEMBERS) return out;
      const kv = member.split(';', 1)[0]!;
      const eq = kv.indexOf('=');
      if (eq < 0) continue;
      const key = kv.slice(0, eq).trim();
      const raw = kv.slice(eq + 1).trim();
      // ztunnel takes the text up to a second '=' as the value; so do we.
      const val = raw.split('=', 1)[0]!;
      if (val.length > MAX_BAGGAGE_VALUE || !VALUE.test(val)) continue;
      const v = val === '' ? undefined : val;
      const field = FIELDS[key];
      if (field) {
        if (v === undefined) delete out[field];
        else (out as Record<string, string>)[field] = v;
        continue;
      }
      const type = /^k8s\.([a-z]+)\.name$/.exec(key)?.[1];
      if (!type || !(WORKLOAD_TYPES as readonly string[]).includes(type)) continue;
      if (v === undefined) {
        delete out.workloadName;
        delete out.workloadType;
      } else {
        out.workloadName = v;
        out.workloadType = type as Baggage['workloadType'];
      }
    }
  }
  return out;
}
