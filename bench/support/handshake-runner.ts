// The handshake-rate client of `ambit bench` (measure `handshakes`), run inside pod A's netns:
//   node dist/bench/support/handshake-runner.js '<HandshakeRunnerOptions JSON>'
// Keeps `concurrency` full TLS 1.3 mTLS handshakes in flight against one server: every connection
// is a new tls.connect without `session` (no resumption; checked with isSessionReused), and is
// closed (close_notify + FIN) as soon as the server has shown it accepted the handshake (below).
// A warm-up (discarded) comes first; the line `measure` marks the start of the measured window
// (the parent samples server CPU there) and the JSON result line its end.
import * as fs from 'node:fs';
import * as net from 'node:net';
import tls from 'node:tls';
import { closeFd, socket } from '../../src/platform/libc.js';
import { setMark } from '../../src/platform/sockets.js';

export interface HandshakeRunnerOptions {
  host: string;
  port: number;
  /** SNI and the name checked; without it the IP is checked, or (SPIFFE servers) the URI SAN. */
  servername?: string;
  alpn?: string[];
  /** PEM file paths: client certificate chain, its key, trust anchors. */
  cert: string;
  key: string;
  ca: string;
  /** SPIFFE IDs accepted in place of a name/IP match (the server cert of HBONE has only a URI SAN). */
  spiffeIds: string[];
  concurrency: number;
  seconds: number;
  warmupSec: number;
  timeoutMs: number;
  /** SO_MARK for the client's sockets (ambit: the tunnel's own mark, see bench/measures/handshakes.ts). */
  mark?: number;
}

export interface HandshakeRunnerResult {
  completed: number;
  errors: number;
  errorKinds: Record<string, number>;
  seconds: number;
  warmup: { completed: number; errors: number };
}

const o = JSON.parse(process.argv[2] ?? '{}') as HandshakeRunnerOptions;

// One secure context for all connections only saves re-parsing the PEMs: a Node client resumes
// only when given `session`, which is never passed here.
const secureContext = tls.createSecureContext({
  cert: fs.readFileSync(o.cert),
  key: fs.readFileSync(o.key),
  ca: fs.readFileSync(o.ca),
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
});

// The chain is always verified (rejectUnauthorized). The name: Node's default check compares the
// host (an IP here) with IP SANs, which a SPIFFE workload certificate (HBONE's server cert) does not
// have; it names its workload by a URI SAN instead, so that is accepted when it is the expected ID.
const checkServerIdentity = (host: string, cert: tls.PeerCertificate): Error | undefined => {
  const byName = tls.checkServerIdentity(o.servername ?? host, cert);
  if (!byName) return undefined;
  const uris = (cert.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
  return uris.some((u) => o.spiffeIds.includes(u)) ? undefined : byName;
};

/** A TCP socket carrying o.mark, connecting to the target. */
function markedSocket(mark: number): net.Socket {
  const fd = socket('handshake client socket');
  try {
    setMark(fd, mark);
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return new net.Socket({ fd }).connect({ host: o.host, port: o.port });
}

const kindOf = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return (err.code ?? err.message ?? String(e)).slice(0, 160);
};

interface Tally {
  completed: number;
  errors: number;
  errorKinds: Record<string, number>;
}

/** Runs handshakes for `sec` seconds; outcomes after the deadline are not counted. */
function phase(sec: number): Promise<Tally & { seconds: number }> {
  const t: Tally = { completed: 0, errors: 0, errorKinds: {} };
  const t0 = performance.now();
  const end = t0 + sec * 1000;
  const open = new Set<tls.TLSSocket>();
  let over = false;
  const error = (kind: string): void => {
    if (over) return;
    t.errors++;
    t.errorKinds[kind] = (t.errorKinds[kind] ?? 0) + 1;
  };

  const launch = (): void => {
    if (over || performance.now() >= end) return;
    let slotFreed = false;
    let outcome = false;
    const raw = o.mark === undefined ? undefined : markedSocket(o.mark);
    const s = tls.connect({
      ...(raw ? { socket: raw } : { port: o.port }),
      host: o.host,
      secureContext,
      ...(o.servername ? { servername: o.servername } : {}),
      ...(o.alpn ? { ALPNProtocols: o.alpn } : {}),
      rejectUnauthorized: true,
      checkServerIdentity,
    });
    open.add(s);
    const timer = setTimeout(() => fail(slotFreed ? 'the server accepted nothing (no ticket, no data) within the timeout' : 'handshake timeout'), o.timeoutMs);
    // The slot is refilled when our side of the handshake is done (closing sockets do not hold it).
    const freeSlot = (): void => {
      if (slotFreed) return;
      slotFreed = true;
      launch();
    };
    // One outcome per connection.
    function fail(kind: string): void {
      if (outcome) return;
      outcome = true;
      clearTimeout(timer);
      error(kind);
      s.destroy();
      raw?.destroy();
      freeSlot();
    }
    // TLS 1.3: the server verifies our certificate only after we see 'secureConnect', and a Node
    // server (HBONE) refuses a client by closing without an alert. So a handshake counts once the
    // server has shown it accepted us: an h2 server sends its SETTINGS frame, others a session
    // ticket (OpenSSL's default). Then we close (close_notify + FIN).
    const accepted = (): void => {
      if (outcome) return;
      outcome = true;
      clearTimeout(timer);
      if (!over) t.completed++;
      s.end();
      const guard = setTimeout(() => s.destroy(), 2000);
      s.once('close', () => clearTimeout(guard));
    };
    s.once('secureConnect', () => {
      if (!s.authorized) return fail(`not authorized: ${String(s.authorizationError)}`);
      if (o.alpn && !o.alpn.includes(String(s.alpnProtocol))) return fail(`ALPN ${o.alpn.join(',')} not negotiated`);
      if (s.isSessionReused()) return fail('session resumed');
      if (s.alpnProtocol !== 'h2') s.once('session', accepted);
      freeSlot();
    });
    s.on('data', accepted); // also keeps reading, so the server's FIN is seen
    s.on('error', (e) => fail(slotFreed ? `refused after the handshake: ${kindOf(e)}` : kindOf(e)));
    s.once('close', () => {
      open.delete(s);
      raw?.destroy();
      const sign = s.alpnProtocol === 'h2' ? 'its HTTP/2 SETTINGS' : 'a session ticket or data';
      fail(slotFreed ? `closed by the server after the handshake without ${sign} (refused us?)` : 'closed before the handshake completed');
    });
    raw?.on('error', (e) => fail(kindOf(e)));
  };

  return new Promise((resolve) => {
    setTimeout(() => {
      over = true;
      const seconds = (performance.now() - t0) / 1000;
      for (const s of open) s.destroy();
      resolve({ ...t, seconds });
    }, sec * 1000);
    for (let i = 0; i < o.concurrency; i++) launch();
  });
}

const warm = o.warmupSec > 0 ? await phase(o.warmupSec) : undefined;
process.stdout.write('measure\n');
const r = await phase(o.seconds);
const result: HandshakeRunnerResult = {
  completed: r.completed,
  errors: r.errors,
  errorKinds: r.errorKinds,
  seconds: r.seconds,
  warmup: { completed: warm?.completed ?? 0, errors: warm?.errors ?? 0 },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
