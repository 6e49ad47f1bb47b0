import { describe, expect, it } from 'vitest';
import { initialize, resolve } from './user-module-hooks.js';

interface Call {
  specifier: string;
  parentURL: string | undefined;
}

/** A stand-in for Node's next resolver that records its calls and resolves what `table` knows. */
function recordingResolver(table: Record<string, { url: string; format?: string }>) {
  const calls: Call[] = [];
  const next = async (specifier: string, context?: object) => {
    const parentURL = (context as { parentURL?: string } | undefined)?.parentURL;
    calls.push({ specifier, parentURL });
    const found = table[`${specifier} from ${parentURL}`];
    if (!found)
      throw Object.assign(new Error(`not found: ${specifier}`), { code: 'ERR_MODULE_NOT_FOUND' });
    return found;
  };
  return { calls, next };
}

const appUrl = 'file:///opt/app/node_modules/@cohort/agent-trainer/dist/user-module.js';
const context = (parentURL: string) => ({
  parentURL,
  conditions: ['node', 'import'],
  importAttributes: {},
});

describe('user module resolution hook', () => {
  initialize({ appUrl });

  it("resolves a user module's @cohort/* imports from the app's installation", async () => {
    const { calls, next } = recordingResolver({
      [`@cohort/core from ${appUrl}`]: {
        url: 'file:///opt/app/node_modules/@cohort/core/dist/index.js',
        format: 'module',
      },
    });
    const resolved = await resolve('@cohort/core', context('file:///home/me/envs/my-env.ts'), next);
    expect(resolved.url).toBe('file:///opt/app/node_modules/@cohort/core/dist/index.js');
    expect(calls).toEqual([{ specifier: '@cohort/core', parentURL: appUrl }]);
  });

  it('falls back to the importer for a @cohort package the app does not install', async () => {
    const { calls, next } = recordingResolver({
      '@cohort/extra from file:///home/me/project/env.js': {
        url: 'file:///home/me/project/node_modules/@cohort/extra/dist/index.js',
        format: 'module',
      },
    });
    const resolved = await resolve(
      '@cohort/extra',
      context('file:///home/me/project/env.js'),
      next,
    );
    expect(resolved.url).toBe('file:///home/me/project/node_modules/@cohort/extra/dist/index.js');
    expect(calls.map((call) => call.parentURL)).toEqual([appUrl, 'file:///home/me/project/env.js']);
  });

  it('leaves imports from installed packages and of other packages alone', async () => {
    const insidePackage = 'file:///opt/app/node_modules/@cohort/trainer/dist/index.js';
    const { calls, next } = recordingResolver({
      [`@cohort/core from ${insidePackage}`]: { url: 'file:///x/core.js', format: 'module' },
      'zod from file:///home/me/env.js': { url: 'file:///x/zod.js', format: 'module' },
    });
    await resolve('@cohort/core', context(insidePackage), next);
    await resolve('zod', context('file:///home/me/env.js'), next);
    expect(calls).toEqual([
      { specifier: '@cohort/core', parentURL: insidePackage },
      { specifier: 'zod', parentURL: 'file:///home/me/env.js' },
    ]);
  });

  it('makes a user TypeScript file an ES module, and nothing else', async () => {
    const parent = 'file:///home/me/main.js';
    const { next } = recordingResolver({
      [`./env.ts from ${parent}`]: { url: 'file:///home/me/env.ts', format: 'commonjs' },
      [`./helper.cts from ${parent}`]: { url: 'file:///home/me/helper.cts', format: 'commonjs' },
      [`./reward.js from ${parent}`]: { url: 'file:///home/me/reward.js', format: 'commonjs' },
      [`dep from ${parent}`]: { url: 'file:///home/me/node_modules/dep/index.ts' },
    });
    expect((await resolve('./env.ts', context(parent), next)).format).toBe('module');
    expect((await resolve('./helper.cts', context(parent), next)).format).toBe('commonjs');
    expect((await resolve('./reward.js', context(parent), next)).format).toBe('commonjs');
    expect((await resolve('dep', context(parent), next)).format).toBeUndefined();
  });
});
