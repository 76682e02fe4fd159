// Bidirectional copy between an HBONE stream and a TCP socket (spec §2.6 step 7): half-close
// maps to END_STREAM one way and shutdown(WR) the other; an abnormal end of either side
// tears down the other (RST_STREAM CONNECT_ERROR towards the peer, RFC 9113 §8.5).
import http2 from 'node:http2';
import type net from 'node:net';

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
  stream.on('data', (c: Buffer) => (r.streamToSocket += c.length));
  socket.on('data', (c: Buffer) => (r.socketToStream += c.length));
  stream.on('error', (e: Error) => (r.error ??= `stream: ${e.message}`));
  socket.on('error', (e: Error) => (r.error ??= `socket: ${e.message}`));
  stream.pipe(socket);
  socket.pipe(stream);
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
