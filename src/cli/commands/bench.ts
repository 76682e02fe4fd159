// `ambit bench [--quick] [...]`: runs the benchmark harness (dist/bench/ambit-bench.js) in a child
// process with the terminal attached; Ctrl-C reaches it, and it tears its lab down itself.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HARNESS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'ambit-bench.js');

export async function benchCommand(args: string[]): Promise<number> {
  if (!fs.existsSync(HARNESS)) throw new Error(`${HARNESS} is missing: run npm run build in the Ambit checkout`);
  const child = spawn(process.execPath, [HARNESS, ...args], { stdio: 'inherit' });
  // The child gets the terminal's SIGINT too; we only wait for it to finish its teardown.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return await new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? (signal ? 130 : 1));
    });
  });
}
