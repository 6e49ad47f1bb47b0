import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';

const packageDirectory = join(import.meta.dirname, '..');
const readme = readFileSync(join(packageDirectory, 'README.md'), 'utf8');
const example = readme.match(/## Example \(runs as written\)\n+```ts\n([\s\S]*?)```/)?.[1];

it('runs the README example as written', async () => {
  expect(example).toBeDefined();
  const file = join(tmpdir(), `cohort-transport-readme-${process.pid}.ts`);
  const code = example!.replaceAll(
    "'@cohort/transport'",
    JSON.stringify(join(packageDirectory, 'src/index.ts')),
  );
  writeFileSync(file, `${code}\nexport {};\n`);
  const logged: unknown[][] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...values: unknown[]) => {
    logged.push(values);
  });
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    spy.mockRestore();
    rmSync(file, { force: true });
  }
  expect(logged).toEqual([
    [['step0-group0 by worker-0', 'step0-group1 by worker-0', 'step0-group2 by worker-0']],
  ]);
});
