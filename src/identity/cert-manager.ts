// Workload certificates for the identities on this node, kept fresh (spec §3.2, ztunnel's
// SecretManager): refresh at half of the validity, a priority queue RealTime > Warmup >
// Background with a bound on CSRs in flight, per-identity exponential backoff, and a
// still-valid certificate keeps being served while the CA is unreachable. Never an expired one.
import { EventEmitter } from 'node:events';
import type { CertificateFetcher, WorkloadCertificate } from './ca-client.js';

export type CertState = 'Initializing' | 'Available' | 'Refreshing' | 'Backoff' | 'Forgotten';
export type FetchPriority = 'RealTime' | 'Warmup' | 'Background';

/**
 * Initializing: no certificate yet, a fetch is queued or in flight.
 * Available: a certificate, refresh timer armed.
 * Refreshing: a fetch is queued or in flight; the current certificate (if still valid) is served.
 * Backoff: the last fetch failed; retry timer armed.
 * Forgotten: terminal; key material dropped.
 */
const MOVES: Record<CertState, readonly CertState[]> = {
  Initializing: ['Available', 'Backoff', 'Forgotten'],
  Available: ['Refreshing', 'Forgotten'],
  Refreshing: ['Available', 'Backoff', 'Forgotten'],
  Backoff: ['Initializing', 'Refreshing', 'Forgotten'],
  Forgotten: [],
};

const RANK: Record<FetchPriority, number> = { RealTime: 0, Warmup: 1, Background: 2 };

/** Node's setTimeout fires at once above 2^31-1 ms (~24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface CertManagerOptions {
  /** validity_duration asked of the CA; default 86400 (SECRET_TTL). */
  ttlSeconds?: number;
  /** CSRs in flight at most; default 8. */
  maxInFlight?: number;
  /** First retry delay; default 1000 ms (ztunnel: 1 s current interval). Doubles per failure. */
  retryInitialMs?: number;
  /** Retry delay cap; default 150 s. */
  retryMaxMs?: number;
}

/** One identity as `tunnel-config certificates` shows it: no key material. */
export interface CertSnapshot {
  identity: string;
  state: CertState;
  serial?: string;
  notBefore?: Date;
  notAfter?: Date;
  /** Leaf first, then intermediates (public certificates only, for the admin config dump). */
  chainPem?: string[];
  /** The trust roots that came with it. */
  rootsPem?: string;
  refreshAt?: Date;
  /** Consecutive failed fetches (0 after a success). */
  attempts: number;
  lastError?: string;
  nextRetryAt?: Date;
  queued?: FetchPriority;
  inFlight: boolean;
}

export interface CertManagerEvents {
  /** A new certificate for an identity (first fetch or rotation): reload TLS contexts. */
  updated: [cert: WorkloadCertificate];
  fetchFailed: [identity: string, error: Error];
}

interface Waiter {
  resolve(cert: WorkloadCertificate): void;
  reject(err: Error): void;
}

interface Entry {
  readonly identity: string;
  state: CertState;
  cert: WorkloadCertificate | undefined;
  refreshAt: number | undefined;
  queued: FetchPriority | undefined;
  seq: number;
  inFlight: boolean;
  timer: NodeJS.Timeout | undefined;
  attempts: number;
  lastError: Error | undefined;
  nextRetryAt: number | undefined;
  waiters: Waiter[];
}

/** Half of the validity (spec §3.2). If that moment has passed — the CA backdates notBefore
 *  (Ambit's by 60 s) by more than a short TTL lasts — half of what is left, so a short TTL
 *  does not turn into a refresh loop. */
export function refreshAtMs(notBefore: Date, notAfter: Date, now = Date.now()): number {
  const mid = notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) / 2;
  return mid > now ? mid : now + (notAfter.getTime() - now) / 2;
}

/** Exponential backoff: initial × 2^(attempt-1), ±20% jitter, never above max. */
export function retryDelayMs(attempt: number, initialMs: number, maxMs: number, rand: () => number = Math.random): number {
  const base = Math.min(initialMs * 2 ** Math.max(0, attempt - 1), maxMs);
  return Math.round(Math.min(base * (1 + (rand() * 2 - 1) * 0.2), maxMs));
}

