import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One vitest run over every workspace member; each project resolves sibling
// packages to their TypeScript sources through the `@cohort/source` condition,
// so tests never need a build first.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'examples/*', 'tests', 'tests/e2e'],
    // Vitest's default is one worker fewer than the cores: on a 2-core machine
    // that is one worker, every file alone and a core idle while it imports or
    // computes on one thread. At least two files run at a time; the projects
    // that set `oneFileAtATime` (the CLI end-to-end files, which run their own
    // processes at once, and the console's timed browser test) run after the
    // rest, one file at a time.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
