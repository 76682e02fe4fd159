// TLS handshake timings of HBONE connections, published on a diagnostics channel so telemetry
// can observe them without the HBONE code knowing about metrics (and at no cost when nobody
// subscribes). Client: TCP connected → secureConnect. Server: connection accepted →
// secureConnection (or the handshake error). Diagnostics channels are per thread, so a data
// path running in worker threads posts its events on a BroadcastChannel, and a main-thread
// subscriber receives those too.
import diagnostics_channel from 'node:diagnostics_channel';
import { BroadcastChannel, isMainThread } from 'node:worker_threads';

export const HANDSHAKE_CHANNEL = 'ambit.hbone.tls-handshake';

export interface HandshakeEvent {
  side: 'client' | 'server';
  durationMs: number;
  ok: boolean;
  /** The key-exchange group (client side only: Node does not expose it on a server socket). */
  group?: string;
  /** Set when the server closed the connection before any handshake: too many were unfinished (all sources, or this source). */
  refused?: 'global' | 'source';
}

const channel = diagnostics_channel.channel(HANDSHAKE_CHANNEL);
let toMain: BroadcastChannel | undefined;

/** A start mark: `process.hrtime.bigint()` now. */
export const handshakeStart = (): bigint => process.hrtime.bigint();

export function publishHandshake(side: HandshakeEvent['side'], start: bigint, ok: boolean, group?: string): void {
  publish({ side, durationMs: Number(process.hrtime.bigint() - start) / 1e6, ok, ...(group ? { group } : {}) });
}

export function publishHandshakeRefused(limit: NonNullable<HandshakeEvent['refused']>): void {
  publish({ side: 'server', durationMs: 0, ok: false, refused: limit });
}

function publish(e: HandshakeEvent): void {
  if (channel.hasSubscribers) channel.publish(e);
  if (!isMainThread) {
    if (!toMain) (toMain = new BroadcastChannel(HANDSHAKE_CHANNEL)).unref();
    toMain.postMessage(e);
  }
}

/** Calls fn for every handshake (this thread's, and worker threads' when called on the main thread) until the returned function is called. */
export function onHandshake(fn: (e: HandshakeEvent) => void): () => void {
  const listener = (m: unknown): void => fn(m as HandshakeEvent);
  diagnostics_channel.subscribe(HANDSHAKE_CHANNEL, listener);
  let fromWorkers: BroadcastChannel | undefined;
  if (isMainThread) {
    fromWorkers = new BroadcastChannel(HANDSHAKE_CHANNEL);
    fromWorkers.onmessage = (m: unknown) => fn((m as { data: HandshakeEvent }).data);
    fromWorkers.unref();
  }
  return () => {
    diagnostics_channel.unsubscribe(HANDSHAKE_CHANNEL, listener);
    fromWorkers?.close();
  };
}