export class CertManager extends EventEmitter<CertManagerEvents> {
  readonly #entries = new Map<string, Entry>();
  readonly #queue = new Set<Entry>();
  readonly #ttl: number;
  readonly #maxInFlight: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  #inFlight = 0;
  #seq = 0;
  #closed = false;

  constructor(private readonly fetcher: CertificateFetcher, opts: CertManagerOptions = {}) {
    super();
    this.#ttl = opts.ttlSeconds ?? 86400;
    this.#maxInFlight = opts.maxInFlight ?? 8;
    this.#retryInitialMs = opts.retryInitialMs ?? 1000;
    this.#retryMaxMs = opts.retryMaxMs ?? 150_000;
  }

  /** Starts fetching ahead of need (a local workload appeared). */
  prefetch(identity: string): void {
    if (this.#closed) return;
    const e = this.#entries.get(identity);
    if (e) this.#bump(e, 'Warmup');
    else this.#create(identity, 'Warmup');
  }

  /** A valid certificate now if there is one, else waits for the (RealTime) fetch. */
  get(identity: string): Promise<WorkloadCertificate> {
    if (this.#closed) return Promise.reject(new Error('certificate manager is closed'));
    const e = this.#entries.get(identity) ?? this.#create(identity, 'RealTime');
    const cert = this.#valid(e);
    if (cert) return Promise.resolve(cert);
    if (e.state === 'Backoff') {
      // Fail fast like ztunnel's Unavailable state; the retry timer decides when to try again.
      return Promise.reject(e.lastError ?? new Error(`no certificate for ${identity}`));
    }
    if (e.state === 'Available') this.#startFetch(e, ['Available'], 'Refreshing', 'RealTime'); // expired before its refresh ran (e.g. a suspended process)
    else this.#bump(e, 'RealTime');
    return new Promise((resolve, reject) => e.waiters.push({ resolve, reject }));
  }

  /** Stops refreshing the identity and drops its key material; a fetch in flight is discarded. */
  forget(identity: string): void {
    const e = this.#entries.get(identity);
    if (e) this.#forget(e, new Error(`certificate for ${identity} was forgotten`));
  }

  /** The identities of the pods on this node: prefetches new ones, forgets every other tracked one. */
  setWanted(identities: Iterable<string>): void {
    const want = new Set(identities);
    for (const id of [...this.#entries.keys()]) if (!want.has(id)) this.forget(id);
    for (const id of want) if (!this.#entries.has(id)) this.prefetch(id);
  }

  snapshot(): CertSnapshot[] {
    const out: CertSnapshot[] = [];
    for (const e of this.#entries.values()) {
      const cert = this.#valid(e);
      const at = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));
      out.push({
        identity: e.identity,
        state: e.state,
        serial: cert?.serial,
        notBefore: cert?.notBefore,
        notAfter: cert?.notAfter,
        chainPem: cert?.chainPem,
        rootsPem: cert?.rootsPem,
        refreshAt: e.state === 'Available' ? at(e.refreshAt) : undefined,
        attempts: e.attempts,
        lastError: e.lastError?.message,
        nextRetryAt: e.state === 'Backoff' ? at(e.nextRetryAt) : undefined,
        queued: e.queued,
        inFlight: e.inFlight,
      });
    }
    return out.sort((a, b) => a.identity.localeCompare(b.identity));
  }

  close(): void {
    this.#closed = true;
    for (const e of [...this.#entries.values()]) this.#forget(e, new Error('certificate manager is closed'));
  }

  #create(identity: string, pri: FetchPriority): Entry {
    const e: Entry = {
      identity, state: 'Initializing', cert: undefined, refreshAt: undefined, queued: undefined, seq: 0, inFlight: false,
      timer: undefined, attempts: 0, lastError: undefined, nextRetryAt: undefined, waiters: [],
    };
    this.#entries.set(identity, e);
    this.#enqueue(e, pri);
    return e;
  }

  #transition(e: Entry, from: readonly CertState[], to: CertState): void {
    if (!from.includes(e.state) || !MOVES[e.state].includes(to)) {
      throw new Error(`certificate manager: illegal move ${e.state} → ${to} for ${e.identity} (expected from ${from.join('|')})`);
    }
    e.state = to;
  }

  /** The certificate if it has not expired; an expired one is dropped on sight. */
  #valid(e: Entry): WorkloadCertificate | undefined {
    if (e.cert && e.cert.notAfter.getTime() <= Date.now()) e.cert = undefined;
    return e.cert;
  }

  #startFetch(e: Entry, from: readonly CertState[], to: 'Initializing' | 'Refreshing', pri: FetchPriority): void {
    this.#transition(e, from, to);
    clearTimeout(e.timer);
    e.timer = undefined;
    this.#enqueue(e, pri);
  }

  #enqueue(e: Entry, pri: FetchPriority): void {
    e.queued = pri;
    e.seq = ++this.#seq;
    this.#queue.add(e);
    this.#pump();
  }

