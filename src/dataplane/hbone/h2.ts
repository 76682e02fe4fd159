// HTTP/2 settings and keepalive shared by the HBONE client and server (spec §2.3, §2.1).
import type http2 from 'node:http2';
import type net from 'node:net';

const MiB = 1024 * 1024;

/** Stream window 4 MiB: Node's 64 KiB default caps a tunnel at ~1.4 Gbit/s (peer-bench RESULTS §2). */
export const STREAM_WINDOW = 4 * MiB;
/** Connection window 4× the stream window so one slow stream cannot starve the others (§2.3). */
export const CONNECTION_WINDOW = 16 * MiB;
export const MAX_FRAME_SIZE = 1 * MiB;
/** ztunnel's client opens at most 100 streams per connection; its server advertises 200 (§2.3, §2.9). */
export const CLIENT_MAX_STREAMS = 100;
export const SERVER_MAX_STREAMS = 200;
export const PING_INTERVAL_MS = 10_000;
export const PING_TIMEOUT_MS = 20_000;
/** nghttp2's memory guard (default 10 MB) would trip with 4 MiB windows and many streams. */
const MAX_SESSION_MEMORY_MB = 256;

export const clientSettings: http2.Settings = {
  initialWindowSize: STREAM_WINDOW,
  maxFrameSize: MAX_FRAME_SIZE,
  maxHeaderListSize: 16 * 1024,
  enablePush: false,
};

export const serverSettings: http2.Settings = {
  initialWindowSize: STREAM_WINDOW,
  maxFrameSize: MAX_FRAME_SIZE,
  maxHeaderListSize: 64 * 1024,
  maxConcurrentStreams: SERVER_MAX_STREAMS,
};

export const sessionOptions = { maxSessionMemory: MAX_SESSION_MEMORY_MB };

/** TCP_NODELAY and keepalive 180 s on every socket (§2.1). */
export function tuneSocket(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 180_000);
}

/** Raises the connection window; Node never does it by itself (RESULTS §2). */
export function raiseConnectionWindow(session: http2.Http2Session): void {
  try {
    session.setLocalWindowSize(CONNECTION_WINDOW);
  } catch {
    // session already closing
  }
}

export interface KeepaliveOptions {
  intervalMs?: number;
  timeoutMs?: number;
}

/** PING every interval; no answer within the timeout drops the connection (§2.3, §2.12). */
export function keepalive(session: http2.Http2Session, opts: KeepaliveOptions = {}): void {
  const intervalMs = opts.intervalMs ?? PING_INTERVAL_MS;
  const timeoutMs = opts.timeoutMs ?? PING_TIMEOUT_MS;
  let outstandingSince = 0;
  const timer = setInterval(() => {
    if (session.closed || session.destroyed) return clearInterval(timer);
    if (outstandingSince && Date.now() - outstandingSince >= timeoutMs) {
      clearInterval(timer);
      session.destroy();
      return;
    }
    if (outstandingSince) return;
    outstandingSince = Date.now();
    try {
      session.ping((err) => {
        if (!err) outstandingSince = 0;
      });
    } catch {
      outstandingSince = 0;
    }
  }, intervalMs);
  timer.unref();
  session.once('close', () => clearInterval(timer));
}
