import type {
  EvaluationMetrics,
  GenerationRecord,
  MetricsRecord,
  NumericFieldName,
  StepMetricName,
} from '@cohort/trainer';
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

/** A field the report plots: a numeric metric of a step, an evaluation or a generation (typos do not compile). */
type PlottedField =
  | StepMetricName
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
th:first-child, td:first-child { text-align: left; }
`;

function figure(svg: string): string {
  return `<figure>${svg}</figure>`;
}

function rewardFunctionSeries(steps: readonly MetricsRecord[]): PlotSeries[] {
  const names = new Set<string>();
  for (const record of steps) {
    const byFunction = record.rewardMeanByFunction;
    if (byFunction && typeof byFunction === 'object')
      for (const name of Object.keys(byFunction)) names.add(name);
  }
  return [...names].sort().map((name) => ({
    name,
    points: steps.map((record) => [
      numberOf(record.step),
      numberOf((record.rewardMeanByFunction as Record<string, unknown> | undefined)?.[name]),
    ]),
  }));
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
  const shown = samples.filter((sample) => numberOf(sample.step) === lastStep).slice(0, maxSamples);
  return shown
    .map((sample) => {
      const messages = (sample.messages ?? [])
        .map((message) => {
          const role = ['system', 'user', 'assistant'].includes(message.role)
            ? message.role
            : 'user';
          return `<div class="message ${role}"><span class="role">${escapeHtml(message.role)}</span>${escapeHtml(message.content)}</div>`;
        })
        .join('');
      return `<div class="conversation"><div class="meta">step ${format(sample.step)} · scenario ${escapeHtml(String(sample.scenarioId))} · reward ${format(sample.reward)} · ended by ${escapeHtml(String(sample.endReason ?? '–'))}</div>${messages}</div>`;
    })
    .join('');
}

function evaluationTable(evaluations: readonly MetricsRecord[]): string {
  if (evaluations.length === 0) return '';
  const rows = evaluations
    .map(
      (record) =>
        `<tr><td>${format(record.step)}</td><td>${format(record.episodes)}</td><td>${format(record.rewardMean)}</td><td>${format(record.rewardStd)}</td><td>${format(record.successRate)}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>step</th><th>episodes</th><th>reward mean</th><th>reward std</th><th>success rate</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * The HTML report of a run: one self-contained page (inline CSS and inline
 * SVG, no script, no network) with plots of the training metrics per step
 * (reward mean ± std, reward per reward function, KL to the reference,
 * entropy, completion lengths, clip fractions, tokens per second), the
 * population's fitness per generation, evaluation reward and success rate,
 * sample conversations, and the config. Deterministic for its input.
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
  const training = [
    renderLinePlot({
      title: 'Reward (mean ± std over episodes)',
      xLabel: 'step',
      series: [
        { name: 'reward mean', points: pointsOf(steps, 'rewardMean'), band: steps.map(bandOf) },
      ],
    }),
    renderLinePlot({
      title: 'Reward per reward function',
      xLabel: 'step',
      series: rewardFunctionSeries(steps),
    }),
    renderLinePlot({
      title: 'KL to reference (per token)',
      xLabel: 'step',
      series: [{ name: 'KL', points: pointsOf(steps, 'klToReference') }],
    }),
    renderLinePlot({
      title: 'Entropy (per token)',
      xLabel: 'step',
      series: [{ name: 'entropy', points: pointsOf(steps, 'entropy') }],
    }),
    renderLinePlot({
      title: 'Completion length (tokens per agent turn)',
      xLabel: 'step',
      series: [
        { name: 'mean', points: pointsOf(steps, 'completionLengthMean') },
        { name: 'max', points: pointsOf(steps, 'completionLengthMax') },
      ],
    }),
    renderLinePlot({
      title: 'Clip fractions',
      xLabel: 'step',
      series: [
        { name: 'low', points: pointsOf(steps, 'clipFractionLow') },
        { name: 'high', points: pointsOf(steps, 'clipFractionHigh') },
      ],
    }),
    renderLinePlot({
      title: 'Sampled tokens per second',
      xLabel: 'step',
      series: [{ name: 'tokens/s', points: pointsOf(steps, 'tokensPerSecond') }],
    }),
    renderLinePlot({
      title: 'Success rate (training episodes)',
      xLabel: 'step',
      series: [{ name: 'success', points: pointsOf(steps, 'successRate') }],
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
  const evaluation = [
    renderLinePlot({
      title: 'Evaluation reward',
      xLabel: 'step',
      series: [
        {
          name: 'reward mean',
          points: pointsOf(evaluations, 'rewardMean'),
          band: evaluations.map(bandOf),
        },
      ],
    }),
    renderLinePlot({
      title: 'Evaluation success rate',
      xLabel: 'step',
      series: [{ name: 'success rate', points: pointsOf(evaluations, 'successRate') }],
    }),
  ];
  const adopted = generations.filter(
    (record) => record.adopted !== null && record.adopted !== undefined,
  );
  const eventList = events.length
    ? `<ul>${events.map((record) => `<li>step ${format(record.step)}: ${escapeHtml(String(record.event ?? 'event'))}${record.reason ? ` (${escapeHtml(String(record.reason))})` : ''}</li>`).join('')}</ul>`
    : '';
  const configJson = JSON.stringify(options.config ?? null, null, 2) ?? 'null';

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
<h2>Evaluation (held-out scenarios)</h2>
<div class="grid">${evaluation.map(figure).join('\n')}</div>
${evaluationTable(evaluations)}
<h2>Prompt evolution</h2>
<div class="grid">${figure(evolution)}</div>
<p>${generations.length} generation(s); ${adopted.length} adopted a prompt from the population.</p>
${eventList ? `<h2>Events</h2>${eventList}` : ''}
<h2>Sample conversations</h2>
${renderSamples(options.samples ?? [], options.maxSamples ?? 6)}
<h2>Config</h2>
<pre class="config">${escapeHtml(configJson)}</pre>
</main>
</body>
</html>
`;
}
