import {
  type EvaluationMetrics,
  type GenerationRecord,
  type MetricsRecord,
  type NumericFieldName,
  runHealthThresholds,
  type StepHealth,
  type StepMetricName,
} from '@cohort/trainer';
import { populationSection } from './report-population';
import type { SampleRecord } from './run-directory';
import { escapeHtml, type PlotSeries, renderLinePlot } from './svg-plot';

/** Input of {@link renderReport}. */
export interface RenderReportOptions {
  /** Lines of `metrics.jsonl`. */
  records: readonly MetricsRecord[];
  /** The resolved config, shown as JSON. */
  config: unknown;
  /** `summary.json`, when the run has finished. */
  summary?: unknown;
  /** Sample conversations (`samples.jsonl`); the latest evaluation's are shown. */
  samples?: readonly SampleRecord[];
  /** Page title (default: "Cohort training report"). */
  title?: string;
  /** At most this many sample conversations (default 6). */
  maxSamples?: number;
}

/** A metric as a number; `"NaN"` and `"Infinity"` (how the log writes non-finite values) become NaN and are not plotted. */
function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

/** Numbers a candidate-selector run logs (CandidateSelectorRun): its updates, and its evaluations' best-of-K rates. */
type CandidateSelectorMetricName =
  | 'actorLoss'
  | 'criticLoss'
  | 'klToInitial'
  | 'bestChoiceRate'
  | 'chanceBestChoiceRate';

/** A field the report plots: a numeric metric of a step, an evaluation or a generation (typos do not compile). */
type PlottedField =
  | StepMetricName
  | CandidateSelectorMetricName
  | NumericFieldName<StepHealth>
  | NumericFieldName<EvaluationMetrics>
  | NumericFieldName<GenerationRecord>;

function pointsOf(
  records: readonly MetricsRecord[],
  field: PlottedField,
  x: PlottedField = 'step',
): [number, number][] {
  return records.map((record) => [numberOf(record[x]), numberOf(record[field])]);
}

function format(value: unknown, digits = 3): string {
  const number = numberOf(value);
  if (!Number.isFinite(number)) return value === undefined ? '–' : escapeHtml(String(value));
  return Number.isInteger(number) ? String(number) : number.toFixed(digits);
}

