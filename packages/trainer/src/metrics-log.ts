import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

/** One line of the metrics log: a kind, the step, and numbers or short strings. */
export interface MetricsRecord {
  kind: 'step' | 'evaluation' | 'generation' | 'population' | 'event';
  step: number;
  time: string;
  [key: string]: unknown;
}

/**
 * Appends metrics as JSON lines. Each record is one `appendFile` of one whole
 * line, so a crash leaves at most one missing line, never a broken one in the
 * middle of the file.
 */
export class MetricsLog {
  readonly filePath: string;
  private ready: Promise<void> | undefined;

  constructor(filePath: string) {
    this.filePath = filePath;
  }

  async append(record: MetricsRecord): Promise<void> {
    this.ready ??= mkdir(path.dirname(this.filePath), { recursive: true }).then(() => undefined);
    await this.ready;
    await appendFile(this.filePath, `${JSON.stringify(record, replaceNonFinite)}\n`);
  }
}

/** JSON has no NaN or Infinity: write them as strings so a bad metric is visible, not `null`. */
function replaceNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

/** Reads a metrics log back (for reports and resume checks). */
export function parseMetricsLog(text: string): MetricsRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as MetricsRecord);
}
