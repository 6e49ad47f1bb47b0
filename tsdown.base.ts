import { defineConfig, type UserConfig } from 'tsdown';

/** What differs between packages: their entry points and the platform they run on. */
export interface CohortBuildOptions {
  /** Output name (without extension) to source file, e.g. `{ index: 'src/index.ts', node: 'src/node.ts' }`. */
  entry: Record<string, string>;
  /**
   * `'neutral'` for the browser-safe packages (no `node:*` import may be
   * bundled or left in), `'node'` for the packages and the app that use Node.
   */
  platform: 'neutral' | 'node';
}

/**
 * The one build recipe of every published package: each entry bundled into
 * one ES module with its relative imports resolved (the sources keep their
 * extensionless specifiers), dependencies left as imports, and its `.d.ts`
 * bundled beside it so that `node16`/`nodenext` and `bundler` consumers all
 * resolve the types.
 */
export function cohortBuild(options: CohortBuildOptions): UserConfig {
  return defineConfig({
    entry: options.entry,
    format: 'esm',
    platform: options.platform,
    target: 'node20',
    fixedExtension: false,
    hash: false,
    // `pnpm start` builds the app to run it and needs no declarations: it sets
    // COHORT_BUILD_JS_ONLY=1 to skip the declaration bundler, two thirds of the build.
    dts: process.env.COHORT_BUILD_JS_ONLY === '1' ? false : { tsconfig: 'tsconfig.build.json' },
    tsconfig: 'tsconfig.build.json',
    sourcemap: true,
    clean: true,
    report: false,
    // The declaration bundler is the slow part by design; its timing note is noise.
    checks: { pluginTimings: false },
    logLevel: 'warn',
  });
}
