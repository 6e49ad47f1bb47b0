import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const packageDirectory = join(import.meta.dirname, '..');
const readme = readFileSync(join(packageDirectory, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/## Example: ([^\n]+)\n+```ts\n([\s\S]*?)```/g)].map(
  (match) => ({
    title: match[1]!,
    code: match[2]!
      .replaceAll("'@cohort/environments'", JSON.stringify(join(packageDirectory, 'src/index.ts')))
      .replaceAll("'@cohort/core'", JSON.stringify(join(packageDirectory, '../core/src/index.ts'))),
  }),
);

describe('README examples', () => {
  it('has the two examples', () => {
    expect(examples.map((example) => example.title)).toEqual([
      'a custom scenario and reward',
      'the bandit',
      'the support desk, with tools',
    ]);
  });

  for (const [index, example] of examples.entries()) {
    it(`runs: ${example.title}`, async () => {
      const file = join(tmpdir(), `cohort-environments-readme-${process.pid}-${index}.ts`);
      writeFileSync(file, `${example.code}\nexport {};\n`);
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
      if (index === 0) {
        expect(logged[0]![0]).toMatchObject({ done: false, reward: 1 / 3 });
        expect(logged[1]![0]).toEqual({
          total: 1.2,
          components: { 'goal-completion': 1, keywords: 1, length: 0 },
          errors: {},
        });
      } else if (index === 2) {
        const [endReason, calls, reward] = logged[0]!;
        expect(endReason).toBe('success');
        expect(calls).toContain('get_order');
        expect(reward).toBe(1);
      } else {
        const [average, means, drifts] = logged[0]!;
        expect(average).toBeGreaterThan(0.6);
        expect([...(means as number[])].sort()).toEqual([0.2, 0.5, 0.8]);
        expect(drifts).toBe(2);
      }
    });
  }
});
