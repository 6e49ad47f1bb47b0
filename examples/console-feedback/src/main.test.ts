import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConsoleServer, FeedbackItem } from '@cohort/console';
import { describe, expect, it } from 'vitest';
import { helpfulReplies, main } from './main';

/**
 * A scripted person at the console: reads the waiting question over the
 * same HTTP API the feedback page uses and posts the index of the helpful
 * reply, as a person who wants the refund handled would.
 */
function scriptedRater(server: ConsoleServer, runId: string): () => Promise<number> {
  let stopped = false;
  let answered = 0;
  const base = new URL(`api/runs/${runId}/feedback`, server.url);
  const loop = (async () => {
    while (!stopped) {
      const state = (await (await fetch(base)).json()) as { pending: FeedbackItem[] };
      const item = state.pending[0];
      if (!item) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      const best = item.candidates.findIndex((candidate) => helpfulReplies.includes(candidate));
      const response = await fetch(base, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ itemId: item.id, answer: best, who: 'scripted-rater' }),
      });
      if (!response.ok) throw new Error(await response.text());
      answered++;
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return answered;
  };
}

describe('examples/console-feedback', () => {
  it('trains the candidate selector from ratings given through the console', async () => {
    const runDirectory = path.join(
      await mkdtemp(path.join(tmpdir(), 'cohort-feedback-example-')),
      'run',
    );
    let answered = -1;
    const lines: string[] = [];
    const result = await main({
      runDirectory,
      port: 0,
      rounds: 12,
      log: (line) => lines.push(line),
      onConsole: (server) => {
        const stopRater = scriptedRater(server, 'run');
        // Stopped before the console closes: a request in flight at the end
        // would otherwise meet a reset socket.
        return async () => {
          answered = await stopRater();
        };
      },
    });
    // One question per query per round, whatever the 4 sampled choices.
    expect(answered).toBe(12 * 8);
    expect(result.ratings).toHaveLength(96);
    // 40 held-out queries, one helpful reply in four: chance is 0.25; 0.8 by chance has p < 1e-12.
    expect(result.before.chanceBestChoiceRate).toBeCloseTo(0.25, 10);
    expect(result.before.bestChoiceRate).toBeLessThan(0.45);
    expect(result.after.bestChoiceRate).toBeGreaterThanOrEqual(0.8);
    expect(result.updates.length).toBe(12);
    expect(result.updates.every((update) => update.applied)).toBe(true);
    // The ratings are in the run directory with who gave them; the updates in metrics.jsonl.
    const stored = (await readFile(path.join(runDirectory, 'feedback.jsonl'), 'utf8'))
      .trim()
      .split('\n');
    expect(stored).toHaveLength(96);
    expect(JSON.parse(stored[0]!).who).toBe('scripted-rater');
    const metrics = (await readFile(path.join(runDirectory, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n');
    expect(metrics).toHaveLength(12);
    console.info(lines.filter((line) => line.includes('best-choice')).join('\n'));
    expect(lines.join('\n')).toMatch(/best-choice rate after: /);
  });
});
