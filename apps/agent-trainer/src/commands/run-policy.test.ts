import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CheckpointError, Random } from '@cohort/core';
import { initializeBackend, type WeightMap } from '@cohort/tfjs';
import { saveCheckpoint } from '@cohort/tfjs/node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../app-config';
import { runCli } from '../cli';
import type { CliIo } from '../cli-io';
import { createConsoleChat } from '../console-chat';
import { exitCodes } from '../exit-codes';
import { RunPolicyError } from '../run-policy-error';
import { writeRunConfig } from '../test-support/run-fixture';
import { createProxyPolicy } from '../training-setup';
import { loadModelSource } from './model-source';

const embeddedModel = fileURLToPath(new URL('../../models/support-agent-tiny', import.meta.url));
let root: string;

function capturedIo(): CliIo & { err: string[] } {
  const err: string[] = [];
  const sink = (lines?: string[]) => ({
    write(text: string) {
      lines?.push(text);
      return true;
    },
  });
  return {
    err,
    stdout: sink() as CliIo['stdout'],
    stderr: sink(err) as unknown as CliIo['stderr'],
    stdin: Readable.from([]),
    onInterrupt: () => () => {},
  };
}

async function writeRun(
  name: string,
  input: Record<string, unknown>,
): Promise<{ directory: string; config: AppConfig }> {
  const directory = path.join(root, name);
  return { directory, config: await writeRunConfig(directory, { name, ...input }) };
}

beforeAll(async () => {
  await initializeBackend({ logger: false });
  root = await mkdtemp(path.join(tmpdir(), 'cohort-run-policy-'));
});

describe('commands on a run by its policy type', () => {
  it('chat, export, eval and the console chat refuse a candidate-selector run with an error naming the run and the type', async () => {
    const { directory } = await writeRun('selector', { policy: { type: 'candidate-selector' } });
    for (const argv of [
      ['chat', '--run-dir', directory],
      ['export', '--run-dir', directory, '--out', path.join(root, 'out')],
      ['eval', '--run-dir', directory],
    ]) {
      const io = capturedIo();
      expect(await runCli(argv, io), argv[0]).toBe(exitCodes.usage);
      expect(io.err.join('')).toContain(
        `run ${directory} trained a candidate-selector policy, which "agent-trainer ${argv[0]}" does not support: a frozen language model proposes K replies`,
      );
    }
    const chat = createConsoleChat({ maxNewTokens: 4 });
    const error = await chat
      .reply({
        runDirectory: directory,
        checkpoint: null,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RunPolicyError);
    expect(error).toMatchObject({
      runDirectory: directory,
      policyType: 'candidate-selector',
      command: 'console chat',
    });
    chat.dispose();
  });

  it('chats with a proxy-tuned run through its proxy policy, with the checkpoint’s delta and system prompt; export refuses it', async () => {
    const delta = { layerCount: 1, embeddingSize: 16, headCount: 2 };
    const { directory, config } = await writeRun('proxy', {
      policy: { type: 'proxy', baseModelDirectory: embeddedModel, delta },
    });
    // The policy as the run would have trained it: the delta's weights moved away from their start.
    const { policy: trained } = await createProxyPolicy(embeddedModel, delta, config.trainer.seed);
    const random = new Random(9);
    const moved: WeightMap = {};
    for (const [name, tensor] of Object.entries(trained.getWeights())) {
      moved[name] = {
        shape: [...tensor.shape],
        data: tensor.data.map((value) => value + random.normal() * 0.5),
      };
    }
    trained.setWeights(moved);
    const checkpoint = path.join(directory, 'checkpoints', 'step-000003');
    await saveCheckpoint(checkpoint, {
      weights: moved,
      metadata: { trainer: { systemPrompt: 'Answer in one short sentence.' } },
    });

    const source = await loadModelSource({ runDirectory: directory });
    const { policy: initial } = await createProxyPolicy(embeddedModel, delta, config.trainer.seed);
    try {
      expect(source.systemPrompt).toBe('Answer in one short sentence.');
      expect(source.checkpoint).toBe(checkpoint);
      const prompt = source.tokenizer.applyChatTemplate(
        [
          { role: 'system', content: 'Answer in one short sentence.' },
          { role: 'user', content: 'Where is my refund for order A1234?' },
        ],
        { addGenerationPrompt: true },
      );
      const request = {
        prompts: [prompt],
        groupSize: 1,
        maxNewTokens: 12,
        temperature: 0,
        stopTokenIds: [source.tokenizer.endOfTurnTokenId ?? source.tokenizer.eosTokenId],
        seed: 1,
      };
      const chatIds = await source.sample({ ...request, prompt, seed: 1 });
      const [fromTrained] = await trained.sample(request);
      const [fromStart] = await initial.sample(request);
      expect(chatIds).toEqual(fromTrained!.tokenIds);
      // The checkpoint's delta changes what the proxy says: the chat is not the base model.
      expect(chatIds).not.toEqual(fromStart!.tokenIds);
    } finally {
      source.dispose();
      trained.dispose();
      initial.dispose();
    }

    const io = capturedIo();
    expect(
      await runCli(['export', '--run-dir', directory, '--out', path.join(root, 'x')], io),
    ).toBe(exitCodes.usage);
    expect(io.err.join('')).toContain(
      `run ${directory} trained a proxy policy, which "agent-trainer export" does not support`,
    );

    const wrong = path.join(directory, 'checkpoints', 'step-000004');
    await saveCheckpoint(wrong, {
      weights: { 'delta/unknown': { shape: [2], data: new Float32Array(2) } },
    });
    await expect(loadModelSource({ runDirectory: directory })).rejects.toSatisfy(
      (error: unknown) =>
        CheckpointError.isInstance(error) &&
        /step-000004.*is missing/.test((error as Error).message),
    );
  });
});
