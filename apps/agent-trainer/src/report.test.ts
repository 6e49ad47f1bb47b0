import { describe, expect, it } from 'vitest';
import { renderReport } from './report';
import { niceTicks, renderLinePlot } from './svg-plot';
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
    // Frame: x from 56 to 188, y from 28 to 60; y range padded by 5% each side.
    expect(circles[0]![0]).toBeCloseTo(56, 1);
    expect(circles[1]![0]).toBeCloseTo(188, 1);
    const plotHeight = 100 - 28 - 40;
    expect(circles[0]![1]).toBeCloseTo(28 + plotHeight - (0.5 / 11) * plotHeight, 1);
    expect(circles[1]![1]).toBeCloseTo(28 + plotHeight - (10.5 / 11) * plotHeight, 1);
  });

  it('picks round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-0.05, 0.72)).toEqual([0, 0.2, 0.4, 0.6]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });
});
