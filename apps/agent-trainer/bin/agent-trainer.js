#!/usr/bin/env node
// Runs the built CLI when there is one (a published install); in the
// workspace, runs the TypeScript sources under tsx with the `@cohort/source`
// condition, so sibling packages resolve to their sources too.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const source = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
if (existsSync(built)) {
  const { runCli } = await import(built);
  process.exitCode = await runCli(process.argv.slice(2));
} else {
  const result = spawnSync(
    process.execPath,
    ['--conditions=@cohort/source', '--import', 'tsx', source, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exitCode = result.status ?? (result.signal === 'SIGINT' ? 130 : 1);
}
