/** Where progress goes: a stream-like writer and whether it is a terminal. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Options of {@link ProgressDisplay}. */
export interface ProgressDisplayOptions {
  /** Steps the run ends at. */
  totalSteps: number;
  /** Step the run starts from (a resumed run). */
  startStep?: number;
  /** Human progress (normally stderr). */
  human: ProgressOutput;
  /** Machine output (normally stdout), used when `json` is set. */
  machine: ProgressOutput;
  /** Print JSON lines to `machine` instead of human text. */
  json: boolean;
  /** Clock in seconds, for the ETA (injectable for tests). */
  now?: () => number;
}

/** The numbers of one training step that the display shows. */
export interface StepProgress {
  step: number;
  rewardMean: number;
  klToReference: number;
  tokensPerSecond: number;
  successRate?: number;
  stepSeconds?: number;
}

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

function fixed(value: unknown, digits: number): string {
  return typeof value === 'number' && Number.isFinite(value)
    ? value.toFixed(digits)
    : String(value ?? '–');
}

/**
 * Live progress of a training run. On a terminal: one bar redrawn in place
 * (`[#####.....] 5/12 reward 0.531 KL 0.0120 tok/s 34 ETA 1m20s`); elsewhere:
 * one plain line per step; with `json`: one JSON object per line on the
 * machine stream (`{"type":"step",...}`), and nothing on the human stream.
 * The ETA is the mean step time of this session times the steps left.
 *
 * @example
 * ```ts
 * const progress = new ProgressDisplay({ totalSteps: 12, human: process.stderr, machine: process.stdout, json: false });
 * progress.step({ step: 1, rewardMean: 0.4, klToReference: 0, tokensPerSecond: 30 });
 * progress.close();
 * ```
 */
export class ProgressDisplay {
  private readonly options: ProgressDisplayOptions;
  private readonly now: () => number;
  private readonly started: number;
  private readonly startStep: number;
  private barVisible = false;
  private lastLine = '';

  constructor(options: ProgressDisplayOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now() / 1000);
    this.started = this.now();
    this.startStep = options.startStep ?? 0;
  }

  private get live(): boolean {
    return !this.options.json && this.options.human.isTTY === true;
  }

  /** Seconds left at the current pace, or NaN before the first step. */
  eta(step: number): number {
    const done = step - this.startStep;
    if (done <= 0) return Number.NaN;
    return ((this.now() - this.started) / done) * Math.max(0, this.options.totalSteps - step);
  }

  /** The text of the bar for a step (without control characters). */
  barLine(metrics: StepProgress): string {
    const width = 20;
    const total = Math.max(1, this.options.totalSteps);
    const filled = Math.min(width, Math.round((metrics.step / total) * width));
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    return `[${bar}] ${metrics.step}/${this.options.totalSteps} reward ${fixed(metrics.rewardMean, 3)} KL ${fixed(metrics.klToReference, 4)} tok/s ${fixed(metrics.tokensPerSecond, 0)} ETA ${formatDuration(this.eta(metrics.step))}`;
  }

  private clearBar(): void {
    if (this.barVisible) {
      this.options.human.write('\r\x1b[2K');
      this.barVisible = false;
    }
  }

  private drawBar(): void {
    const columns = this.options.human.columns ?? 100;
    this.options.human.write(`\r\x1b[2K${this.lastLine.slice(0, Math.max(20, columns - 1))}`);
    this.barVisible = true;
  }

  /** A line of text above the bar (or a plain line). */
  message(text: string): void {
    if (this.options.json) return;
    this.clearBar();
    this.options.human.write(`${text}\n`);
    if (this.live && this.lastLine) this.drawBar();
  }

  /** Emits a JSON line on the machine stream (only with `json`). */
  emitJson(record: Record<string, unknown>): void {
    if (this.options.json) this.options.machine.write(`${JSON.stringify(record)}\n`);
  }

  /** Reports a finished training step. */
  step(metrics: StepProgress): void {
    if (this.options.json) {
      this.emitJson({ type: 'step', ...(metrics as object) });
      return;
    }
    this.lastLine = this.barLine(metrics);
    if (this.live) this.drawBar();
    else {
      this.options.human.write(
        `step ${metrics.step}/${this.options.totalSteps} reward ${fixed(metrics.rewardMean, 3)} success ${fixed(metrics.successRate, 2)} KL ${fixed(metrics.klToReference, 4)} tok/s ${fixed(metrics.tokensPerSecond, 0)} step ${fixed(metrics.stepSeconds, 1)}s ETA ${formatDuration(this.eta(metrics.step))}\n`,
      );
    }
  }

  /** Reports a held-out evaluation. */
  evaluation(metrics: {
    step: number;
    rewardMean: number;
    successRate: number;
    episodes: number;
    rewardInterval?: [number, number];
    successInterval?: [number, number];
    byCategory?: Record<string, { rewardMean: number; successRate: number }>;
  }): void {
    if (this.options.json) {
      this.emitJson({
        type: 'evaluation',
        step: metrics.step,
        episodes: metrics.episodes,
        rewardMean: metrics.rewardMean,
        successRate: metrics.successRate,
        ...(metrics.rewardInterval ? { rewardInterval: metrics.rewardInterval } : {}),
        ...(metrics.successInterval ? { successInterval: metrics.successInterval } : {}),
        ...(metrics.byCategory ? { byCategory: metrics.byCategory } : {}),
      });
      return;
    }
    const interval = (range: [number, number] | undefined, digits: number) =>
      range ? ` [${fixed(range[0], digits)}, ${fixed(range[1], digits)}]` : '';
    const categories = Object.entries(metrics.byCategory ?? {})
      .map(([name, figures]) => `${name} ${fixed(figures.rewardMean, 2)}`)
      .join(', ');
    this.message(
      `eval  step ${metrics.step}: reward ${fixed(metrics.rewardMean, 3)}${interval(metrics.rewardInterval, 3)} success ${fixed(metrics.successRate, 2)}${interval(metrics.successInterval, 2)} over ${metrics.episodes} episodes${categories ? `; ${categories}` : ''}`,
    );
  }

  /** Removes the bar, leaving the terminal clean for the summary. */
  close(): void {
    this.clearBar();
  }
}
