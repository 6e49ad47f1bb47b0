import { useState } from 'preact/hooks';
import type { MetricsRecord, RunInfo } from './api';
import { Chart } from './chart';
import { useLiveRecords } from './live-records';
import { PopulationPanel } from './population-panel';
import { alignSeries, metricNames, smooth } from './series';

function format(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(4);
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Every nested object field of the evaluation records becomes a table: rows are steps, columns its keys. */
function EvaluationTables(props: { run: string; records: MetricsRecord[] }) {
  const evaluations = props.records.filter((record) => record.kind === 'evaluation');
  if (evaluations.length === 0) return null;
  const scalarKeys = new Set<string>();
  const tableKeys = new Set<string>();
  for (const record of evaluations) {
    for (const [key, value] of Object.entries(record)) {
      if (key === 'kind' || key === 'time' || key === 'samples') continue;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) tableKeys.add(key);
      else scalarKeys.add(key);
    }
  }
  const tables = [
    {
      title: 'evaluation',
      columns: [...scalarKeys],
      cell: (record: MetricsRecord, key: string) => record[key],
    },
    ...[...tableKeys].map((table) => {
      const columns = new Set<string>();
      for (const record of evaluations) {
        for (const key of Object.keys((record[table] as Record<string, unknown>) ?? {}))
          columns.add(key);
      }
      return {
        title: table,
        columns: ['step', ...columns],
        cell: (record: MetricsRecord, key: string) =>
          key === 'step'
            ? record.step
            : (record[table] as Record<string, unknown> | undefined)?.[key],
      };
    }),
  ];
  return (
    <section class="tables">
      {tables.map((table) => (
        <table class="evaluation-table" data-table={table.title} key={table.title}>
          <caption>
            {props.run}: {table.title}
          </caption>
          <thead>
            <tr>
              {table.columns.map((column) => (
                <th key={column}>{column}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {evaluations.map((record, index) => (
              <tr key={index}>
                {table.columns.map((column) => (
                  <td key={column}>{format(table.cell(record, column))}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}

/** Prompt evolution: one row per generation, with the prompts when the record carries its population. */
function Generations(props: { run: string; records: MetricsRecord[] }) {
  const generations = props.records.filter((record) => record.kind === 'generation');
  if (generations.length === 0) return null;
  return (
    <table class="generation-table">
      <caption>{props.run}: prompt population per generation</caption>
      <thead>
        <tr>
          <th>generation</th>
          <th>step</th>
          <th>best</th>
          <th>mean</th>
          <th>worst</th>
          <th>diversity</th>
          <th>adopted</th>
          <th>system prompt / population</th>
        </tr>
      </thead>
      <tbody>
        {generations.map((record, index) => {
          const population = Array.isArray(record.population)
            ? (record.population as { id?: string; fitness?: number; prompt?: string }[])
            : [];
          return (
            <tr key={index}>
              <td>{format(record.generation)}</td>
              <td>{format(record.step)}</td>
              <td>{format(record.bestFitness)}</td>
              <td>{format(record.meanFitness)}</td>
              <td>{format(record.worstFitness)}</td>
              <td>{format(record.diversity)}</td>
              <td>{format(record.adopted)}</td>
              <td>
                {population.length > 0 ? (
                  <ol>
                    {population.map((member, memberIndex) => (
                      <li key={memberIndex}>
                        {format(member.fitness)} {member.id ? `[${member.id}] ` : ''}
                        {format(member.prompt)}
                      </li>
                    ))}
                  </ol>
                ) : (
                  format(record.systemPrompt)
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Live charts of every metric of the selected runs, overlaid, with smoothing and zoom. */
export function MetricsPage(props: { runs: RunInfo[]; selected: string[] }) {
  const store = useLiveRecords(props.selected);
  const [weight, setWeight] = useState(0);
  const [filter, setFilter] = useState('');
  const runs = props.selected.map((id) => ({
    id,
    name: props.runs.find((run) => run.id === id)?.name ?? id,
    records: store.get(id) ?? [],
  }));
  const names = metricNames(runs.flatMap((run) => run.records)).filter((name) =>
    name.toLowerCase().includes(filter.toLowerCase()),
  );
  const lastStep = Math.max(
    0,
    ...runs.flatMap((run) =>
      run.records.filter((record) => record.kind === 'step').map((record) => record.step),
    ),
  );
  return (
    <div>
      <div class="toolbar">
        <label>
          smoothing{' '}
          <input
            type="range"
            min="0"
            max="0.99"
            step="0.01"
            value={weight}
            aria-label="smoothing"
            onInput={(event) => setWeight(Number((event.target as HTMLInputElement).value))}
          />{' '}
          {weight.toFixed(2)}
        </label>
        <label>
          filter{' '}
          <input
            value={filter}
            placeholder="metric name"
            onInput={(event) => setFilter((event.target as HTMLInputElement).value)}
          />
        </label>
        <span class="last-step" data-last-step={lastStep}>
          last step {lastStep}
        </span>
        <span class="hint">drag on a chart to zoom, double-click to zoom out</span>
      </div>
      {runs.length === 0 ? <p>Select a run above.</p> : null}
      <section class="charts">
        {names.map((name) => {
          const aligned = alignSeries(runs, name);
          return (
            <Chart
              key={name}
              title={name}
              steps={aligned.steps}
              raw={aligned.values}
              smoothed={weight > 0 ? aligned.values.map((values) => smooth(values, weight)) : null}
              runNames={runs.map((run) => run.name)}
            />
          );
        })}
      </section>
      {runs.map((run) => (
        <div key={run.id}>
          <EvaluationTables run={run.name} records={run.records} />
          <Generations run={run.name} records={run.records} />
          <PopulationPanel run={run.name} records={run.records} />
        </div>
      ))}
    </div>
  );
}
