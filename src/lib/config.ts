// Helpers for the per-binary configuration loaders: each binary turns (argv, env) into one typed
// config in a pure function and refuses to start on a bad value, naming it and what it wants.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from './duration.js';
import { AmbitError, type AmbitCode } from './errors.js';
import { parseLogLevel, type LogLevel } from './log.js';

/** A flag or environment value a binary cannot start with; the message names the value. */
export class ConfigError extends AmbitError {
  constructor(message: string, code: Extract<AmbitCode, 'AMBIT_E_CONFIG_INVALID' | 'AMBIT_E_USAGE'> = 'AMBIT_E_CONFIG_INVALID') {
    super(code, message);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value, or undefined when unset or empty (an empty variable means "default", as in ztunnel). */
export function envValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** `NAME="value": problem`, the shape of every config error. */
export function badValue(name: string, value: string, problem: string): ConfigError {
  return new ConfigError(`${name}=${JSON.stringify(value)}: ${problem}`);
}

/** A duration in milliseconds ("24h", "90m", "1m30s", or seconds as a bare number). */
export function durationValue(name: string, value: string, minMs = 0): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw badValue(name, value, 'not a duration (e.g. 24h, 90m, 30s)');
  }
  if (ms < minMs) throw badValue(name, value, `must be at least ${minMs / 1000}s`);
  return ms;
}

/** A TCP port 0-65535 (0 = any free port). */
export function portValue(name: string, value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw badValue(name, value, 'not a port (0-65535)');
  return n;
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** "host:port", "[v6]:port" or ":port" (every interface, as istiod's ":15012"). */
export function listenAddressValue(name: string, value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(value);
  if (!m) throw badValue(name, value, 'not a listen address (host:port, [v6]:port or :port)');
  const host = m[1] ?? (m[2] || '0.0.0.0');
  return { host, port: portValue(name, m[3]!) };
}

/** AMBIT_LOG_LEVEL: debug|info|warn|error (default info). */
export function logLevelValue(env: Env): LogLevel {
  const v = envValue(env, 'AMBIT_LOG_LEVEL');
  if (v === undefined) return 'info';
  const level = parseLogLevel(v);
  if (!level) throw badValue('AMBIT_LOG_LEVEL', v, 'want debug, info, warn or error');
  return level;
}

/**
 * Runs a loader body and returns its ConfigError instead of throwing it, so loaders read as
 * straight-line code but keep the signature (argv, env) → config | ConfigError.
 */
export function collect<T>(body: () => T): T | ConfigError {
  try {
    return body();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

/** String flags only (`--name value`); an unknown or valueless flag is a ConfigError that says so, with the usage. */
export function parseFlags<N extends string>(argv: readonly string[], names: readonly N[], usage: string): Partial<Record<N, string>> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const n of names) options[n] = { type: 'string' };
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Partial<Record<N, string>>;
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\nusage: ${usage}`, 'AMBIT_E_USAGE');
  }
}
