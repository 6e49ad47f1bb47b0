import type { z } from 'zod';
import { AppConfigSchema } from './app-config';
import { commandsMarkdown } from './cli-command';
import { commandLines } from './command-line';

function defaultText(schema: z.ZodType): string {
  const parsed = schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return '';
  return `\`${JSON.stringify(parsed.data).replaceAll('|', '\\|')}\``;
}

/** The README's table of config keys, from the config schema's `.describe()` texts. */
export function configKeysMarkdown(): string {
  const rows = Object.entries(AppConfigSchema.shape).map(
    ([key, schema]) =>
      `| \`${key}\` | ${defaultText(schema as z.ZodType)} | ${(schema.description ?? '').replaceAll('|', '\\|')} |`,
  );
  return ['| key | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The generated blocks of the README, by marker name. */
export function readmeReference(): Record<'commands' | 'config', string> {
  return { commands: commandsMarkdown(Object.values(commandLines)), config: configKeysMarkdown() };
}

/**
 * The README with each `<!-- generated:NAME -->` ... `<!-- /generated:NAME -->`
 * block replaced by its generated text. Throws when a marker is missing.
 */
export function withReadmeReference(readme: string): string {
  let text = readme;
  for (const [name, content] of Object.entries(readmeReference())) {
    const start = `<!-- generated:${name} (from the zod schemas; pnpm --filter @cohort/agent-trainer readme) -->`;
    const end = `<!-- /generated:${name} -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README has no ${start} ... ${end} block`);
    text = `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
  }
  return text;
}
