import type { PopulationGenerationRecord } from '@cohort/trainer';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { MetricsRecord } from './api';
import { runColours } from './chart';

/** A `population` line of `metrics.jsonl`: a generation's record, the deployed member and each member's lineage. */
export type PopulationLine = MetricsRecord &
  PopulationGenerationRecord & {
    best?: number;
    lineage?: ({ generation: number; origin: string; fromId?: string } | null | undefined)[];
  };

function fixed(value: unknown, digits = 3): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** `learningRate 0.001, klCoefficient 0.05`, as the app's progress lines and report write them. */
export function formatHyperparameters(hyperparameters: Record<string, number>): string {
  return Object.entries(hyperparameters)
    .map(([name, value]) => `${name} ${Number(value.toPrecision(3))}`)
    .join(', ');
}

/** What a generation changed, one phrase per change (copies, injection, adoption, mutations). */
export function populationChanges(line: PopulationLine): string[] {
  return [
    ...line.exploits.map(
      (exploit) =>
        `member ${exploit.targetIndex} copied ${exploit.sourceId} (${fixed(exploit.targetFitness)} → ${fixed(exploit.sourceFitness)}), explored to ${formatHyperparameters(exploit.hyperparameters)}${exploit.promptChanged ? ', new prompt' : ''}`,
    ),
    ...(line.injected
      ? [`learner injected at member ${line.injected.index} (replaced ${line.injected.replacedId})`]
      : []),
    ...(line.adopted
      ? [
          `learner adopted ${line.adopted.fromId} (${fixed(line.adopted.learnerFitness)} → ${fixed(line.adopted.fitness)})${line.adopted.promptChanged ? ', new prompt' : ''}`,
        ]
      : []),
    ...(line.mutated.length > 0 ? [`members ${line.mutated.join(', ')} mutated`] : []),
  ];
}

/**
 * Each member slot's fitness per generation: the mean as a line, the
 * interval as a band between its lower and upper bounds (uPlot bands).
 */
function FitnessChart(props: { lines: PopulationLine[] }) {
  const container = useRef<HTMLDivElement>(null);
  const slots = Math.max(0, ...props.lines.map((line) => line.members.length));
  const data = (): uPlot.AlignedData => {
    const x = props.lines.map((line) => line.generation);
    const column = (slot: number, pick: 'mean' | 'lower' | 'upper') =>
      props.lines.map((line) => {
        const value = line.members[slot]?.fitness[pick];
        return typeof value === 'number' && Number.isFinite(value) ? value : null;
      });
    const series: (number | null)[][] = [];
    for (let slot = 0; slot < slots; slot++) {
      series.push(column(slot, 'mean'), column(slot, 'upper'), column(slot, 'lower'));
    }
    return [x, ...series] as uPlot.AlignedData;
  };
  const points = props.lines.reduce(
    (total, line) =>
      total + line.members.filter((member) => Number.isFinite(member.fitness.mean)).length,
    0,
  );
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const series: uPlot.Series[] = [{ label: 'generation' }];
    const bands: uPlot.Band[] = [];
    for (let slot = 0; slot < slots; slot++) {
      const colour = runColours[slot % runColours.length]!;
      const base = 1 + slot * 3;
      series.push(
        { label: `member ${slot}`, stroke: colour, width: 2, spanGaps: true },
        { label: `member ${slot} upper`, stroke: `${colour}55`, width: 1, spanGaps: true },
        { label: `member ${slot} lower`, stroke: `${colour}55`, width: 1, spanGaps: true },
      );
      bands.push({ series: [base + 1, base + 2], fill: `${colour}22` });
    }
    const instance = new uPlot(
      {
        width: Math.max(320, element.clientWidth || 520),
        height: 220,
        series,
        bands,
        scales: { x: { time: false } },
        // Generations are whole numbers.
        axes: [{ label: 'generation', incrs: [1, 2, 5, 10, 20, 50, 100] }, { label: 'fitness' }],
      },
      data(),
      element,
    );
    return () => instance.destroy();
  }, [slots, props.lines.length, props.lines.at(-1)]);
  return (
    <figure class="chart population-chart" data-points={points} data-members={slots}>
      <figcaption>member fitness per generation (band: interval)</figcaption>
      <div ref={container} />
    </figure>
  );
}

/**
 * A population run's evolution, live from its `population` records: each
 * member's fitness per generation with its interval, a table per generation
 * (fitness, hyperparameters, origin, system prompt; the fittest starred),
 * what each generation copied, injected or adopted, and the member deployed
 * now (the last generation's fittest). Nothing for a run without one.
 */
export function PopulationPanel(props: { run: string; records: MetricsRecord[] }) {
  const lines = props.records.filter(
    (record) => record.kind === 'population' && Array.isArray(record.members),
  ) as PopulationLine[];
  if (lines.length === 0) return null;
  const last = lines.at(-1)!;
  const deployed = last.best === undefined ? undefined : last.members[last.best];
  return (
    <section class="population" data-generations={lines.length}>
      <h3>{props.run}: population</h3>
      <p class="deployed">
        {deployed ? (
          <>
            deployed: member {last.best} <code>{deployed.id}</code>, fitness{' '}
            {fixed(deployed.fitness.mean)} [{fixed(deployed.fitness.lower)},{' '}
            {fixed(deployed.fitness.upper)}], {formatHyperparameters(deployed.hyperparameters)}{' '}
            (generation {last.generation})
          </>
        ) : (
          'no member deployed yet'
        )}
        {' · '}
        {lines.reduce((sum, line) => sum + line.exploits.length, 0)} copies,{' '}
        {lines.filter((line) => line.injected).length} injections,{' '}
        {lines.filter((line) => line.adopted).length} adoptions,{' '}
        {lines.reduce((sum, line) => sum + line.fitnessEpisodes, 0)} fitness episodes
      </p>
      <FitnessChart lines={lines} />
      <table class="population-table">
        <thead>
          <tr>
            <th>generation</th>
            <th>member</th>
            <th>id</th>
            <th>fitness [interval]</th>
            <th>hyperparameters</th>
            <th>trained by</th>
            <th>origin</th>
            <th>system prompt</th>
          </tr>
        </thead>
        {lines.map((line) => {
          const changes = populationChanges(line);
          return (
            <tbody key={line.generation} data-generation={line.generation}>
              {line.members.map((member, slot) => {
                const origin = line.lineage?.[slot];
                return (
                  <tr key={slot} class={line.best === slot ? 'best' : undefined}>
                    <td>
                      {slot === 0
                        ? `${line.generation} (step ${line.step}, episode ${line.episode})`
                        : ''}
                    </td>
                    <td>
                      {slot}
                      {line.best === slot ? ' ★' : ''}
                    </td>
                    <td>{member.id}</td>
                    <td>
                      {fixed(member.fitness.mean)} [{fixed(member.fitness.lower)},{' '}
                      {fixed(member.fitness.upper)}]
                    </td>
                    <td>{formatHyperparameters(member.hyperparameters)}</td>
                    <td>{member.gradientTrained ? 'gradient' : 'evolution'}</td>
                    <td>
                      {origin
                        ? `${origin.origin}${origin.fromId ? ` of ${origin.fromId}` : ''} (gen ${origin.generation})`
                        : ''}
                    </td>
                    <td>{member.systemPrompt ?? ''}</td>
                  </tr>
                );
              })}
              <tr class="changes">
                <td />
                <td colSpan={7}>
                  {changes.length > 0
                    ? changes.join('; ')
                    : 'nothing copied or adopted (no member better by the margin)'}
                </td>
              </tr>
            </tbody>
          );
        })}
      </table>
    </section>
  );
}
