// The load client's HTTP/1.1 transport: a fixed pool of keep-alive sockets, one request at a
// time per socket, requests beyond the pool wait in a FIFO. It writes a pre-serialized request
// and reads just enough of the response to know where it ends (status line, Content-Length or
// chunked framing). node:http's client costs several times more CPU per request, and at 4k
// requests/s on a 2-core machine that CPU is taken from the system being measured.
import net from 'node:net';
import type { Outcome, Transport, TransportOptions } from './load-transport.js';

interface Pending {
  done: (o: Outcome) => void;
  cancelled: boolean;
  slot?: Slot;
}

interface Slot {
  socket?: net.Socket;
  current?: Pending;
  parser: ResponseParser;
}

const MAX_HEADER_BYTES = 64 * 1024;

export function rawHttp1Transport(o: TransportOptions): Transport {
  const port = Number(o.url.port || 80);
  const host = o.url.hostname.replace(/^\[|\]$/g, '');
  const head =
    `${o.method} ${o.url.pathname}${o.url.search} HTTP/1.1\r\nHost: ${o.url.host}\r\n` +
    (o.body ? `Content-Type: application/octet-stream\r\nContent-Length: ${o.body.length}\r\n` : '') +
    '\r\n';
  const request = o.body ? Buffer.concat([Buffer.from(head, 'latin1'), o.body]) : Buffer.from(head, 'latin1');
  const slots: Slot[] = Array.from({ length: o.connections }, () => ({ parser: new ResponseParser(o.method === 'HEAD') }));
  const idle: Slot[] = [...slots];
  const queue: Pending[] = [];
  let qHead = 0;
  let closed = false;

  const finish = (slot: Slot, outcome: Outcome): void => {
    const p = slot.current;
    slot.current = undefined;
    if (p) p.done(outcome);
    if ('error' in outcome || !slot.parser.keepAlive) {
      slot.socket?.destroy();
      slot.socket = undefined;
    }
    if (!closed) dispatch(slot);
  };

  const connect = (slot: Slot): net.Socket => {
    const s = net.connect({ host, port, noDelay: true });
    s.setTimeout(o.timeoutMs);
    s.on('data', (chunk: Buffer) => {
      if (!slot.current || slot.socket !== s) return;
      const r = slot.parser.feed(chunk);
      if (r === undefined) return;
      finish(slot, r);
    });
    const fail = (code: string): void => {
      if (slot.socket !== s) return;
      slot.socket = undefined;
      s.destroy();
      if (slot.current) {
        const eof = code === 'closed' ? slot.parser.endOfStream() : undefined;
        finish(slot, eof ?? { error: code });
      }
    };
    s.on('timeout', () => fail('timeout'));
    s.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.name));
    s.on('close', () => fail('closed'));
    return s;
  };

  // Gives the slot the next live queued request, or returns it to the idle list.
  const dispatch = (slot: Slot): void => {
    while (qHead < queue.length) {
      const p = queue[qHead++]!;
      if (qHead > 1024 && qHead * 2 > queue.length) {
        queue.splice(0, qHead);
        qHead = 0;
      }
      if (p.cancelled) continue;
      start(slot, p);
      return;
    }
    idle.push(slot);
  };

  const start = (slot: Slot, p: Pending): void => {
    p.slot = slot;
    slot.current = p;
    slot.parser.reset();
    if (!slot.socket) slot.socket = connect(slot);
    slot.socket.write(request);
  };

  return {
    send(done) {
      const p: Pending = { done, cancelled: false };
      const slot = idle.pop();
      if (slot) start(slot, p);
      else queue.push(p);
      return () => {
        p.cancelled = true;
        const s = p.slot;
        if (s && s.current === p) {
          s.current = undefined;
          s.socket?.destroy();
          s.socket = undefined;
          if (!closed) dispatch(s);
        }
      };
    },
    close() {
      closed = true;
      for (const s of slots) s.socket?.destroy();
    },
  };
}

