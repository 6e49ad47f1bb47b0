import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `pnpm test:packages`: the packaging test alone (see packages.test.ts); it
// builds, packs and installs, so it is kept out of `pnpm test`.
export default defineConfig({
  test: {
    name: '@cohort/packaging',
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['packages.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
  },
});