const styles = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6576; --line: #d9dee7; --panel: #f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #fff; }
header { padding: 20px 28px; border-bottom: 1px solid var(--line); background: var(--panel); }
h1 { margin: 0 0 4px; font-size: 22px; }
h2 { margin: 28px 0 10px; font-size: 18px; }
main { padding: 0 28px 40px; max-width: 1200px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 140px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 20px; font-weight: 600; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 6px; background: #fff; }
svg.plot { width: 100%; height: auto; display: block; }
.plot-title { font-size: 13px; font-weight: 600; fill: var(--ink); }
.plot-frame { fill: none; stroke: var(--line); }
.plot-grid { stroke: #eef1f5; }
.plot-axis { stroke: var(--muted); }
.plot-tick, .plot-legend { font-size: 10px; fill: var(--muted); }
.plot-label { font-size: 11px; fill: var(--muted); }
.plot-empty { font-size: 12px; fill: var(--muted); }
.conversation { border: 1px solid var(--line); border-radius: 8px; margin: 10px 0; padding: 8px 12px; }
.conversation .meta { color: var(--muted); font-size: 12px; margin-bottom: 6px; }
.message { margin: 4px 0; padding: 6px 10px; border-radius: 6px; white-space: pre-wrap; }
.message.system { background: #f1f1f1; color: var(--muted); font-size: 12px; }
.message.user { background: #eef5ff; }
.message.assistant { background: #effaf3; }
.role { font-weight: 600; font-size: 11px; text-transform: uppercase; color: var(--muted); display: block; }
pre.config { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px; overflow: auto; font-size: 12px; }
table { border-collapse: collapse; }
td, th { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.warning { background: #fff4e5; border: 1px solid #f0c36d; border-radius: 8px; padding: 8px 12px; }
th:first-child, td:first-child { text-align: left; }
`;

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(3)}`;
}

/** Smoothing of noisy per-step curves (the raw values stay drawn, faint). */
const smoothing = 0.6;
const rate = [0, 1] as const;
const nonNegative = [0, null] as const;

function intervalOf(record: MetricsRecord, field: string): [number, number] | undefined {
  const value = record[field];
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [low, high] = value.map(numberOf) as [number, number];
  return Number.isFinite(low) && Number.isFinite(high) ? [low, high] : undefined;
}

/**
 * One series per key of an object-valued field of the records (for example
 * `rewardMeanByFunction`, `timings`, `byCategory`), in order of first
 * appearance unless `sorted`; `pick` reads the number out of each entry.
 */
function keyedSeries(
  records: readonly MetricsRecord[],
  field: string,
  options: { pick?: (entry: unknown) => unknown; sorted?: boolean } = {},
): PlotSeries[] {
  const names = new Set<string>();
  for (const record of records) {
    const value = record[field];
    if (value && typeof value === 'object') for (const name of Object.keys(value)) names.add(name);
  }
  const pick = options.pick ?? ((entry: unknown) => entry);
  const ordered = options.sorted ? [...names].sort() : [...names];
  return ordered.map((name) => ({
    name,
    points: records.map((record) => [
      numberOf(record.step),
      numberOf(pick((record[field] as Record<string, unknown> | undefined)?.[name])),
    ]),
  }));
}

function categorySeries(evaluations: readonly MetricsRecord[]): PlotSeries[] {
  return keyedSeries(evaluations, 'byCategory', {
    pick: (entry) => (entry as { rewardMean?: unknown } | undefined)?.rewardMean,
  });
}

/** The degenerate-policy flags that `summary.json` holds (raised by the run as it trained). */
function flagsOf(summary: unknown): { kind: string; message: string; firstStep: number }[] {
  const flags = (summary as { degenerationFlags?: unknown } | undefined)?.degenerationFlags;
  if (!Array.isArray(flags)) return [];
  return flags.filter(
    (flag): flag is { kind: string; message: string; firstStep: number } =>
      typeof flag === 'object' && flag !== null && typeof flag.message === 'string',
  );
}

/**
 * Steps whose replies collapsed onto one (the share above the warning
 * threshold), and every degenerate-policy flag the run raised (one reply
 * repeated, tool calls dropped, success falling while reward rises).
 */
function healthSection(steps: readonly MetricsRecord[], summary: unknown): string {
  const flags = flagsOf(summary)
    .map(
      (flag) =>
        `<li>${escapeHtml(flag.kind)} (from step ${format(flag.firstStep)}): ${escapeHtml(flag.message)}</li>`,
    )
    .join('');
  const flagList = flags
    ? `<p class="warning">Degenerate policy flags raised during the run:</p><ul>${flags}</ul>`
    : '';
  const share = Math.round(runHealthThresholds.topReplyShare * 100);
  const flagged = steps.filter(
    (record) => numberOf(record.topReplyShare) > runHealthThresholds.topReplyShare,
  );
  if (steps.every((record) => record.topReplyShare === undefined)) return flagList;
  if (flagged.length === 0)
    return `<p>No step had more than ${share}% identical agent replies.</p>${flagList}`;
  const first = flagged[0]!;
  return `<p class="warning">Degenerate policy? In ${flagged.length} of ${steps.length} steps (first: step ${format(first.step)}) more than ${share}% of the agent's replies were the same reply (share ${format(first.topReplyShare, 2)} at step ${format(first.step)}; distinct-2 ${format(first.distinct2, 2)}). A policy that repeats one reply to collect a reward shows here.</p>${flagList}`;
}

function conversationHtml(sample: SampleRecord): string {
  const messages = (sample.messages ?? [])
    .map((message) => {
      const role = ['system', 'user', 'assistant'].includes(message.role) ? message.role : 'user';
      return `<div class="message ${role}"><span class="role">${escapeHtml(message.role)}</span>${escapeHtml(message.content)}</div>`;
    })
    .join('');
  return `<div class="conversation"><div class="meta">step ${format(sample.step)} · scenario ${escapeHtml(String(sample.scenarioId))} · reward ${format(sample.reward)} · ended by ${escapeHtml(String(sample.endReason ?? '–'))}</div>${messages}</div>`;
}

/** The same scenario at the first and at the last evaluation, side by side. */
function startVersusEnd(samples: readonly SampleRecord[]): string {
  const stepsSeen = [
    ...new Set(samples.map((sample) => numberOf(sample.step)).filter(Number.isFinite)),
  ].sort((a, b) => a - b);
  if (stepsSeen.length < 2) return '';
  const first = stepsSeen[0]!;
  const last = stepsSeen.at(-1)!;
  const pairs = samples
    .filter((sample) => numberOf(sample.step) === first)
    .flatMap((start) => {
      const end = samples.find(
        (sample) => numberOf(sample.step) === last && sample.scenarioId === start.scenarioId,
      );
      return end ? [[start, end] as const] : [];
    });
  if (pairs.length === 0) return '';
  return `<h2>Start versus end (same scenario, same seed)</h2>${pairs
    .map(
      ([start, end]) =>
        `<div class="pair"><div>${conversationHtml(start)}</div><div>${conversationHtml(end)}</div></div>`,
    )
    .join('')}`;
}

function figure(svg: string): string {
  return `<figure>${svg}</figure>`;
}

function summaryCards(
  summary: unknown,
  steps: readonly MetricsRecord[],
  evaluations: readonly MetricsRecord[],
): string {
  const cards: [string, string][] = [];
  const lastStep = steps.at(-1);
  cards.push(['steps', format(lastStep?.step ?? 0)]);
  if (lastStep) cards.push(['episodes', format(lastStep.episodes)]);
  const first = evaluations[0];
  const last = evaluations.at(-1);
  if (first) cards.push(['eval reward at start', format(first.rewardMean)]);
  if (last && last !== first) {
    cards.push(['eval reward at end', format(last.rewardMean)]);
    const gain = numberOf(last.rewardMean) - numberOf(first?.rewardMean);
    if (Number.isFinite(gain))
      cards.push(['eval reward gain', `${gain >= 0 ? '+' : ''}${gain.toFixed(3)}`]);
    cards.push(['eval success rate', format(last.successRate)]);
  }
  if (summary && typeof summary === 'object') {
    const gainInterval = (summary as Record<string, unknown>).rewardGainInterval;
    if (Array.isArray(gainInterval) && gainInterval.length === 2) {
      const [low, high] = gainInterval.map(numberOf) as [number, number];
      if (Number.isFinite(low) && Number.isFinite(high))
        cards.push(['eval reward gain 95%', `[${signed(low)}, ${signed(high)}]`]);
    }
    const after = (summary as { evaluationAfter?: Record<string, unknown> }).evaluationAfter;
    const successInterval = after?.successInterval;
    if (Array.isArray(successInterval) && successInterval.length === 2)
      cards.push([
        'eval task success 95%',
        `[${format(successInterval[0], 2)}, ${format(successInterval[1], 2)}]`,
      ]);
    if (typeof after?.inventedOrderIds === 'number')
      cards.push(['invented order ids (all eval episodes)', format(after.inventedOrderIds, 0)]);
    const toolCalls = after?.toolCalls as { callsPerEpisode?: unknown } | undefined;
    if (toolCalls)
      cards.push(['eval tool calls per episode', format(toolCalls.callsPerEpisode, 2)]);
    const customer = (summary as { userSimulator?: Record<string, unknown> }).userSimulator;
    if (customer) {
      cards.push([
        'LLM customer answers (cached)',
        `${format(customer.calls, 0)} (${format(customer.cached, 0)})`,
      ]);
      const timeouts = (customer.fallbacksByReason as Record<string, unknown> | undefined)?.timeout;
      cards.push([
        'LLM customer fallbacks (timeouts)',
        `${format(customer.fallbacks, 0)} (${format(timeouts, 0)})`,
      ]);
    }
    const seconds = numberOf((summary as Record<string, unknown>).seconds);
    if (Number.isFinite(seconds)) cards.push(['wall time', `${seconds.toFixed(0)} s`]);
    const status = (summary as Record<string, unknown>).status;
    if (typeof status === 'string') cards.push(['status', escapeHtml(status)]);
  }
  return `<div class="cards">${cards
    .map(
      ([label, value]) =>
        `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${value}</div></div>`,
    )
    .join('')}</div>`;
}

function renderSamples(samples: readonly SampleRecord[], maxSamples: number): string {
  if (samples.length === 0)
    return '<p>No sample conversations yet (they are written at each evaluation).</p>';
  const lastStep = Math.max(
    ...samples.map((sample) => numberOf(sample.step)).filter(Number.isFinite),
  );
  return samples
    .filter((sample) => numberOf(sample.step) === lastStep)
    .slice(0, maxSamples)
    .map(conversationHtml)
    .join('');
}

function evaluationTable(evaluations: readonly MetricsRecord[]): string {
  if (evaluations.length === 0) return '';
  const categories = categorySeries(evaluations).map((series) => series.name);
  const range = (record: MetricsRecord, field: string, digits: number) => {
    const interval = intervalOf(record, field);
    return interval ? ` [${format(interval[0], digits)}, ${format(interval[1], digits)}]` : '';
  };
  const rows = evaluations
    .map((record) => {
      const byCategory = (record.byCategory ?? {}) as Record<
        string,
        { rewardMean?: unknown; successRate?: unknown }
      >;
      const perCategory = categories
        .map(
          (name) =>
            `<td>${format(byCategory[name]?.rewardMean)} / ${format(byCategory[name]?.successRate, 2)}</td>`,
        )
        .join('');
      return `<tr><td>${format(record.step)}</td><td>${format(record.episodes)}</td><td>${format(record.rewardMean)}${range(record, 'rewardInterval', 3)}</td><td>${format(record.successRate, 2)}${range(record, 'successInterval', 2)}</td>${perCategory}</tr>`;
    })
    .join('');
  const categoryHeads = categories
    .map((name) => `<th>${escapeHtml(name)}<br><small>reward / success</small></th>`)
    .join('');
  return `<table><thead><tr><th>step</th><th>episodes</th><th>reward mean [95%]</th><th>success rate [95%]</th>${categoryHeads}</tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * The HTML report of a run: one self-contained page (inline CSS and inline
 * SVG, no script, no network) with plots of the training metrics per step
 * (reward mean ± std, reward per reward function, loss, gradient norm,
 * learning rate, KL to the reference, entropy, completion lengths,
 * truncation, zero-spread groups, reply diversity, step timings, clip
 * fractions, tokens per second; noisy curves smoothed over their faint raw
 * values, rates kept in [0, 1]), a warning when the policy collapsed onto one
 * reply, the population's fitness per generation, evaluation reward and
 * success rate with 95% intervals and per category, sample conversations
 * from several categories, the same scenarios at the start and at the end,
 * and the config. Deterministic for its input.
 *
 * @example
 * ```ts
 * const { records, config, samples, summary } = await readRun('runs/20250101-120000-support');
 * await writeFile('report.html', renderReport({ records, config, samples, summary }));
 * ```
 */
export function renderReport(options: RenderReportOptions): string {
  const title = options.title ?? 'Cohort training report';
  const steps = options.records.filter((record) => record.kind === 'step');
  const evaluations = options.records.filter((record) => record.kind === 'evaluation');
  const generations = options.records.filter((record) => record.kind === 'generation');
  const events = options.records.filter((record) => record.kind === 'event');

  const bandOf = (record: MetricsRecord): [number, number, number] => {
    const mean = numberOf(record.rewardMean);
    const std = numberOf(record.rewardStd);
    return [numberOf(record.step), mean - std, mean + std];
  };
  /** One plot over the steps: its series as `[name, field]` pairs, or built series. */
  const stepPlot = (
    title: string,
    series: readonly (readonly [string, PlottedField])[] | PlotSeries[],
    options: { yBounds?: readonly [number | null, number | null]; smooth?: boolean } = {},
  ) =>
    renderLinePlot({
      title,
      xLabel: 'step',
      ...(options.smooth ? { smoothing } : {}),
      ...(options.yBounds ? { yBounds: options.yBounds } : {}),
      series: series.map((entry) =>
        Array.isArray(entry)
          ? { name: entry[0] as string, points: pointsOf(steps, entry[1] as PlottedField) }
          : (entry as PlotSeries),
      ),
    });
  const smooth = { smooth: true };
  const training = [
    stepPlot(
      'Reward (mean ± std over episodes)',
      [{ name: 'reward mean', points: pointsOf(steps, 'rewardMean'), band: steps.map(bandOf) }],
      smooth,
    ),
    stepPlot(
      'Reward per reward function',
      keyedSeries(steps, 'rewardMeanByFunction', { sorted: true }),
      smooth,
    ),
    stepPlot('Loss', [['loss', 'loss']], smooth),
    stepPlot('Gradient norm (before clipping)', [['grad norm', 'gradNorm']], {
      smooth: true,
      yBounds: nonNegative,
    }),
    stepPlot('Learning rate', [['learning rate', 'learningRate']], { yBounds: nonNegative }),
    stepPlot('KL to reference (per token)', [['KL', 'klToReference']], smooth),
    stepPlot('Entropy (per token)', [['entropy', 'entropy']], {
      smooth: true,
      yBounds: nonNegative,
    }),
    stepPlot(
      'Completion length (tokens per agent turn)',
      [
        ['mean', 'completionLengthMean'],
        ['max', 'completionLengthMax'],
      ],
      { smooth: true, yBounds: nonNegative },
    ),
    stepPlot(
      'Truncation (share of episodes)',
      [
        ['a turn cut by maxNewTokens', 'truncatedFraction'],
        ['ended by a full context', 'lengthEndedFraction'],
      ],
      { yBounds: rate },
    ),
    stepPlot(
      'Groups with zero reward spread',
      [['zero-spread fraction', 'zeroSpreadGroupFraction']],
      {
        yBounds: rate,
      },
    ),
    stepPlot(
      'Reply diversity (degenerate policies fall)',
      [
        ['distinct-1', 'distinct1'],
        ['distinct-2', 'distinct2'],
        ['most frequent reply share', 'topReplyShare'],
      ],
      { smooth: true, yBounds: rate },
    ),
    stepPlot('Step timings (seconds)', keyedSeries(steps, 'timings'), {
      smooth: true,
      yBounds: nonNegative,
    }),
    stepPlot(
      'Clip fractions',
      [
        ['low', 'clipFractionLow'],
        ['high', 'clipFractionHigh'],
      ],
      { yBounds: rate },
    ),
    stepPlot('Sampled tokens per second', [['tokens/s', 'tokensPerSecond']], {
      smooth: true,
      yBounds: nonNegative,
    }),
    stepPlot('Success rate (training episodes)', [['success', 'successRate']], {
      smooth: true,
      yBounds: rate,
    }),
  ];
  const evolution = renderLinePlot({
    title: 'Population fitness per generation',
    xLabel: 'generation',
    series: [
      { name: 'best', points: pointsOf(generations, 'bestFitness', 'generation') },
      { name: 'mean', points: pointsOf(generations, 'meanFitness', 'generation') },
      { name: 'worst', points: pointsOf(generations, 'worstFitness', 'generation') },
    ],
  });
  const intervalBand =
    (field: string, fallback?: (record: MetricsRecord) => [number, number, number]) =>
    (record: MetricsRecord): [number, number, number] => {
      const interval = intervalOf(record, field);
      if (interval) return [numberOf(record.step), interval[0], interval[1]];
      return fallback ? fallback(record) : [numberOf(record.step), Number.NaN, Number.NaN];
    };
  const evaluation = [
    renderLinePlot({
      title: 'Evaluation reward',
      xLabel: 'step',
      series: [
        {
          name: 'reward mean (band: 95% interval)',
          points: pointsOf(evaluations, 'rewardMean'),
          band: evaluations.map(intervalBand('rewardInterval', bandOf)),
        },
      ],
    }),
    renderLinePlot({
      title: 'Evaluation success rate',
      xLabel: 'step',
      yBounds: rate,
      series: [
        {
          name: 'success rate (band: 95% interval)',
          points: pointsOf(evaluations, 'successRate'),
          band: evaluations.map(intervalBand('successInterval')),
        },
      ],
    }),
    renderLinePlot({
      title: 'Evaluation reward per category',
      xLabel: 'step',
      series: categorySeries(evaluations),
    }),
  ];
  // A candidate-selector run (policy type candidate-selector) logs its actor-critic updates and best-of-K choices.
  const selector = steps.some((record) => record.actorLoss !== undefined)
    ? [
        stepPlot('Candidate selector: actor and critic loss', [
          ['actor', 'actorLoss'],
          ['critic', 'criticLoss'],
        ]),
        stepPlot('Candidate selector: KL to the initial actor', [['KL', 'klToInitial']], {
          yBounds: nonNegative,
        }),
        renderLinePlot({
          title: 'Candidate selector: best of K chosen (held-out)',
          xLabel: 'step',
          yBounds: rate,
          series: [
            { name: 'greedy choice', points: pointsOf(evaluations, 'bestChoiceRate') },
            { name: 'random choice', points: pointsOf(evaluations, 'chanceBestChoiceRate') },
          ],
        }),
      ]
    : [];
  const adopted = generations.filter(
    (record) => record.adopted !== null && record.adopted !== undefined,
  );
  const eventList = events.length
    ? `<ul>${events.map((record) => `<li>step ${format(record.step)}: ${escapeHtml(String(record.event ?? 'event'))}${record.reason ? ` (${escapeHtml(String(record.reason))})` : ''}</li>`).join('')}</ul>`
    : '';
  const configJson = JSON.stringify(options.config ?? null, null, 2) ?? 'null';
  const population = populationSection(options.records);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${styles}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1>${summaryCards(options.summary, steps, evaluations)}</header>
<main>
<h2>Training</h2>
<div class="grid">${training.map(figure).join('\n')}</div>
${selector.length ? `<h2>Candidate selector</h2>\n<div class="grid">${selector.map(figure).join('\n')}</div>` : ''}
<h2>Policy health</h2>
${healthSection(steps, options.summary)}
<h2>Evaluation (held-out scenarios)</h2>
<div class="grid">${evaluation.map(figure).join('\n')}</div>
${evaluationTable(evaluations)}
${population}${
  population && generations.length === 0
    ? ''
    : `<h2>Prompt evolution</h2>
<div class="grid">${figure(evolution)}</div>
<p>${generations.length} generation(s); ${adopted.length} adopted a prompt from the population.</p>`
}
${eventList ? `<h2>Events</h2>${eventList}` : ''}
<h2>Sample conversations (one per category, last evaluation)</h2>
${renderSamples(options.samples ?? [], options.maxSamples ?? 6)}
${startVersusEnd(options.samples ?? [])}
<h2>Config</h2>
<pre class="config">${escapeHtml(configJson)}</pre>
</main>
</body>
</html>
`;
}
