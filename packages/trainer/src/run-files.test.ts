import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeStaleTemporaries, truncateJsonLines } from './run-files';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cohort-run-files-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('removeStaleTemporaries', () => {
  it('removes temporary files and checkpoint folders, restores an orphaned old checkpoint, and keeps everything else', async () => {
    const run = path.join(root, 'run');
    const checkpoints = path.join(run, 'checkpoints');
    await mkdir(path.join(checkpoints, 'step-000010'), { recursive: true });
    await mkdir(path.join(checkpoints, 'step-000020.tmp-4242-1733000000000-0'));
    await writeFile(
      path.join(checkpoints, 'step-000020.tmp-4242-1733000000000-0', 'weights.bin'),
      'x',
    );
    // Replaced step-000010 was moved aside, its replacement is in place: the old copy goes.
    await mkdir(path.join(checkpoints, 'step-000010.old-4242-1733000000001-1'));
    // step-000030 was moved aside and the crash came before the new one arrived: it comes back.
    await mkdir(path.join(checkpoints, 'step-000030.old-4242-1733000000002-2'));
    await writeFile(
      path.join(checkpoints, 'step-000030.old-4242-1733000000002-2', 'state.json'),
      '{}',
    );
    await writeFile(path.join(run, 'metrics.jsonl'), '{"step":1}\n');
    await writeFile(
      path.join(run, 'metrics.jsonl.0b5e2a34-1c2d-4e5f-8a9b-0c1d2e3f4a5b.tmp'),
      'half',
    );
    await writeFile(path.join(run, 'run.lock.4242-1733000000000-abc123'), '{}');
    await writeFile(path.join(run, 'notes.tmp'), 'mine');
    const touched = await removeStaleTemporaries(run);
    expect(touched).toHaveLength(5);
    expect((await readdir(run)).sort()).toEqual(['checkpoints', 'metrics.jsonl', 'notes.tmp']);
    expect((await readdir(checkpoints)).sort()).toEqual(['step-000010', 'step-000030']);
    expect(await readFile(path.join(checkpoints, 'step-000030', 'state.json'), 'utf8')).toBe('{}');
    expect(await removeStaleTemporaries(path.join(root, 'missing'))).toEqual([]);
  });
});

describe('truncateJsonLines', () => {
  it('keeps the accepted records, drops a last line cut short, and names the file and line of a broken one', async () => {
    const file = path.join(root, 'log.jsonl');
    await writeFile(file, '{"step":0}\n{"step":1}\n{"step":2}\n{"step":3,"cut');
    expect(await truncateJsonLines(file, (record) => (record.step as number) <= 1)).toBe(2);
    expect(await readFile(file, 'utf8')).toBe('{"step":0}\n{"step":1}\n');
    expect(await truncateJsonLines(file, () => true)).toBe(0);
    expect(await truncateJsonLines(file, () => false)).toBe(2);
    expect(await readFile(file, 'utf8')).toBe('');
    await writeFile(file, '{"step":0}\nnot json\n{"step":2}\n');
    await expect(truncateJsonLines(file, () => true)).rejects.toThrow(
      /log\.jsonl line 2 is not JSON/,
    );
    expect(await truncateJsonLines(path.join(root, 'absent.jsonl'), () => true)).toBe(0);
  });
});
