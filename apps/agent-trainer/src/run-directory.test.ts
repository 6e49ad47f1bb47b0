import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunDirectory } from './run-directory';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cohort-run-directory-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('createRunDirectory', () => {
  it('gives each of several runs started in the same second with the same name its own folder', async () => {
    const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const created = await Promise.all(
      Array.from({ length: 6 }, () => createRunDirectory({ root, name: 'same', date })),
    );
    const names = created.map((paths) => path.basename(paths.root)).sort();
    expect(names).toEqual([
      '20260102-030405-same',
      '20260102-030405-same-2',
      '20260102-030405-same-3',
      '20260102-030405-same-4',
      '20260102-030405-same-5',
      '20260102-030405-same-6',
    ]);
    for (const paths of created) expect(await readdir(paths.root)).toEqual(['checkpoints']);
  });
});
