// Minimal structured logger: one line per event, `time component: message`, with a process-wide
// level that can change at runtime (the node tunnel's admin /logging). Calling a logger directly
// logs at info, so every `Logger` (a plain function) keeps working; `.debug/.warn/.error` log
// at those levels, and lines other than info name their level: `time component: [warn] message`.
export type Logger = (msg: string) => void;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** 'debug' | 'info' | 'warn' | 'warning' | 'error' (any case) → the level; else undefined. */
export function parseLogLevel(s: string | undefined): LogLevel | undefined {
  const v = s?.trim().toLowerCase();
  if (v === 'warning') return 'warn';
  return (LOG_LEVELS as readonly string[]).includes(v ?? '') ? (v as LogLevel) : undefined;
}

// Set at start by the process's config (AMBIT_LOG_LEVEL); nothing is read from the environment here.
let current: LogLevel = 'info';

export function getLogLevel(): LogLevel {
  return current;
}

export function setLogLevel(level: LogLevel): void {
  current = level;
}

/** Whether a line at `level` is written under the current level. */
export function logEnabled(level: LogLevel): boolean {
  return RANK[level] >= RANK[current];
}

export interface LevelledLogger extends Logger {
  debug: Logger;
  info: Logger;
  warn: Logger;
  error: Logger;
}

export function logger(component: string, out: NodeJS.WritableStream = process.stderr): LevelledLogger {
  const at = (level: LogLevel): Logger => {
    const tag = level === 'info' ? '' : `[${level}] `;
    return (msg) => {
      if (logEnabled(level)) out.write(`${new Date().toISOString()} ${component}: ${tag}${msg}\n`);
    };
  };
  const info = at('info');
  return Object.assign((msg: string) => info(msg), { debug: at('debug'), info, warn: at('warn'), error: at('error') });
}
