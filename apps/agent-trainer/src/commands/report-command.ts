import { writeFileAtomic } from '@cohort/trainer';
import type { CliIo } from '../cli-io';
import type { ReportCommand } from '../command-line';
import { type ExitCode, exitCodes } from '../exit-codes';
import { renderReport } from '../report';
import { readRun } from '../run-directory';

/** Regenerates `report.html` of a run directory from its metrics, samples, config and summary. */
export async function writeRunReport(directory: string): Promise<string> {
  const run = await readRun(directory);
  const name = (run.config as { name?: unknown } | null)?.name;
  const html = renderReport({
    records: run.records,
    config: run.config,
    summary: run.summary,
    samples: run.samples,
    title: `Cohort training report${typeof name === 'string' ? `: ${name}` : ''}`,
  });
  await writeFileAtomic(run.paths.report, html);
  return run.paths.report;
}

/** `agent-trainer report RUN_DIR`. */
export async function reportCommand(command: ReportCommand, io: CliIo): Promise<ExitCode> {
  const reportPath = await writeRunReport(command.runDirectory);
  if (command.json) io.stdout.write(`${JSON.stringify({ type: 'report', path: reportPath })}\n`);
  else io.stdout.write(`wrote ${reportPath}\n`);
  return exitCodes.ok;
}
