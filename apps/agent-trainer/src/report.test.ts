import { describe, expect, it } from 'vitest';
import { renderReport } from './report';
import { niceTicks, renderLinePlot, smoothValues } from './svg-plot';
import { syntheticMetrics, syntheticSamples } from './test-support/synthetic-run';

const steps = 20;
const records = syntheticMetrics({ steps, evaluateEvery: 5, generationEvery: 4 });
const config = { name: 'test', trainer: { steps } };

function svgPointCounts(html: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of html.matchAll(/<svg [^>]*data-points="(\d+)" aria-label="([^"]*)"/g))
    counts[match[2]!] = Number(match[1]);
  return counts;
}

describe('renderReport', () => {
  const html = renderReport({
    records,
    config,
    samples: syntheticSamples(20),
    summary: { status: 'completed', seconds: 125 },
  });

  it('draws every plot with the points the metrics hold', () => {
    const counts = svgPointCounts(html);
    expect(counts['Reward (mean ± std over episodes)']).toBe(steps);
    expect(counts['Reward per reward function']).toBe(2 * steps);
    expect(counts['KL to reference (per token)']).toBe(steps);
    expect(counts['Entropy (per token)']).toBe(steps);
    expect(counts['Completion length (tokens per agent turn)']).toBe(2 * steps);
    expect(counts['Clip fractions']).toBe(2 * steps);
    // Step 3 logged tokens/s as "NaN": skipped, not drawn at 0.
    expect(counts['Sampled tokens per second']).toBe(steps - 1);
    expect(counts['Population fitness per generation']).toBe(3 * 5);
    // Evaluations at steps 0, 5, 10, 15, 20.
    expect(counts['Evaluation reward']).toBe(5);
    expect(counts['Evaluation success rate']).toBe(5);
    expect(counts['Evaluation reward per category']).toBe(2 * 5);
    for (const title of [
      'Loss',
      'Gradient norm (before clipping)',
      'Learning rate',
      'Groups with zero reward spread',
    ])
      expect(counts[title], title).toBe(steps);
    expect(counts['Truncation (share of episodes)']).toBe(2 * steps);
    expect(counts['Reply diversity (degenerate policies fall)']).toBe(3 * steps);
    expect(counts['Step timings (seconds)']).toBe(4 * steps);
  });

  it('shows intervals and categories, flags a policy that repeats one reply, and puts the same scenario at start and end side by side', () => {
    expect(html).toContain('0.300 [0.200, 0.400]');
    expect(html).toContain('<th>refunds<br><small>reward / success</small></th>');
    // topReplyShare 0.75 from step 11 of 20.
    expect(html).toMatch(
      /Degenerate policy\? In 10 of 20 steps \(first: step 11\) more than 50% of the agent's replies were the same reply/,
    );
    expect(html).toMatch(
      /Start versus end[\s\S]*step 0 · scenario refunds-1[\s\S]*step 20 · scenario refunds-1/,
    );
    const withGain = renderReport({
      records,
      config,
      summary: { status: 'completed', rewardGainInterval: [0.05, 0.61] },
    });
    expect(withGain).toContain('[+0.050, +0.610]');
  });

  it('is self-contained: no script, no external resource', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link /i);
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
  });

  it('escapes conversation text and shows the config and the gain', () => {
    expect(html).toContain('Sorry! I have issued a refund &lt;script&gt;alert(1)&lt;/script&gt;.');
    expect(html).toContain('My order &lt;b&gt;#42&lt;/b&gt; &amp; &quot;the box&quot;');
    expect(html).toContain('&quot;name&quot;: &quot;test&quot;');
    // First evaluation 0.3, last 0.3 + 0.4 = 0.7: gain +0.400.
    expect(html).toContain('+0.400');
    expect(html).toContain('1 adopted a prompt');
  });

  it('adds the candidate selector’s plots for its runs only', () => {
    expect(html).not.toContain('Candidate selector');
    const selector = renderReport({
      records: [
        {
          kind: 'evaluation',
          step: 0,
          time: '',
          rewardMean: 0.1,
          bestChoiceRate: 0.25,
          chanceBestChoiceRate: 0.25,
        },
        {
          kind: 'step',
          step: 1,
          time: '',
          rewardMean: 0.5,
          actorLoss: -0.1,
          criticLoss: 0.2,
          klToInitial: 0.01,
        },
        {
          kind: 'step',
          step: 2,
          time: '',
          rewardMean: 0.7,
          actorLoss: -0.2,
          criticLoss: 0.1,
          klToInitial: 0.02,
        },
        {
          kind: 'evaluation',
          step: 2,
          time: '',
          rewardMean: 0.6,
          bestChoiceRate: 0.75,
          chanceBestChoiceRate: 0.25,
        },
      ],
      config: {},
    });
    for (const title of [
      'Candidate selector: actor and critic loss',
      'Candidate selector: KL to the initial actor',
      'Candidate selector: best of K chosen (held-out)',
    ]) {
      expect(selector).toContain(title);
    }
    const bestOfK = selector.slice(selector.indexOf('best of K chosen (held-out)'));
    // Two points per series: the greedy and the random choice.
    expect(bestOfK.slice(0, bestOfK.indexOf('</svg>'))).toMatch(
      /greedy choice[\s\S]*random choice/,
    );
  });

  it('is deterministic and renders an empty run', () => {
    expect(renderReport({ records, config, samples: syntheticSamples(20) })).toBe(
      renderReport({ records, config, samples: syntheticSamples(20) }),
    );
    const empty = renderReport({ records: [], config: {} });
    expect(Object.values(svgPointCounts(empty)).every((count) => count === 0)).toBe(true);
    expect(empty).toContain('no data');
  });
});