  /** Raises the priority of a queued fetch (a RealTime need overtakes Warmup and refreshes). */
  #bump(e: Entry, pri: FetchPriority): void {
    if (e.queued !== undefined && RANK[pri] < RANK[e.queued]) e.queued = pri;
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.size > 0) {
      let next: Entry | undefined;
      for (const e of this.#queue) {
        if (!next || RANK[e.queued!] < RANK[next.queued!] || (e.queued === next.queued && e.seq < next.seq)) next = e;
      }
      this.#run(next!);
    }
  }

  #run(e: Entry): void {
    this.#queue.delete(e);
    e.queued = undefined;
    e.inFlight = true;
    this.#inFlight++;
    Promise.resolve()
      .then(() => this.fetcher.fetchCertificate(e.identity, this.#ttl))
      .then(
        (cert) => this.#fetched(e, cert),
        (err: unknown) => this.#failed(e, err instanceof Error ? err : new Error(String(err))),
      )
      .finally(() => {
        e.inFlight = false;
        this.#inFlight--;
        this.#pump();
      });
  }

  #fetched(e: Entry, cert: WorkloadCertificate): void {
    if (e.state === 'Forgotten') return; // forgotten while in flight: discard the key with it
    if (cert.identity !== e.identity) return this.#failed(e, new Error(`fetcher returned a certificate for ${cert.identity}, not ${e.identity}`));
    if (cert.notAfter.getTime() <= Date.now()) return this.#failed(e, new Error(`CA returned an expired certificate for ${e.identity}`));
    this.#transition(e, ['Initializing', 'Refreshing'], 'Available');
    e.cert = cert;
    e.attempts = 0;
    e.lastError = undefined;
    e.nextRetryAt = undefined;
    e.refreshAt = refreshAtMs(cert.notBefore, cert.notAfter);
    this.#arm(e, e.refreshAt, () => this.#startFetch(e, ['Available'], 'Refreshing', 'Background'));
    for (const w of e.waiters.splice(0)) w.resolve(cert);
    this.emit('updated', cert);
  }

  #failed(e: Entry, err: Error): void {
    if (e.state === 'Forgotten') return;
    this.#transition(e, ['Initializing', 'Refreshing'], 'Backoff');
    e.attempts++;
    e.lastError = err;
    e.nextRetryAt = Date.now() + retryDelayMs(e.attempts, this.#retryInitialMs, this.#retryMaxMs);
    this.#arm(e, e.nextRetryAt, () => {
      // A still-valid certificate keeps being served, so its retry is a Background refresh.
      if (this.#valid(e)) this.#startFetch(e, ['Backoff'], 'Refreshing', 'Background');
      else this.#startFetch(e, ['Backoff'], 'Initializing', 'Warmup');
    });
    const cert = this.#valid(e);
    for (const w of e.waiters.splice(0)) (cert ? w.resolve(cert) : w.reject(err));
    this.emit('fetchFailed', e.identity, err);
  }

  #forget(e: Entry, reason: Error): void {
    this.#transition(e, ['Initializing', 'Available', 'Refreshing', 'Backoff'], 'Forgotten');
    clearTimeout(e.timer);
    e.timer = undefined;
    this.#queue.delete(e);
    this.#entries.delete(e.identity);
    e.cert = undefined;
    for (const w of e.waiters.splice(0)) w.reject(reason);
  }

  #arm(e: Entry, at: number, fn: () => void): void {
    clearTimeout(e.timer);
    const delay = Math.max(0, at - Date.now());
    e.timer = setTimeout(delay > MAX_TIMER_MS ? () => this.#arm(e, at, fn) : fn, Math.min(delay, MAX_TIMER_MS));
    e.timer.unref(); // refresh timers alone should not keep a process alive
  }
}
