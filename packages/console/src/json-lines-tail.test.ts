import { appendFile, mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonLinesTail, type TailUpdate } from './json-lines-tail';

async function setup() {
  const directory = await mkdtemp(path.join(tmpdir(), 'cohort-tail-'));
  const file = path.join(directory, 'metrics.jsonl');
  const tail = new JsonLinesTail({ file, pollMs: 1_000_000 });
  const updates: TailUpdate[] = [];
  const stop = await tail.subscribe((update) => updates.push(update));
  return { directory, file, tail, updates, stop };
}

describe('JsonLinesTail', () => {
  it('waits for a missing file, then delivers whole lines only, across split writes and split UTF-8', async () => {
    const { file, tail, updates, stop } = await setup();
    expect(updates).toEqual([{ type: 'records', records: [] }]);
    await tail.poll();
    const line = `${JSON.stringify({ step: 1, text: 'naïve 🙂' })}\n`;
    const bytes = Buffer.from(line);
    // Cut inside the four bytes of the emoji.
    const cut = bytes.indexOf(Buffer.from('🙂')) + 2;
    await writeFile(file, bytes.subarray(0, cut));
    await tail.poll();
    expect(updates).toHaveLength(1);
    await appendFile(
      file,
      Buffer.concat([bytes.subarray(cut), Buffer.from('{"step": 2}\nnot json\n{"st')]),
    );
    await tail.poll();
    expect(updates[1]).toEqual({
      type: 'records',
      records: [
        { step: 1, text: 'naïve 🙂' },
        { step: 2 },
        expect.objectContaining({ kind: 'unreadable-line', line: 'not json' }),
      ],
    });
    await appendFile(file, 'ep": 3}\n');
    await tail.poll();
    expect(updates[2]).toEqual({ type: 'records', records: [{ step: 3 }] });
    expect(tail.snapshot()).toHaveLength(4);
    stop();
  });

  it('starts over when the file shrinks or is replaced', async () => {
    const { directory, file, tail, updates, stop } = await setup();
    await writeFile(file, '{"step": 1}\n{"step": 2}\n');
    await tail.poll();
    await writeFile(file, '{"step": 9}\n');
    await tail.poll();
    expect(updates.slice(2)).toEqual([
      { type: 'reset' },
      { type: 'records', records: [{ step: 9 }] },
    ]);
    // Same size, new file (an atomic rename): also a reset.
    const other = path.join(directory, 'other.jsonl');
    await writeFile(other, '{"step": 8}\n');
    await rename(other, file);
    await tail.poll();
    expect(updates.slice(4)).toEqual([
      { type: 'reset' },
      { type: 'records', records: [{ step: 8 }] },
    ]);
    expect(tail.snapshot()).toEqual([{ step: 8 }]);
    stop();
  });

  it('gives a late listener the backlog once, then the same updates as the others', async () => {
    const { file, tail, updates, stop } = await setup();
    await writeFile(file, '{"step": 1}\n');
    await tail.poll();
    const late: TailUpdate[] = [];
    const stopLate = await tail.subscribe((update) => late.push(update));
    await appendFile(file, '{"step": 2}\n');
    await tail.poll();
    expect(late).toEqual([
      { type: 'records', records: [{ step: 1 }] },
      { type: 'records', records: [{ step: 2 }] },
    ]);
    expect(updates.at(-1)).toEqual(late.at(-1));
    stop();
    stopLate();
  });
});