describe('renderLinePlot', () => {
  it('maps points into the frame: the lowest y at the bottom, the highest at the top', () => {
    const svg = renderLinePlot({
      title: 't',
      series: [
        {
          name: 's',
          points: [
            [0, 0],
            [1, 10],
          ],
        },
      ],
      width: 200,
      height: 100,
    });
    const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((match) => [
      Number(match[1]),
      Number(match[2]),
    ]);
    // Frame: x from 56 to 188, y from 42 (title 28 + one legend row 14) to 74; y range padded by 5% each side.
    expect(circles[0]![0]).toBeCloseTo(56, 1);
    expect(circles[1]![0]).toBeCloseTo(188, 1);
    const top = 28 + 14;
    const plotHeight = 100 - 28 - 40;
    expect(circles[0]![1]).toBeCloseTo(top + plotHeight - (0.5 / 11) * plotHeight, 1);
    expect(circles[1]![1]).toBeCloseTo(top + plotHeight - (10.5 / 11) * plotHeight, 1);
    // The legend sits in its band above the frame, never on a line.
    const legendY = Number(/<text x="[\d.]+" y="([\d.]+)" class="plot-legend">/.exec(svg)![1]);
    expect(legendY).toBeLessThan(top);
  });

  it('gives long legend names fewer columns, so they never run into each other', () => {
    const svg = renderLinePlot({
      title: 'long',
      series: [
        {
          name: 'a turn cut by maxNewTokens',
          points: [
            [0, 0],
            [1, 1],
          ],
        },
        {
          name: 'ended by a full context',
          points: [
            [0, 1],
            [1, 0],
          ],
        },
        {
          name: 'third',
          points: [
            [0, 0.5],
            [1, 0.5],
          ],
        },
      ],
    });
    const legends = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" class="plot-legend">/g)].map(
      (match) => [Number(match[1]), Number(match[2])] as const,
    );
    // Two columns: the first two side by side, half the plot width (452 / 2 px) apart, the third below.
    expect(legends[1]![0] - legends[0]![0]).toBe(226);
    expect(legends[2]![1]).toBeGreaterThan(legends[0]![1]);
  });

  it('keeps a rate inside its bounds: no negative success rate on the axis', () => {
    const svg = renderLinePlot({
      title: 'rate',
      series: [
        {
          name: 'success',
          points: [
            [0, 0],
            [1, 0],
            [2, 0.5],
          ],
        },
      ],
      width: 200,
      height: 100,
      yBounds: [0, 1],
    });
    const ticks = [...svg.matchAll(/class="plot-tick">([^<]+)</g)].map((match) => match[1]!);
    expect(ticks.some((tick) => tick.startsWith('-'))).toBe(false);
    const flat = renderLinePlot({
      title: 'flat',
      series: [
        {
          name: 'zero',
          points: [
            [0, 0],
            [1, 0],
          ],
        },
      ],
      yBounds: [0, 1],
    });
    expect(flat).not.toMatch(/class="plot-tick">-/);
  });

  it('smooths with the debiased moving average over the faint raw line', () => {
    // By hand, w = 0.5: m = 0.5, 1.25, 2.125; debiased by 1 - 0.5^t = 0.5, 0.75, 0.875.
    const smoothed = smoothValues([1, 2, 3], 0.5);
    expect(smoothed[0]).toBeCloseTo(1, 12);
    expect(smoothed[1]).toBeCloseTo(1.25 / 0.75, 12);
    expect(smoothed[2]).toBeCloseTo(2.125 / 0.875, 12);
    expect(smoothValues([2, Number.NaN, 4], 0)).toEqual([2, Number.NaN, 4]);
    const svg = renderLinePlot({
      title: 'noisy',
      series: [
        {
          name: 'loss',
          points: [
            [1, 1],
            [2, 3],
            [3, 2],
            [4, 4],
          ],
        },
      ],
      smoothing: 0.6,
    });
    expect(svg).toContain('class="plot-line plot-raw"');
    expect(svg).toContain('stroke-opacity="0.3"');
    expect(svg).toMatch(/class="plot-smooth" data-series="loss \(smoothed\)"/);
    expect(svg).toContain('data-points="4"');
  });

  it('puts no tick between whole steps, and never prints two ticks the same', () => {
    const svg = renderLinePlot({
      title: 'lr',
      series: [
        {
          name: 'lr',
          points: [
            [1, 1e-4],
            [2, 1e-4],
            [3, 1e-4],
          ],
        },
      ],
    });
    const ticks = [...svg.matchAll(/class="plot-tick">([^<]+)</g)].map((match) => match[1]!);
    expect(ticks).not.toContain('1.5');
    expect(ticks).toContain('2');
    const yTicks = ticks.filter((tick) => tick.includes('e-'));
    expect(new Set(yTicks).size).toBe(yTicks.length);
    expect(yTicks).toContain('1e-4');
  });

  it('picks round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-0.05, 0.72)).toEqual([0, 0.2, 0.4, 0.6]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });
});
