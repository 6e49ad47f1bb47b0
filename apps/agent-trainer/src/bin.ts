#!/usr/bin/env node
// The `agent-trainer` executable: `bin` in package.json points at its build,
// `dist/agent-trainer.js`; in the workspace it runs from source under tsx.
import { runCli } from './cli';
import { exitCodes } from './exit-codes';

let settled = false;
// Node exits when nothing is left to wait for, even with a command's promise pending
// (a user's module awaiting a promise that never settles): that must not look like success.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write(
    'agent-trainer: the command stopped without finishing: it awaited a promise that can never settle (in a user module?) with nothing else left to run\n',
  );
  process.exitCode = exitCodes.failure;
});
runCli(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (error: unknown) => {
    settled = true;
    process.stderr.write(`agent-trainer: ${String(error)}\n`);
    process.exitCode = exitCodes.failure;
  },
);
