// TLS handshake timings of HBONE connections, published on a diagnostics channel so telemetry
// can observe them without the HBONE code knowing about metrics (and at no cost when nobody
// subscribes). Client: TCP socket made → secureConnect. Server: connection accepted →
// secureConnection (or the handshake error).
import diagnostics_channel from 'node:diagnostics_channel';

export const HANDSHAKE_CHANNEL = 'ambit.hbone.tls-handshake';

export interface HandshakeEvent {
  side: 'client' | 'server';
  durationMs: number;
  ok: boolean;
}

const channel = diagnostics_channel.channel(HANDSHAKE_CHANNEL);

/** A start mark: `process.hrtime.bigint()` now. */
export const handshakeStart = (): bigint => process.hrtime.bigint();

export function publishHandshake(side: HandshakeEvent['side'], start: bigint, ok: boolean): void {
  if (!channel.hasSubscribers) return;
  channel.publish({ side, durationMs: Number(process.hrtime.bigint() - start) / 1e6, ok } satisfies HandshakeEvent);
}

/** Re-publishes an event observed elsewhere (e.g. forwarded from a data-path worker thread: channels are per thread). */
export function republishHandshake(e: HandshakeEvent): void {
  if (channel.hasSubscribers) channel.publish(e);
}

/** Calls fn for every handshake until the returned function is called. */
export function onHandshake(fn: (e: HandshakeEvent) => void): () => void {
  const listener = (m: unknown): void => fn(m as HandshakeEvent);
  diagnostics_channel.subscribe(HANDSHAKE_CHANNEL, listener);
  return () => void diagnostics_channel.unsubscribe(HANDSHAKE_CHANNEL, listener);
}
