#!/usr/bin/env node
// Composition root of the `ambit` binary.
import { main } from '../cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`error [AMBIT_E_BUG]: ${(e as Error).stack ?? String(e)}\n  this is a bug in ambit: please report it\n`);
    process.exitCode = 1;
  },
);
