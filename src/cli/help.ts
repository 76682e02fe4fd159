// What a command declares about itself (name, arguments, flags) and the help text generated
// from it. The same flag objects go to node:util parseArgs, so help cannot drift from parsing.
// Pure, and light to load: help must not wait for the commands' code.
import { AmbitError } from '../lib/errors.js';

/** Wrong arguments: main prints the message, then the command's usage, and exits 2. */
export class UsageError extends AmbitError {
  constructor(message: string) {
    super('AMBIT_E_USAGE', message);
  }
}

/** A parseArgs option plus what help prints for it. */
export interface Flag {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  /** The value's placeholder in help (string flags): `--nodes N`. */
  arg?: string;
  help: string;
  /** Shown without brackets in the synopsis. */
  required?: boolean;
}

export type Flags = Record<string, Flag>;

/** Keeps the literal flag types, so parseArgs infers the values' types from them. */
export const defineFlags = <T extends Flags>(flags: T): T => flags;

export interface CommandSpec {
  /** The words after `ambit`: 'cluster up'. */
  name: string;
  /** Positional arguments, as the synopsis shows them: 'KIND [NAME]'. */
  args?: string;
  /** One line: what the command does. */
  summary: string;
  flags?: Flags;
  /** More lines printed under the flags. */
  details?: string;
  /** Other spellings of the last word of the name. */
  aliases?: string[];
}

const flagWord = (name: string, f: Flag): string => {
  const key = f.short ? `-${f.short}` : `--${name}`;
  return f.type === 'string' ? `${key} ${f.arg ?? 'VALUE'}` : key;
};

/** `ambit cluster up [--nodes N] ... ` on one line. */
export function synopsis(spec: CommandSpec): string {
  const flags = Object.entries(spec.flags ?? {}).map(([n, f]) => (f.required ? flagWord(n, f) : `[${flagWord(n, f)}]`));
  return ['ambit', spec.name, spec.args, ...flags].filter(Boolean).join(' ');
}

function flagRows(flags: Flags): string[] {
  const rows = Object.entries(flags).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? ` ${f.arg ?? 'VALUE'}` : ''}`;
    const def = f.default !== undefined && f.default !== false ? ` (default: ${String(f.default)})` : '';
    return [left, `${f.help}${f.required ? ' (required)' : ''}${def}`] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}   ${r}`);
}

/** A command's help: synopsis, summary, flags, details; a group lists its subcommands. */
export function renderHelp(spec: CommandSpec, subcommands: readonly CommandSpec[] = []): string {
  const lines: string[] = [];
  if (subcommands.length) {
    lines.push(`usage: ambit ${spec.name} ${subcommands.map((s) => s.name.split(' ').pop()).join('|')} ...`, '', spec.summary, '', 'subcommands:');
    const width = Math.max(...subcommands.map((s) => s.name.length));
    for (const s of subcommands) lines.push(`  ambit ${s.name.padEnd(width)}   ${s.summary}`);
  } else {
    lines.push(`usage: ${synopsis(spec)}`, '', spec.summary);
  }
  if (spec.flags && Object.keys(spec.flags).length) lines.push('', 'flags:', ...flagRows(spec.flags));
  if (spec.aliases?.length) lines.push('', `also spelled: ${spec.aliases.join(', ')}`);
  if (spec.details) lines.push('', spec.details);
  lines.push('', subcommands.length ? `ambit ${spec.name} SUBCOMMAND --help shows a subcommand's flags.` : '-h, --help prints this help.');
  return `${lines.join('\n')}\n`;
}

export interface Section {
  title: string;
  specs: readonly CommandSpec[];
}

/** `ambit --help`: every command with its arguments and required flags, one line each, by section. */
export function renderOverview(intro: string, sections: readonly Section[], outro: string): string {
  const required = (c: CommandSpec): string[] => Object.entries(c.flags ?? {}).filter(([, f]) => f.required).map(([n, f]) => flagWord(n, f));
  const rows = sections.map((s) => ({ title: s.title, rows: s.specs.map((c) => [['ambit', c.name, c.args, ...required(c)].filter(Boolean).join(' '), c.summary] as const) }));
  const width = Math.min(48, Math.max(...rows.flatMap((s) => s.rows.map(([l]) => l.length))));
  const lines = [intro, ''];
  for (const s of rows) {
    lines.push(`${s.title}:`);
    for (const [l, r] of s.rows) lines.push(l.length > width ? `  ${l}\n  ${' '.repeat(width)}   ${r}` : `  ${l.padEnd(width)}   ${r}`);
  }
  lines.push('', outro);
  return `${lines.join('\n')}\n`;
}
