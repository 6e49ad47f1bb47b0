import { defineConfig } from 'vitest/config';

// One vitest run over every workspace member; each project resolves sibling
// packages to their TypeScript sources through the `@cohort/source` condition,
// so tests never need a build first.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'examples/*', 'tests'],
  },
});