/** Incremental HTTP/1.1 response framing: finds where one response ends. */
export class ResponseParser {
  private buf: Buffer | undefined;
  private status = 0;
  private headerDone = false;
  private remaining = 0; // body bytes left (Content-Length) or in the current chunk
  private mode: 'length' | 'chunked' | 'eof' = 'length';
  private chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  keepAlive = true;

  constructor(private readonly headRequest: boolean) {}

  reset(): void {
    this.buf = undefined;
    this.status = 0;
    this.headerDone = false;
    this.remaining = 0;
    this.mode = 'length';
    this.chunkState = 'size';
    this.keepAlive = true;
  }

  /** Feeds bytes; returns the outcome once the response is complete, else undefined. */
  feed(chunk: Buffer): Outcome | undefined {
    let data = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = undefined;
    if (!this.headerDone) {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        if (data.length > MAX_HEADER_BYTES) return { error: 'bad-response' };
        this.buf = data;
        return undefined;
      }
      const err = this.parseHead(data.toString('latin1', 0, end));
      if (err) return { error: err };
      data = data.subarray(end + 4);
      if (this.mode === 'length' && this.remaining === 0) return { status: this.status };
    }
    return this.mode === 'chunked' ? this.feedChunked(data) : this.feedBody(data);
  }

  /** The peer closed: complete for read-to-EOF bodies, an error otherwise. */
  endOfStream(): Outcome | undefined {
    if (this.headerDone && this.mode === 'eof') return { status: this.status };
    return undefined;
  }

  private parseHead(head: string): string | undefined {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) return 'bad-response';
    this.status = Number(m[2]);
    this.keepAlive = m[1] === '1';
    let length: number | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.split(',').some((v) => v.trim() === 'chunked');
      else if (name === 'connection') this.keepAlive = value.includes('keep-alive') || (this.keepAlive && !value.includes('close'));
    }
    this.headerDone = true;
    const noBody = this.headRequest || this.status === 204 || this.status === 304 || (this.status >= 100 && this.status < 200);
    if (noBody) {
      this.mode = 'length';
      this.remaining = 0;
    } else if (chunked) this.mode = 'chunked';
    else if (length !== undefined) {
      if (!Number.isSafeInteger(length) || length < 0) return 'bad-response';
      this.mode = 'length';
      this.remaining = length;
    } else {
      this.mode = 'eof';
      this.keepAlive = false;
    }
    return undefined;
  }

  private feedBody(data: Buffer): Outcome | undefined {
    if (this.mode === 'eof') return undefined;
    this.remaining -= data.length;
    if (this.remaining > 0) return undefined;
    if (this.remaining < 0) return { error: 'bad-response' }; // bytes beyond the response: no pipelining here
    return { status: this.status };
  }

  private feedChunked(data: Buffer): Outcome | undefined {
    let i = 0;
    while (i < data.length) {
      if (this.chunkState === 'data') {
        const take = Math.min(this.remaining, data.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.chunkState = 'crlf';
        continue;
      }
      const eol = data.indexOf('\r\n', i);
      if (eol < 0) {
        this.buf = data.subarray(i);
        return this.buf.length > MAX_HEADER_BYTES ? { error: 'bad-response' } : undefined;
      }
      const line = data.toString('latin1', i, eol);
      i = eol + 2;
      if (this.chunkState === 'crlf') {
        if (line !== '') return { error: 'bad-response' };
        this.chunkState = 'size';
      } else if (this.chunkState === 'size') {
        const size = parseInt(line.split(';')[0]!.trim(), 16);
        if (!Number.isSafeInteger(size) || size < 0) return { error: 'bad-response' };
        if (size === 0) this.chunkState = 'trailer';
        else {
          this.remaining = size;
          this.chunkState = 'data';
        }
      } else if (line === '') {
        return i === data.length ? { status: this.status } : { error: 'bad-response' };
      }
    }
    return undefined;
  }
}
