// How a failed command reads on stderr: expected failures are one `error [AMBIT_E_…]: message`
// line (the message may continue on further lines) plus a hint; only an unexpected error, which
// is a bug, shows its stack. Pure: returns the text.
import { AmbitError, hintOf, type AmbitCode } from '../lib/errors.js';

/** A failed operating-system call (ENOENT, EACCES, EADDRINUSE...): the environment, not a bug. */
const isSystemError = (e: unknown): e is NodeJS.ErrnoException =>
  e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';

export interface Described {
  code: AmbitCode;
  message: string;
  hint: string;
  /** Set only for bugs. */
  stack?: string;
}

export function describeError(e: unknown): Described {
  if (e instanceof AmbitError) return { code: e.code, message: e.message, hint: hintOf(e.code, e.hint) };
  if (isSystemError(e)) return { code: 'AMBIT_E_SYSTEM', message: e.message, hint: hintOf('AMBIT_E_SYSTEM') };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'AMBIT_E_BUG', message, hint: 'this is a bug in ambit: please report it with the command you ran and the stack below', stack: e instanceof Error ? (e.stack ?? message) : message };
}

/** `error [CODE]: message`, `  hint: …`, and for bugs the stack. */
export function formatError(e: unknown): string {
  const d = describeError(e);
  return `error [${d.code}]: ${d.message}\n  hint: ${d.hint}\n${d.stack ? `${d.stack}\n` : ''}`;
}
