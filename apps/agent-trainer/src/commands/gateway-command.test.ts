import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../cli-io';
import { parseCommandLine } from '../command-line';
import { UsageError } from '../exit-codes';
import { gatewayApiKey, gatewayCommand } from './gateway-command';

/** Runs `gateway --config` on `config` and expects a usage error matching `message`, with nothing written beside the config. */
async function expectRefusedBeforeCreating(config: unknown, message: RegExp): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'cohort-gateway-command-'));
  try {
    const configPath = path.join(scratch, 'run.json');
    await writeFile(configPath, JSON.stringify(config));
    const command = parseCommandLine([
      'gateway',
      '--config',
      configPath,
      '--runs-root',
      path.join(scratch, 'runs'),
    ]);
    if (command.command !== 'gateway') throw new Error('expected the gateway command');
    const refused = await gatewayCommand(command, {} as CliIo).catch((error: unknown) => error);
    expect(UsageError.isInstance(refused)).toBe(true);
    expect((refused as Error).message).toMatch(message);
    expect(await readdir(scratch)).toEqual(['run.json']);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

describe('agent-trainer gateway', () => {
  it('asks for no key on loopback, a generated one elsewhere, and the given one when given', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost'])
      expect(gatewayApiKey(host, undefined)).toBe(undefined);
    const first = gatewayApiKey('0.0.0.0', undefined);
    const second = gatewayApiKey('0.0.0.0', undefined);
    expect(first).toMatch(/^sk-cohort-[0-9a-f]{48}$/);
    expect(second).not.toBe(first);
    expect(gatewayApiKey('0.0.0.0', 'my-own-key-0123456')).toBe('my-own-key-0123456');
  });

  it('refuses a human-feedback reward before creating anything: the agent posts the rewards', async () => {
    await expectRefusedBeforeCreating(
      { rewards: [{ type: 'human-feedback' }] },
      /^reward "human-feedback" .* drop it from rewards$/,
    );
  });

  it('refuses a population before creating anything: one policy serves the agent', async () => {
    await expectRefusedBeforeCreating(
      { population: { schedule: ['erl'], everyEpisodes: 8 } },
      /^a population .* drop population from the config$/,
    );
  });
});
