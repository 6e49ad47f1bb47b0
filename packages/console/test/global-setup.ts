import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildWeb } from '../src/build-web';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The front-end built from `web/` for this test run. */
    webDirectory: string;
  }
}

/** Builds the front-end from its sources into a temporary folder that the tests serve. */
export default async function setup(project: TestProject) {
  const directory = await mkdtemp(path.join(tmpdir(), 'cohort-console-web-'));
  await buildWeb({ outDirectory: directory });
  project.provide('webDirectory', directory);
  return async () => {
    await rm(directory, { recursive: true, force: true });
  };
}
