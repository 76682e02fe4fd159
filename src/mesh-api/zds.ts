// The node agent ⇄ node tunnel enrollment protocol, modelled on Istio's ZDS (spec §6.2):
// the agent listens on a Unix socket, the tunnel connects and says hello, the agent sends an
// `add` for every enrolled pod and then `snapshot_sent` (the tunnel drops pods not named),
// then only `add`/`del`, one message in flight, each answered by an `ack` (empty error = ACK).
// Differences from Istio, because pods here are named network namespaces: the netns travels
// as a name under /run/netns instead of an SCM_RIGHTS fd, and frames are JSON lines on a
// stream socket instead of protobuf datagrams. Pure: types and parsing only.

export const ZDS_VERSION = 1;

export interface WorkloadInfo {
  name: string;
  namespace: string;
  serviceAccount: string;
}

export interface AddWorkload {
  type: 'add';
  uid: string;
  workload: WorkloadInfo;
  /** Name under /run/netns. */
  netns: string;
  ip: string;
}

export interface DelWorkload {
  type: 'del';
  uid: string;
}

export interface SnapshotSent {
  type: 'snapshot_sent';
}

export type WorkloadRequest = AddWorkload | DelWorkload | SnapshotSent;

export interface Hello {
  type: 'hello';
  version: number;
}

export interface Ack {
  type: 'ack';
  /** Empty: accepted. Otherwise why the tunnel could not apply it. */
  error: string;
}

export type WorkloadResponse = Hello | Ack;

/** Frames above this are a protocol error (ZDS uses 1 KiB datagrams). */
export const MAX_FRAME_BYTES = 4096;

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const NETNS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses one agent → tunnel frame; throws with the reason on anything malformed. */
export function parseRequest(line: string): WorkloadRequest {
  const v: unknown = JSON.parse(line);
  if (!isObj(v)) throw new Error('frame is not a JSON object');
  if (v['type'] === 'snapshot_sent') return { type: 'snapshot_sent' };
  if (typeof v['uid'] !== 'string' || v['uid'] === '' || v['uid'].length > 256) throw new Error('uid must be a non-empty string');
  if (v['type'] === 'del') return { type: 'del', uid: v['uid'] };
  if (v['type'] !== 'add') throw new Error(`unknown message type ${JSON.stringify(v['type'])}`);
  const w = v['workload'];
  if (!isObj(w)) throw new Error('add: workload missing');
  for (const k of ['name', 'namespace'] as const) if (typeof w[k] !== 'string' || !NAME.test(w[k])) throw new Error(`add: workload.${k} is not a valid name`);
  if (typeof w['serviceAccount'] !== 'string' || (w['serviceAccount'] !== '' && !NAME.test(w['serviceAccount']))) throw new Error('add: workload.serviceAccount is not a valid name');
  if (typeof v['netns'] !== 'string' || !NETNS.test(v['netns'])) throw new Error('add: netns is not a valid namespace name');
  if (typeof v['ip'] !== 'string' || !IPV4.test(v['ip'])) throw new Error('add: ip is not an IPv4 address');
  return {
    type: 'add',
    uid: v['uid'],
    workload: { name: w['name'] as string, namespace: w['namespace'] as string, serviceAccount: w['serviceAccount'] },
    netns: v['netns'],
    ip: v['ip'],
  };
}

/** Parses one tunnel → agent frame. */
export function parseResponse(line: string): WorkloadResponse {
  const v: unknown = JSON.parse(line);
  if (!isObj(v)) throw new Error('frame is not a JSON object');
  if (v['type'] === 'hello' && typeof v['version'] === 'number') return { type: 'hello', version: v['version'] };
  if (v['type'] === 'ack' && typeof v['error'] === 'string') return { type: 'ack', error: v['error'] };
  throw new Error('expected hello or ack');
}

export const frame = (m: WorkloadRequest | WorkloadResponse): string => `${JSON.stringify(m)}\n`;

/** Splits a byte stream into lines, refusing lines over MAX_FRAME_BYTES. */
export class LineReader {
  #buf = '';
  push(chunk: string, onLine: (line: string) => void): void {
    this.#buf += chunk;
    let i: number;
    while ((i = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, i);
      this.#buf = this.#buf.slice(i + 1);
      if (line.length > 0) onLine(line);
    }
    if (this.#buf.length > MAX_FRAME_BYTES) throw new Error(`frame longer than ${MAX_FRAME_BYTES} bytes`);
  }
}
