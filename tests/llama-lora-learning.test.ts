import { createBanditEnvironment, parseArmChoice } from '@cohort/environments';
import {
  createLlamaModel,
  createOptimizer,
  initializeBackend,
  type LlamaModel,
  LlamaPolicy,
  LlamaReferenceModel,
  randomLlamaWeights,
  tokenLogProbs,
  trainBpeTokenizer,
} from '@cohort/tfjs';
import { GrpoTrainer } from '@cohort/trainer';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

const armMeans = [0.1, 0.3, 0.5, 0.7, 0.9];
const question = 'Pick an arm, 0 to 4.';
const tokenizer = trainBpeTokenizer({ texts: [question, 'arm 0 1 2 3 4'], vocabSize: 280 });
const endOfTurn = tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId;
const digitIds = [...'01234'].map((digit) => {
  const ids = tokenizer.encode(digit);
  expect(ids).toHaveLength(1);
  return ids[0] as number;
});
const promptIds = tokenizer.applyChatTemplate([{ role: 'user', content: question }], {
  addGenerationPrompt: true,
});
const config = {
  modelType: 'llama' as const,
  vocabSize: tokenizer.vocabSize,
  hiddenSize: 32,
  intermediateSize: 64,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  contextLength: 64,
  tieWordEmbeddings: true,
  eosTokenId: tokenizer.eosTokenId,
};

/** Probability of each arm's digit as the first answer token. */
function armProbabilities(model: Pick<LlamaModel, 'forward'>): number[] {
  return tf.tidy(() => {
    const { logits } = model.forward([promptIds]);
    const last = logits.slice([0, promptIds.length - 1, 0], [1, 1, -1]).reshape([-1]);
    const probabilities = tf.softmax(last).dataSync();
    return digitIds.map((id) => probabilities[id] as number);
  });
}

function expectedReward(probabilities: readonly number[]): number {
  return probabilities.reduce((sum, p, arm) => sum + p * (armMeans[arm] as number), 0);
}

/**
 * A base that answers with an arm number, uniformly, as a pretrained chat
 * model would: random Llama weights, then a few supervised steps on
 * `prompt -> digit <|im_end|>` for every digit.
 */
function pretrainedBase(): LlamaModel {
  const model = createLlamaModel({ config, zeroInitialize: true });
  const weights = randomLlamaWeights({ config, seed: 1, scale: 0.05 });
  // Logits are the final RMSNorm output (norm sqrt(width)) times the tied embedding, so embeddings of
  // scale 0.05 cap every logit gap near 2 whatever the adapters do; a trained LM's embeddings are larger.
  const embedding = weights['model.embed_tokens.weight'] as { data: Float32Array };
  embedding.data = embedding.data.map((value) => value * 8);
  model.setWeights(weights);
  const optimizer = createOptimizer({
    type: 'adam',
    learningRate: 0.01,
    variables: model.namedVariables(),
  });
  const sequences = digitIds.map((id) => [...promptIds, id, endOfTurn]);
  for (let step = 0; step < 40; step++) {
    const { grads, value } = tf.variableGrads(() => {
      const { logProbs, mask } = tokenLogProbs(model, { sequences });
      mask.dispose();
      const answer = logProbs.slice([0, promptIds.length], [-1, 2]);
      return answer.sum().neg().div(sequences.length) as tf.Scalar;
    }, model.trainableVariables());
    optimizer.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
  }
  optimizer.dispose();
  return model;
}

describe('LoRA-GRPO on a tiny Llama-family model', () => {
  beforeAll(async () => {
    await initializeBackend({ logger: false });
  });

  it('learns the best bandit arm through the adapters only, with the base (reference) unchanged', async () => {
    const base = pretrainedBase();
    const baseWeights = base.getWeights();
    const start = armProbabilities(base);
    base.dispose();
    // The supervised base answers with a digit almost always, close to uniformly over the arms.
    expect(start.reduce((sum, p) => sum + p, 0)).toBeGreaterThan(0.9);
    expect(Math.max(...start)).toBeLessThan(0.35);

    const model = createLlamaModel({
      config,
      zeroInitialize: true,
      lora: {
        rank: 4,
        alpha: 8,
        targets: ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
        seed: 2,
      },
    });
    model.setWeights(baseWeights);
    const policy = new LlamaPolicy({ model, tokenizer });
    const environment = createBanditEnvironment({
      bandit: { armMeans, noise: 'gaussian', noiseStd: 0.1, seed: 5 },
      prompt: question,
    });
    const trainer = new GrpoTrainer({
      policy,
      optimizer: createOptimizer({
        type: 'adam',
        learningRate: 0.003,
        maxGradNorm: 1,
        variables: policy.namedVariables(),
      }),
      referenceModel: new LlamaReferenceModel({ model, padTokenId: tokenizer.padTokenId }),
      environment,
      trainScenarios: [{ id: 'bandit' }],
      rewards: [],
      config: {
        seed: 5,
        scenariosPerStep: 2,
        groupSize: 8,
        generation: { maxNewTokens: 2, temperature: 1 },
        maxSequenceLength: config.contextLength,
        minibatchSize: 16,
        kl: { controller: { type: 'fixed', coefficient: 0.001 }, estimator: 'k3' },
      },
    });
    const before = expectedReward(armProbabilities(model));
    for (let step = 0; step < 25; step++) await trainer.step();
    const after = armProbabilities(model);
    // Uniform answers earn about 0.5; sampling noise alone never moves the exact expectation to 0.8,
    // nor the best arm's probability from about 0.2 to 0.8.
    expect(before).toBeLessThan(0.6);
    expect(expectedReward(after)).toBeGreaterThan(0.8);
    expect(after[4]).toBeGreaterThan(0.8);
    // What the user cares about: the greedy answer, parsed as the environment parses it, is the best arm.
    const [greedy] = await policy.sample({
      prompts: [promptIds],
      groupSize: 1,
      maxNewTokens: 2,
      temperature: 0,
      seed: 0,
    });
    expect(
      parseArmChoice(tokenizer.decode(greedy?.tokenIds ?? [], { skipSpecialTokens: true }), 5),
    ).toBe(4);
    // The reference (adapters off) is still the base, exactly.
    expect(armProbabilities(model.withoutAdapters())).toEqual(start);
    expect(model.getWeights()['model.layers.1.mlp.up_proj.weight']?.data).toEqual(
      baseWeights['model.layers.1.mlp.up_proj.weight']?.data,
    );
    model.dispose();
  });
});
