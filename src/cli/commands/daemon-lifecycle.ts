// How every long-running `ambit` process ends: on SIGTERM/SIGINT, a clean shutdown with a
// deadline, then an explicit exit.

/**
 * Daemons end with an explicit exit once their shutdown is done, and at the latest after
 * `deadlineMs`: a stray timer or socket must never keep a stopped daemon alive.
 */
export async function shutdown(log: (m: string) => void, deadlineMs: number, close: () => Promise<void>): Promise<number> {
  const watchdog = setTimeout(() => {
    log(`shutdown did not finish within ${deadlineMs / 1000}s; exiting anyway`);
    process.exit(1);
  }, deadlineMs);
  await close();
  clearTimeout(watchdog);
  process.exit(0);
}

export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}
