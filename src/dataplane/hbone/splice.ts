// Bidirectional copy between an HBONE stream and a TCP socket (spec §2.6 step 7): half-close
// maps to END_STREAM one way and shutdown(WR) the other; an abnormal end of either side
// tears down the other (RST_STREAM CONNECT_ERROR towards the peer, RFC 9113 §8.5).
import http2 from 'node:http2';
import type net from 'node:net';
import type { Readable, Writable } from 'node:stream';

export interface SpliceResult {
  /** Bytes read from the stream and written to the socket. */
  streamToSocket: number;
  /** Bytes read from the socket and written to the stream. */
  socketToStream: number;
  /** Set when either side ended abnormally. */
  error?: string;
}

export function splice(stream: http2.Http2Stream, socket: net.Socket, done?: (r: SpliceResult) => void): void {
  const r: SpliceResult = { streamToSocket: 0, socketToStream: 0 };
  // Without this a FIN from the socket would also end our write side (no half-close).
  socket.allowHalfOpen = true;
  let open = 2;
  const closed = (): void => {
    if (--open === 0) done?.(r);
  };
  stream.on('error', (e: Error) => (r.error ??= `stream: ${e.message}`));
  socket.on('error', (e: Error) => (r.error ??= `socket: ${e.message}`));
  pump(stream, socket, (n) => (r.streamToSocket += n));
  pump(socket, stream, (n) => (r.socketToStream += n));
  stream.once('close', () => {
    if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR || !stream.readableEnded) {
      r.error ??= `stream reset (code ${stream.rstCode ?? 'none'})`;
      socket.destroy();
    }
    closed();
  });
  socket.once('close', (hadError: boolean) => {
    if ((hadError || !socket.readableEnded) && !stream.closed) stream.close(http2.constants.NGHTTP2_CONNECT_ERROR);
    closed();
  });
}

/**
 * How much one direction may have queued in its writer before the reader is paused. pipe()
 * pauses at the writer's highWaterMark (16 KiB), i.e. after every 64 KiB socket read, so each
 * chunk went out on its own (a TLS write per read on one side, a write(2) per ~8 KiB DATA
 * piece on the other) and reading stalled until it was flushed. The cost is memory under
 * backpressure: up to ~1 MiB (plus one turn's reads) queued per direction of a slow tunnel.
 */
export const PUMP_LIMIT = 1024 * 1024;

/**
 * src → dst like pipe(), but batched: the writer is corked on the first chunk of an event-loop
 * turn and uncorked in setImmediate, so everything read in one turn goes out as one writev
 * (one TLS write of many DATA frames; one write(2) to the app), and the reader only pauses
 * once PUMP_LIMIT is queued. A lone small chunk is still written in the same turn.
 * End of input ends dst (half-close); errors and teardown are the caller's (splice()).
 */
function pump(src: Readable, dst: Writable, count: (n: number) => void): void {
  let corked = false;
  const flush = (): void => {
    corked = false;
    dst.uncork();
  };
  const resume = (): void => {
    src.resume();
  };
  src.on('data', (chunk: Buffer) => {
    count(chunk.length);
    if (dst.destroyed) return;
    if (!corked) {
      corked = true;
      dst.cork();
      setImmediate(flush);
    }
    // write() returned false ⇒ 'drain' is due once the queue empties; wait for it only past the limit.
    if (!dst.write(chunk) && dst.writableLength >= PUMP_LIMIT && !src.isPaused()) {
      src.pause();
      dst.once('drain', resume);
    }
  });
  src.once('end', () => {
    if (!dst.destroyed && !dst.writableEnded) dst.end();
  });
}
