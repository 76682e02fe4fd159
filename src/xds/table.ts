// The server's current resources per type URL, each encoded once per version. The version is
// a content hash of the encoded message, so an unchanged resource keeps its version across
// snapshots and across control-plane restarts (a reconnecting client's
// initial_resource_versions then still match; spec §4.2).
import { createHash } from 'node:crypto';
import { authorizationResourceName, serviceResourceName, workloadResourceName, type MeshSnapshot } from '../mesh-api/types.js';
import { encodeAuthorization, encodeService, encodeWorkload } from './codec.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from './proto.js';
import { encodeFramedResource } from './wire.js';

export const TYPE_URLS = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL] as const;
export type TypeUrl = (typeof TYPE_URLS)[number];

export interface Entry {
  version: string;
  /** Resource message framed as DeltaDiscoveryResponse.resources. */
  framed: Buffer;
  /** The source value and its JSON, to skip re-encoding unchanged resources. */
  src: unknown;
  json: string;
}

/** name → previous version (undefined: the name is new). */
export type Changes = Map<string, string | undefined>;

interface Item {
  name: string;
  src: unknown;
  encode(): Buffer;
}

function items(s: MeshSnapshot, type: TypeUrl): Item[] {
  if (type === AUTHORIZATION_TYPE_URL) return s.authorizations.map((a) => ({ name: authorizationResourceName(a), src: a, encode: () => encodeAuthorization(a) }));
  return [...s.workloads.map((w) => ({ name: workloadResourceName(w), src: w as unknown, encode: () => encodeWorkload(w) })), ...s.services.map((v) => ({ name: serviceResourceName(v), src: v as unknown, encode: () => encodeService(v) }))];
}

export class ResourceTable {
  readonly entries = new Map<string, Entry>();

  constructor(readonly typeUrl: TypeUrl) {}

  /**
   * Replaces the contents with the snapshot's resources of this type. Returns what changed
   * (upserts and removals) and the names that appeared twice (the last one wins) or could not
   * be encoded (left out, so clients keep the previous version; reported to the caller).
   */
  replace(s: MeshSnapshot): { changes: Changes; duplicates: string[]; failed: { name: string; reason: string }[] } {
    const changes: Changes = new Map();
    const seen = new Set<string>();
    const duplicates: string[] = [];
    const failed: { name: string; reason: string }[] = [];
    for (const it of items(s, this.typeUrl)) {
      if (seen.has(it.name)) duplicates.push(it.name);
      seen.add(it.name);
      const prev = this.entries.get(it.name);
      if (prev && prev.src === it.src) continue;
      const json = JSON.stringify(it.src);
      if (prev && prev.json === json) {
        prev.src = it.src;
        continue;
      }
      let value: Buffer;
      try {
        value = it.encode();
      } catch (e) {
        failed.push({ name: it.name, reason: (e as Error).message });
        continue;
      }
      const version = createHash('sha256').update(value).digest('base64url').slice(0, 16);
      if (prev?.version === version) {
        Object.assign(prev, { src: it.src, json });
        continue;
      }
      if (!changes.has(it.name)) changes.set(it.name, prev?.version);
      this.entries.set(it.name, { version, framed: encodeFramedResource(it.name, version, this.typeUrl, value), src: it.src, json });
    }
    for (const [name, e] of this.entries) {
      if (seen.has(name)) continue;
      this.entries.delete(name);
      changes.set(name, e.version);
    }
    return { changes, duplicates, failed };
  }
}
