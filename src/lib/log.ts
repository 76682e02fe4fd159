// Minimal structured logger: one line per event, `time level component message`.
export type Logger = (msg: string) => void;

export function logger(component: string, out: NodeJS.WritableStream = process.stderr): Logger {
  return (msg) => out.write(`${new Date().toISOString()} ${component}: ${msg}\n`);
}
