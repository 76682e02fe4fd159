// Crash-safe persistence: a snapshot plus an append-only log of CRC-checked, fsync'd records.
// A crash mid-append leaves at most one torn record at the tail; load() truncates it.
// Compaction writes a new snapshot to a temp file, fsyncs it, renames it over the old
// one and then empties the log, so every instant on disk is a consistent state.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { AmbitError } from '../../lib/errors.js';
import { RENAMED_KIND_KEYS } from '../../model/core/kinds.js';
import type { KubeObject } from '../../model/core/types.js';

export interface WalRecord {
  rv: number;
  op: 'put' | 'del';
  key: string; // kindKey/ns/name
  obj: KubeObject;
}

interface Snapshot {
  rv: number;
  objects: { key: string; obj: KubeObject }[];
}

/** A replayed record with what it replaced, so resumed filtered watches can tell enter/leave. */
export interface ReplayedRecord extends WalRecord {
  prev?: KubeObject;
}

export interface Loaded {
  rv: number;
  objects: Map<string, KubeObject>;
  /** Records replayed from the log after the snapshot (for the watch history). */
  tail: ReplayedRecord[];
  /** Bytes dropped from a torn tail, if any. */
  truncatedBytes: number;
}

export class CorruptStoreError extends AmbitError {
  constructor(message: string) {
    super('AMBIT_E_STORE_CORRUPT', message);
  }
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');

export class Wal {
  readonly #dir: string;
  readonly #logPath: string;
  readonly #snapPath: string;
  #fd = -1;
  #records = 0;
  /** Bytes of the log that hold acknowledged records: a failed append is cut back to this. */
  #size = 0;
  /** Records after which to compact next: moves on after a failure, so it is not retried on every write. */
  #compactAt: number;

  constructor(dir: string, readonly compactEvery = 5000) {
    this.#dir = dir;
    this.#logPath = path.join(dir, 'store.log');
    this.#snapPath = path.join(dir, 'store.snapshot.json');
    this.#compactAt = compactEvery;
  }

  get dir(): string {
    return this.#dir;
  }

  load(): Loaded {
    fs.mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const objects = new Map<string, KubeObject>();
    let rv = 0;
    if (fs.existsSync(this.#snapPath)) {
      let snap: Snapshot;
      try {
        snap = JSON.parse(fs.readFileSync(this.#snapPath, 'utf8')) as Snapshot;
      } catch (e) {
        throw new CorruptStoreError(`snapshot ${this.#snapPath} is unreadable (${(e as Error).message}); restore it from a backup or remove the data directory to start empty`);
      }
      rv = snap.rv;
      for (const { key, obj } of snap.objects) objects.set(currentKey(key), obj);
    }
    const tail: ReplayedRecord[] = [];
    let truncatedBytes = 0;
    if (fs.existsSync(this.#logPath)) {
      const buf = fs.readFileSync(this.#logPath);
      let off = 0;
      while (off < buf.length) {
        const nl = buf.indexOf(0x0a, off);
        const line = nl < 0 ? null : buf.subarray(off, nl);
        const rec = line ? parseLine(line) : null;
        if (!rec) {
          // Only a torn final record is expected; anything after it means real corruption.
          const rest = buf.subarray(nl < 0 ? buf.length : nl + 1);
          if (nl >= 0 && rest.length > 0) {
            throw new CorruptStoreError(`store log ${this.#logPath} has a damaged record at byte ${off} followed by more data; refusing to guess`);
          }
          truncatedBytes = buf.length - off;
          fs.truncateSync(this.#logPath, off);
          break;
        }
        off = nl + 1;
        if (rec.rv <= rv) continue; // already in the snapshot
        rec.key = currentKey(rec.key);
        rv = rec.rv;
        const prev = objects.get(rec.key);
        if (rec.op === 'put') objects.set(rec.key, rec.obj);
        else objects.delete(rec.key);
        tail.push(prev ? { ...rec, prev } : rec);
        this.#records++;
      }
    }
    this.#fd = fs.openSync(this.#logPath, 'a', 0o600);
    this.#size = fs.fstatSync(this.#fd).size;
    return { rv, objects, tail, truncatedBytes };
  }

  /**
   * Appends one record durably, or throws and leaves the log as it was: a partly written record
   * (a full disk) is cut off again, so the next append does not land behind a torn one.
   */
  append(rec: WalRecord): void {
    const body = Buffer.from(JSON.stringify(rec));
    const line = Buffer.concat([Buffer.from(`${hex(crc32(body))} `), body, Buffer.from('\n')]);
    try {
      writeAll(this.#fd, line);
      fs.fdatasyncSync(this.#fd);
    } catch (e) {
      try {
        fs.ftruncateSync(this.#fd, this.#size);
      } catch {
        /* the torn tail is dropped by the next load() */
      }
      throw e;
    }
    this.#size += line.length;
    this.#records++;
  }

  needsCompaction(): boolean {
    return this.#records >= this.#compactAt;
  }

  /**
   * Writes a snapshot and empties the log. On failure everything it opened is closed, the
   * temporary file removed and the log kept as it is (still complete); the next attempt waits
   * for another compactEvery records.
   */
  compact(rv: number, objects: Map<string, KubeObject>): void {
    this.#compactAt = this.#records + this.compactEvery;
    const tmp = `${this.#snapPath}.tmp`;
    let fd = -1;
    try {
      const data = JSON.stringify({ rv, objects: [...objects].map(([key, obj]) => ({ key, obj })) } satisfies Snapshot);
      fd = fs.openSync(tmp, 'w', 0o600);
      writeAll(fd, Buffer.from(data));
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = -1;
      fs.renameSync(tmp, this.#snapPath);
    } catch (e) {
      if (fd >= 0) fs.closeSync(fd);
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* not a file we made (e.g. a directory in the way): leave it */
      }
      throw e;
    }
    syncDir(this.#dir);
    // The snapshot now covers every record, so the log can start over.
    fs.ftruncateSync(this.#fd, 0);
    fs.fsyncSync(this.#fd);
    this.#size = 0;
    this.#records = 0;
    this.#compactAt = this.compactEvery;
  }

  close(): void {
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** A key written under a since-renamed resource, moved to the name served now. */
function currentKey(key: string): string {
  for (const [old, now] of Object.entries(RENAMED_KIND_KEYS)) if (key.startsWith(`${old}/`)) return `${now}${key.slice(old.length)}`;
  return key;
}

function parseLine(line: Buffer): WalRecord | null {
  if (line.length < 10 || line[8] !== 0x20) return null;
  const body = line.subarray(9);
  if (line.subarray(0, 8).toString() !== hex(crc32(body))) return null;
  try {
    return JSON.parse(body.toString()) as WalRecord;
  } catch {
    return null;
  }
}

/** writeSync may write less than asked (a filling disk); loop until all is written or it throws. */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
