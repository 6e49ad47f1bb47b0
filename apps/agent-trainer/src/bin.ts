#!/usr/bin/env node
// The `agent-trainer` executable: `bin` in package.json points at its build,
// `dist/agent-trainer.js`; in the workspace it runs from source under tsx.
import { runCli } from './cli';
import { exitCodes } from './exit-codes';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`agent-trainer: ${String(error)}\n`);
    process.exitCode = exitCodes.failure;
  },
);
