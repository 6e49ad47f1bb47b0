import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readLlamaConfig } from '@cohort/tfjs/node';
import { afterAll, describe, expect, it } from 'vitest';
import { trainToolAgent } from './sft-tool-agent';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

describe('trainToolAgent (sft --family llama)', () => {
  it('learns the reference agent tool dialogues, writes an fp16 Llama folder with its ONNX export, and is reproducible', async () => {
    // Probes only in the first run: each costs greedy episodes of an untrained model.
    const run = async (probe: boolean) => {
      const out = await mkdtemp(path.join(tmpdir(), 'cohort-sft-llama-'));
      directories.push(out);
      const result = await trainToolAgent({
        out,
        seed: 3,
        steps: 6,
        tasks: 6,
        batchSize: 2,
        degradedFraction: 0.5,
        singleOrderFraction: 0.5,
        copyWarmupSteps: 2,
        inductionSteps: 2,
        inductionTokens: 'random',
        copyCurriculumSteps: 3,
        copyCurriculumBatchSize: 4,
        copyCurriculumNumbers: 'keep',
        copyCurriculumRepeatShare: 0.5,
        copyCurriculumEmailShare: 0.5,
        dialogueCurriculumShare: 0.25,
        recoveryShare: 0.5,
        digitPairs: true,
        separateSpaces: true,
        copyLossWeight: 3,
        decisionLossWeight: 4,
        randomProducts: true,
        randomPolicies: true,
        randomPrices: true,
        decisionBasis: true,
        learningRate: 1e-2,
        model: {
          hiddenSize: 16,
          intermediateSize: 32,
          layerCount: 1,
          headCount: 2,
          keyValueHeadCount: 1,
        },
        vocabSize: 500,
        evaluationTasks: 1,
        ...(probe ? { probeEvery: 4, probeTasks: 1, probeSaveDir: path.join(out, 'probes') } : {}),
      });
      return { out, result };
    };
    const { out, result } = await run(true);
    expect(result.finalLoss).toBeLessThan(result.initialLoss);
    expect(result.tasks).toBe(6);
    expect(result.degradedDialogues + result.successfulDialogues).toBe(6);
    expect(result.model).toMatchObject({
      modelType: 'llama',
      contextLength: 2048,
      keyValueHeadCount: 1,
    });
    // Dialogues of a whole task fit: the system prompt with one-line tools, tool calls and results.
    expect(result.meanSequenceLength).toBeGreaterThan(300);
    expect(result.heldOut).toMatchObject({ tasks: 1 });
    // Probes after the 2 induction steps, the 3 curriculum steps and the 2 copy warm-up steps, then at every 4th step of the 6 that follow and after the last.
    expect(result.probes.map((probe) => [probe.step, probe.tasks])).toEqual([
      [2, 1],
      [5, 1],
      [7, 1],
      [11, 1],
      [13, 1],
    ]);
    expect(result.copyWarmupSteps).toBe(2);
    expect(result.copyCurriculumSteps).toBe(3);
    expect(result.inductionSteps).toBe(2);
    expect(result.inductionTokens).toBe('random');
    expect(result.engine).toBe('onnx');
    // Each probe's model is written, loadable as the final one is.
    expect((await readLlamaConfig(path.join(out, 'probes', 'step-2'))).contextLength).toBe(2048);
    expect(
      (await stat(path.join(out, 'probes', 'step-13', 'onnx', 'model.onnx'))).size,
    ).toBeGreaterThan(0);
    // Each probe scores the copied digits and emails of held-out dialogues, teacher-forced.
    for (const probe of result.probes) {
      expect(probe.copyNats.orderIdDigit).toBeGreaterThan(0);
      expect(probe.copyNats.emailToken).toBeGreaterThan(0);
      expect(probe.copyNats.fragmentOrderIdDigit).toBeGreaterThan(0);
      // And the copy curriculum's own sequences, built on held-out dialogues, order ids and emails.
      expect(probe.copyNats.syntheticOrderIdDigit).toBeGreaterThan(0);
      expect(probe.copyNats.syntheticEmailToken).toBeGreaterThan(0);
    }
    // Copy fragments: at least one per dialogue (every solved task copies an id or email).
    expect(result.copyFragments).toBeGreaterThanOrEqual(6);
    expect(result.singleOrderTasks).toBeGreaterThan(0);
    expect(result.singleOrderTasks).toBeLessThan(6);
    // Numbers go in tokens of two digits: the only merges that hold a digit are the 100 pairs, and the pattern that cuts numbers is written.
    const tokenizerJson = JSON.parse(await readFile(path.join(out, 'tokenizer.json'), 'utf8'));
    const merges: string[] = tokenizerJson.model.merges;
    expect(merges.length).toBeGreaterThan(120);
    const digitMerges = merges.filter((merge) => /[0-9]/.test(merge));
    expect(digitMerges).toHaveLength(100);
    for (const merge of digitMerges) expect(merge).toMatch(/^[0-9] [0-9]$/);
    expect(tokenizerJson.pre_tokenizer.pretokenizers[0]).toMatchObject({ type: 'Split' });
    // With separateSpaces no merge joins a space with anything else.
    for (const merge of merges) if (merge.includes('Ġ')) expect(merge).toMatch(/^Ġ+ Ġ+$/);
    const config = await readLlamaConfig(out);
    expect(config.contextLength).toBe(2048);
    const safetensors = await readFile(path.join(out, 'model.safetensors'));
    const headerLength = Number(safetensors.readBigUInt64LE(0));
    const entries = JSON.parse(safetensors.subarray(8, 8 + headerLength).toString('utf8'));
    for (const [name, entry] of Object.entries(entries)) {
      if (name !== '__metadata__') expect((entry as { dtype: string }).dtype).toBe('F16');
    }
    expect((await stat(path.join(out, 'onnx', 'model.onnx'))).size).toBeGreaterThan(0);
    const training = JSON.parse(await readFile(path.join(out, 'training.json'), 'utf8'));
    expect(training.seed).toBe(3);
    expect(training.lossHistory.at(-1).step).toBe(13);
    expect(training.copyCurriculumSteps).toBe(3);
    expect(training).toMatchObject({
      inductionSteps: 2,
      inductionTokens: 'random',
      copyCurriculumNumbers: 'keep',
      copyCurriculumRepeatShare: 0.5,
      copyCurriculumEmailShare: 0.5,
      dialogueCurriculumShare: 0.25,
      recoveryShare: 0.5,
      digitPairs: true,
      separateSpaces: true,
      copyLossWeight: 3,
      decisionLossWeight: 4,
      randomProducts: true,
      randomPolicies: true,
      randomPrices: true,
      decisionBasis: true,
    });
    // Teacher-forced nats per token category of the same 60 held-out reference dialogues, whatever the seed.
    expect(training.heldOutTokenNats.dialogues).toBe(60);
    expect(training.heldOutTokenNats.nats['toolName.action'].tokens).toBeGreaterThan(0);
    expect(training.heldOutTokenNats.nats['toolName.action'].meanNats).toBeGreaterThan(0);
    expect(training.heldOutTokenNats.nats.context.tokens).toBeGreaterThan(10_000);
    // Some dialogues recover from a corrupted first call, and every one without a deliberate mistake still ends in success.
    expect(training.recoveryDialogues).toBeGreaterThan(0);
    expect(training.recoveryDialogues).toBeLessThan(6);
    expect(training.recoveryDialoguesWithoutMistake).toBeGreaterThan(0);
    expect(training.recoveryDialoguesSolved).toBe(training.recoveryDialoguesWithoutMistake);
    // The same seed gives the same data, model and losses.
    const again = await run(false);
    expect(again.result.lossHistory).toEqual(result.lossHistory);
    expect(again.result.degradedDialogues).toBe(result.degradedDialogues);
  }, 240_000);

  it.each([
    ['recoveryShare', 1.5],
    ['copyCurriculumEmailShare', -0.1],
    ['recoveryShare', Number.NaN],
  ] as const)('refuses %s = %s, naming the option and the value', async (option, value) => {
    await expect(
      trainToolAgent({ out: path.join(tmpdir(), 'never-written'), seed: 0, [option]: value }),
    ).rejects.toThrow(
      new RegExp(`Invalid argument ${option} = ${value}: must be a finite number in \\[0, 1\\]`),
    );
  });

  it.each([0.5, 101, Number.NaN])(
    'refuses decisionLossWeight = %s, naming the option and the value',
    async (value) => {
      await expect(
        trainToolAgent({
          out: path.join(tmpdir(), 'never-written'),
          seed: 0,
          decisionLossWeight: value,
        }),
      ).rejects.toThrow(
        new RegExp(
          `Invalid argument decisionLossWeight = ${value}: must be a finite number in \\[1, 100\\]`,
        ),
      );
    },
  );
});
