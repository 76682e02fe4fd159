// The server's current resources per type URL, each encoded once per version. The version is
// a content hash of the encoded message, so an unchanged resource keeps its version across
// snapshots and across control-plane restarts (a reconnecting client's
// initial_resource_versions then still match; spec §4.2).
import { createHash } from 'node:crypto';
import type { MeshSnapshot } from '../mesh-api/types.js';
import { RESOURCE_TYPES } from './registry.js';
import type { ResourceType } from './resource-type.js';
import { encodeFramedResource } from './wire.js';

export const TYPE_URLS: readonly string[] = RESOURCE_TYPES.map((t) => t.typeUrl);
export type TypeUrl = string;

export interface Entry {
  version: string;
  /** Resource message framed as DeltaDiscoveryResponse.resources. */
  framed: Buffer;
  /** The source value and its JSON, to skip re-encoding unchanged resources. */
  src: unknown;
  json: string;
  /** Which waypoint receives it (types with audience 'waypoint'). */
  audience?: string;
}

/** What a changed name was before (version undefined: the name is new). */
export interface Prev {
  version: string | undefined;
  audience: string | undefined;
}

/** name → what it was before this replace. */
export type Changes = Map<string, Prev>;

export class ResourceTable {
  readonly entries = new Map<string, Entry>();
  readonly typeUrl: TypeUrl;

  constructor(readonly type: ResourceType) {
    this.typeUrl = type.typeUrl;
  }

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
    for (const it of this.type.items(s)) {
      if (seen.has(it.name)) duplicates.push(it.name);
      seen.add(it.name);
      const prev = this.entries.get(it.name);
      // A new audience is a change for the clients even when the bytes are not.
      if (prev && prev.audience !== it.audience) {
        if (!changes.has(it.name)) changes.set(it.name, { version: prev.version, audience: prev.audience });
        if (it.audience === undefined) delete prev.audience;
        else prev.audience = it.audience;
      }
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
      if (!changes.has(it.name)) changes.set(it.name, { version: prev?.version, audience: prev?.audience });
      this.entries.set(it.name, { version, framed: encodeFramedResource(it.name, version, this.typeUrl, value), src: it.src, json, ...(it.audience !== undefined ? { audience: it.audience } : {}) });
    }
    for (const [name, e] of this.entries) {
      if (seen.has(name)) continue;
      this.entries.delete(name);
      if (!changes.has(name)) changes.set(name, { version: e.version, audience: e.audience });
    }
    return { changes, duplicates, failed };
  }
}
