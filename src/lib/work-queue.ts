// A keyed work queue: events only mark keys dirty; one worker reconciles each key with
// the latest cache state, coalescing bursts (e.g. a scale to 50) into few passes.
// Shared by the stand-in's controllers and the mesh control plane's root/CRL publisher.
export class WorkQueue {
  readonly #dirty = new Set<string>();
  #scheduled = false;
  #running = false;
  #stopped = false;

  constructor(readonly reconcile: (key: string) => Promise<void>, readonly log: (m: string) => void, readonly retryMs = 1000) {}

  add(key: string): void {
    if (this.#stopped) return;
    this.#dirty.add(key);
    this.#kick();
  }

  #kick(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    setTimeout(() => void this.#drain(), 20);
  }

  async #drain(): Promise<void> {
    this.#scheduled = false;
    this.#running = true;
    const keys = [...this.#dirty];
    this.#dirty.clear();
    for (const k of keys) {
      if (this.#stopped) break;
      try {
        await this.reconcile(k);
      } catch (e) {
        this.log(`reconcile ${k}: ${(e as Error).message}; retrying`);
        if (!this.#stopped) setTimeout(() => this.add(k), this.retryMs);
      }
    }
    this.#running = false;
    if (this.#dirty.size) this.#kick();
  }

  /** Drops pending keys and refuses new ones, so a stopped controller stops retrying. */
  stop(): void {
    this.#stopped = true;
    this.#dirty.clear();
  }
}
