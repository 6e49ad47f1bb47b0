import type { MetricsRecord } from './api';

/** A number from a metrics value: finite numbers as they are, anything else (NaN written as "NaN") null. */
export function metricNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The names of the plottable metrics of step records: every numeric field
 * except `step`, and every numeric field of a nested object as
 * `parent.child` (for example `timings.rollout`, `rewardMeanByFunction.goal`).
 */
export function metricNames(records: readonly MetricsRecord[]): string[] {
  const names = new Set<string>();
  for (const record of records) {
    if (record.kind !== 'step') continue;
    for (const [key, value] of Object.entries(record)) {
      if (key === 'step' || key === 'kind' || key === 'time') continue;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [child, inner] of Object.entries(value as Record<string, unknown>)) {
          if (
            typeof inner === 'number' ||
            inner === 'NaN' ||
            inner === 'Infinity' ||
            inner === '-Infinity'
          )
            names.add(`${key}.${child}`);
        }
      } else if (
        typeof value === 'number' ||
        value === 'NaN' ||
        value === 'Infinity' ||
        value === '-Infinity'
      ) {
        names.add(key);
      }
    }
  }
  return [...names].sort();
}

/** The value of a metric name from {@link metricNames} in one record. */
export function metricValue(record: MetricsRecord, name: string): number | null {
  const dot = name.indexOf('.');
  if (dot < 0) return metricNumber(record[name]);
  const parent = record[name.slice(0, dot)];
  if (parent === null || typeof parent !== 'object') return null;
  return metricNumber((parent as Record<string, unknown>)[name.slice(dot + 1)]);
}

/**
 * Exponential moving average with the start-up bias removed, as TensorBoard
 * smooths scalars: `m_t = w m_{t-1} + (1 - w) x_t`, shown as
 * `m_t / (1 - w^n)` after n finite values (Kingma & Ba 2015, Adam, sec. 3).
 * Missing values stay missing and do not advance the average.
 */
export function smooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return [...values];
  let average = 0;
  let count = 0;
  return values.map((value) => {
    if (value === null) return null;
    average = weight * average + (1 - weight) * value;
    count++;
    return average / (1 - weight ** count);
  });
}

/**
 * Aligns several runs' series of one metric on the union of their steps
 * (uPlot wants one x array): `[steps, run1Values, run2Values, ...]`, null
 * where a run has no value at a step.
 */
export function alignSeries(
  runs: readonly { records: readonly MetricsRecord[] }[],
  name: string,
): { steps: number[]; values: (number | null)[][] } {
  const stepSet = new Set<number>();
  const byRun = runs.map((run) => {
    const map = new Map<number, number | null>();
    for (const record of run.records) {
      if (record.kind !== 'step' || typeof record.step !== 'number') continue;
      map.set(record.step, metricValue(record, name));
      stepSet.add(record.step);
    }
    return map;
  });
  const steps = [...stepSet].sort((a, b) => a - b);
  return { steps, values: byRun.map((map) => steps.map((step) => map.get(step) ?? null)) };
}
