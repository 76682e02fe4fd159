// Request transports for the load client: the common interface, and a fixed set of h2c
// sessions (HTTP/1.1 is in load-http1.ts).
import http2 from 'node:http2';

export type Outcome = { status: number } | { error: string };

export interface Transport {
  /** Starts one request; `done` is called at most once. Returns a cancel function. */
  send(done: (o: Outcome) => void): () => void;
  close(): void;
}

export interface TransportOptions {
  url: URL;
  connections: number;
  method: string;
  body: Buffer | undefined;
  timeoutMs: number;
}

class TimeoutError extends Error {
  readonly code = 'timeout';
}

/** Error kind for the report: the errno-style code when there is one (ECONNREFUSED, ...). */
export function errorKind(err: unknown): string {
  if (err instanceof Error) {
    const e = err as NodeJS.ErrnoException & { cause?: unknown };
    if (e.code === 'ERR_HTTP2_STREAM_CANCEL' && e.cause !== undefined) return errorKind(e.cause);
    return e.code ?? e.name;
  }
  return 'error';
}

export function http2Transport(o: TransportOptions): Transport {
  const origin = o.url.origin;
  const path = o.url.pathname + o.url.search;
  const sessions: (http2.ClientHttp2Session | undefined)[] = new Array(o.connections).fill(undefined);
  let next = 0;
  const session = (): http2.ClientHttp2Session => {
    const i = next;
    next = (next + 1) % sessions.length;
    let s = sessions[i];
    if (!s || s.closed || s.destroyed) {
      s = http2.connect(origin);
      // Stream errors carry the failure; the session error would otherwise be uncaught.
      s.on('error', () => undefined);
      sessions[i] = s;
    }
    return s;
  };
  return {
    send(done) {
      let stream: http2.ClientHttp2Stream;
      try {
        const headers: http2.OutgoingHttpHeaders = { ':method': o.method, ':path': path };
        if (o.body) headers['content-length'] = o.body.length;
        stream = session().request(headers, { endStream: !o.body });
      } catch (err) {
        done({ error: errorKind(err) });
        return () => undefined;
      }
      let status = 0;
      stream.setTimeout(o.timeoutMs, () => stream.destroy(new TimeoutError('request timed out')));
      stream.on('error', (err) => done({ error: errorKind(err) }));
      stream.on('response', (h) => {
        status = Number(h[':status'] ?? 0);
      });
      stream.on('end', () => done(status > 0 ? { status } : { error: 'no-response' }));
      // A reset stream may close without 'end' or 'error'; 'end' comes first on success.
      stream.on('close', () => done({ error: 'stream-reset' }));
      stream.resume();
      if (o.body) stream.end(o.body);
      return () => stream.destroy();
    },
    close() {
      for (const s of sessions) s?.destroy();
    },
  };
}
