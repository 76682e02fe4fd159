// Parsing human durations for CLI flags and specs: "10s", "500ms", "1m", "1m30s", "1.5h",
// or a bare number meaning seconds. Returns milliseconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const BARE = /^\d+(?:\.\d+)?$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Parses a duration into milliseconds; throws a RangeError naming the bad input. */
export function parseDuration(input: string): number {
  const s = input.trim();
  if (BARE.test(s)) return Number(s) * 1000;
  if (s === '') throw badDuration(input);
  let total = 0;
  PART.lastIndex = 0;
  // Sticky regex walks the string part by part so "1m30s" works and "1x" or "5 s" fail.
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (!m) throw badDuration(input);
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) throw badDuration(input);
  return total;
}

/** Formats milliseconds compactly for messages: 500ms, 10s, 1.5s, 2m, 1m30s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${round(ms)}ms`;
  if (ms < 60_000) return `${round(ms / 1000)}s`;
  const min = Math.floor(ms / 60_000);
  const rest = ms - min * 60_000;
  return rest === 0 ? `${min}m` : `${min}m${round(rest / 1000)}s`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function badDuration(input: string): RangeError {
  return new RangeError(`invalid duration '${input}' (use e.g. 10s, 500ms, 1m, 1m30s, or a number of seconds)`);
}
