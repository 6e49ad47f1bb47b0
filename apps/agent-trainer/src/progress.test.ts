import { describe, expect, it } from 'vitest';
import { formatDuration, ProgressDisplay } from './progress';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, output: { isTTY, columns: 200, write: (text: string) => chunks.push(text) } };
}

const metrics = (step: number) => ({
  step,
  rewardMean: 0.5 + step / 100,
  klToReference: 0.0012,
  tokensPerSecond: 42.4,
  successRate: 0.25,
  stepSeconds: 2,
});

describe('ProgressDisplay', () => {
  it('prints one plain line per step when not a terminal, with an ETA from the pace so far', () => {
    let now = 100;
    const human = sink(false);
    const machine = sink(false);
    const progress = new ProgressDisplay({
      totalSteps: 10,
      human: human.output,
      machine: machine.output,
      json: false,
      now: () => now,
    });
    now = 104;
    progress.step(metrics(2));
    // 4 s for 2 steps: 2 s per step, 8 steps left: 16 s.
    expect(human.chunks).toEqual([
      'step 2/10 reward 0.520 success 0.25 KL 0.0012 tok/s 42 step 2.0s ETA 16s\n',
    ]);
    expect(machine.chunks).toEqual([]);
  });

  it('redraws one bar in place on a terminal and clears it for messages', () => {
    const human = sink(true);
    const progress = new ProgressDisplay({
      totalSteps: 4,
      human: human.output,
      machine: sink(false).output,
      json: false,
      now: () => 0,
    });
    progress.step(metrics(1));
    expect(human.chunks.at(-1)).toBe(
      '\r\x1b[2K[#####...............] 1/4 reward 0.510 KL 0.0012 tok/s 42 ETA 0s',
    );
    progress.message('eval done');
    expect(human.chunks.slice(-3)).toEqual([
      '\r\x1b[2K',
      'eval done\n',
      '\r\x1b[2K[#####...............] 1/4 reward 0.510 KL 0.0012 tok/s 42 ETA 0s',
    ]);
    progress.close();
    expect(human.chunks.at(-1)).toBe('\r\x1b[2K');
  });

  it('writes JSON lines to the machine stream only, with --json', () => {
    const human = sink(true);
    const machine = sink(false);
    const progress = new ProgressDisplay({
      totalSteps: 4,
      human: human.output,
      machine: machine.output,
      json: true,
    });
    progress.step(metrics(1));
    progress.evaluation({ step: 1, rewardMean: 0.4, successRate: 0.5, episodes: 8 });
    progress.message('hidden');
    expect(human.chunks).toEqual([]);
    expect(machine.chunks.map((line) => JSON.parse(line))).toEqual([
      { type: 'step', ...metrics(1) },
      { type: 'evaluation', step: 1, episodes: 8, rewardMean: 0.4, successRate: 0.5 },
    ]);
  });

  it('formats durations', () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});
