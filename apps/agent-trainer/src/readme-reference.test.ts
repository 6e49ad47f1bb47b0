import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandLines, helpText } from './command-line';
import { withReadmeReference } from './readme-reference';

const readmePath = new URL('../README.md', import.meta.url);

describe('the README reference', () => {
  it('holds the flag and config tables generated from the zod schemas', () => {
    const readme = readFileSync(readmePath, 'utf8');
    const generated = withReadmeReference(readme);
    if (process.env.UPDATE_README === '1' && generated !== readme)
      writeFileSync(readmePath, generated);
    else expect(readme).toBe(generated);
  });

  it('documents every flag of every command in the help and the README with its schema text', () => {
    const readme = readFileSync(readmePath, 'utf8');
    for (const [name, command] of Object.entries(commandLines)) {
      const help = helpText(name as keyof typeof commandLines);
      for (const [flag, declaration] of Object.entries(command.flags)) {
        const description = declaration.schema.description;
        expect(description, `--${flag} of ${name} has no .describe()`).toBeTruthy();
        expect(help).toContain(`--${flag}`);
        expect(help.replace(/\s+/g, ' ')).toContain(description!);
        expect(readme).toContain(`| ${description!.replaceAll('|', '\\|')} |`);
      }
    }
  });
});
