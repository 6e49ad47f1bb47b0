import type { MetricsRecord, PopulationGenerationRecord } from '@cohort/trainer';
import { formatHyperparameters } from './run-population';
import { escapeHtml, renderLinePlot } from './svg-plot';

/** A `population` line of `metrics.jsonl`: a generation's record plus the deployed member and each member's latest lineage entry. */
type PopulationLine = PopulationGenerationRecord & {
  best?: number;
  lineage?: ({ generation: number; origin: string; fromId?: string } | undefined)[];
};

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** What a generation changed, one phrase per change. */
function changesOf(line: PopulationLine): string[] {
  return [
    ...line.exploits.map(
      (exploit) =>
        `member ${exploit.targetIndex} copied ${exploit.sourceId} (${fixed(exploit.targetFitness, 3)} → ${fixed(exploit.sourceFitness, 3)}), explored to ${formatHyperparameters(exploit.hyperparameters)}${exploit.promptChanged ? ', new prompt' : ''}`,
    ),
    ...(line.injected
      ? [`learner injected at member ${line.injected.index} (replaced ${line.injected.replacedId})`]
      : []),
    ...(line.adopted
      ? [
          `learner adopted ${line.adopted.fromId} (${fixed(line.adopted.learnerFitness, 3)} → ${fixed(line.adopted.fitness, 3)})${line.adopted.promptChanged ? ', new prompt' : ''}`,
        ]
      : []),
    ...(line.mutated.length > 0 ? [`members ${line.mutated.join(', ')} mutated`] : []),
  ];
}

/**
 * The report's population section, from the `population` lines of a run's
 * metrics: each member's fitness per generation with its interval (a plot,
 * one line per member slot), and a table per generation of every member's
 * fitness, hyperparameters, system prompt and lineage, the deployed
 * (fittest) member starred, and what the generation adopted. Empty for a run
 * without a population.
 */
export function populationSection(records: readonly MetricsRecord[]): string {
  const lines = records.filter(
    (record) => record.kind === 'population',
  ) as unknown as PopulationLine[];
  if (lines.length === 0) return '';
  const slots = Math.max(...lines.map((line) => line.members.length));
  const plot = renderLinePlot({
    title: 'Member fitness per generation (band: interval)',
    xLabel: 'generation',
    series: Array.from({ length: slots }, (_, slot) => ({
      name: `member ${slot}`,
      points: lines.map((line) => [
        line.generation,
        line.members[slot]?.fitness.mean ?? Number.NaN,
      ]),
      band: lines.map((line) => {
        const fitness = line.members[slot]?.fitness;
        return [line.generation, fitness?.lower ?? Number.NaN, fitness?.upper ?? Number.NaN];
      }),
    })),
  });
  const rows = lines
    .map((line) => {
      const changes = changesOf(line);
      const memberRows = line.members
        .map((member, slot) => {
          const lineage = line.lineage?.[slot];
          const origin = lineage
            ? `${lineage.origin}${lineage.fromId ? ` of ${lineage.fromId}` : ''} (gen ${lineage.generation})`
            : '';
          const star = line.best === slot ? ' ★' : '';
          return `<tr><td>${slot === 0 ? `${line.generation} <small>(episode ${line.episode})</small>` : ''}</td><td>${slot}${star}</td><td>${escapeHtml(member.id)}</td><td>${fixed(member.fitness.mean, 3)} [${fixed(member.fitness.lower, 3)}, ${fixed(member.fitness.upper, 3)}]</td><td>${escapeHtml(formatHyperparameters(member.hyperparameters))}</td><td>${member.gradientTrained ? 'gradient' : 'evolved'}</td><td>${escapeHtml(member.systemPrompt ?? '')}</td><td>${escapeHtml(origin)}</td></tr>`;
        })
        .join('');
      return `${memberRows}<tr><td></td><td colspan="7"><small>${escapeHtml(changes.length > 0 ? changes.join('; ') : 'nothing adopted (no member better by the adoption margin)')}</small></td></tr>`;
    })
    .join('');
  const copies = lines.reduce((sum, line) => sum + line.exploits.length, 0);
  const adoptions = lines.filter((line) => line.adopted).length;
  const prompts = lines.reduce(
    (sum, line) =>
      sum +
      line.exploits.filter((exploit) => exploit.promptChanged).length +
      (line.adopted?.promptChanged ? 1 : 0),
    0,
  );
  return `<h2>Population</h2>
<div class="grid"><figure>${plot}</figure></div>
<p>${lines.length} generation(s), ${lines.reduce((sum, line) => sum + line.fitnessEpisodes, 0)} fitness episodes: ${copies} copies of a better member, ${adoptions} adoptions by the learner, ${prompts} prompt adoptions. ★ marks the fittest member, the one the run deploys; its hyperparameters are the winning ones.</p>
<table><thead><tr><th>generation</th><th>member</th><th>id</th><th>fitness [interval]</th><th>hyperparameters</th><th>trained by</th><th>system prompt</th><th>latest lineage</th></tr></thead><tbody>${rows}</tbody></table>`;
}
