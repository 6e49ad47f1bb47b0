import { createBanditEnvironment } from '@cohort/environments';
import {
  createLlamaModel,
  type LlamaModel,
  LlamaPolicy,
  LlamaReferenceModel,
  randomLlamaWeights,
  trainBpeTokenizer,
  type WeightMap,
} from '@cohort/tfjs';
import type { AdapterPopulationOptions } from '../adapter-population';
import type { ScenarioLike } from '../reward-scoring-stage';
import { teachAnswers } from '../stage-test-fixtures';

/**
 * The population tests' fixture: a tiny Llama base taught to name an arm of
 * a 5-armed bandit, LoRA on every projection, and a trainer config with
 * sampled fitness episodes.
 */
const question = 'Pick an arm, 0 to 4.';
const tokenizer = trainBpeTokenizer({ texts: [question, 'arm 0 1 2 3 4'], vocabSize: 280 });
const llamaConfig = {
  modelType: 'llama' as const,
  vocabSize: tokenizer.vocabSize,
  hiddenSize: 16,
  intermediateSize: 32,
  layerCount: 1,
  headCount: 2,
  keyValueHeadCount: 1,
  contextLength: 48,
  tieWordEmbeddings: true,
  eosTokenId: tokenizer.eosTokenId,
};
const endOfTurn = tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId;
const promptIds = tokenizer.applyChatTemplate([{ role: 'user', content: question }], {
  addGenerationPrompt: true,
});

/**
 * A base that answers with an arm number, roughly uniformly, as a pretrained
 * chat model would (random weights never name an arm, and every reward would
 * be 0): a few supervised steps on `prompt -> digit <|im_end|>`.
 */
export function pretrainedBase(): WeightMap {
  const model = createLlamaModel({ config: llamaConfig, zeroInitialize: true });
  model.setWeights(randomLlamaWeights({ config: llamaConfig, seed: 3, scale: 0.3 }));
  teachAnswers({
    model,
    promptIds,
    answerIds: [...'01234'].map((digit) => tokenizer.encode(digit)[0]!),
    endOfTurnId: endOfTurn,
    steps: 30,
    learningRate: 0.02,
  });
  const weights = model.getWeights();
  model.dispose();
  return weights;
}

/** A tiny Llama with LoRA on every projection over the same random base, and the bandit. */
export function sharedParts(
  baseWeights: WeightMap,
  models: LlamaModel[],
): AdapterPopulationOptions<ScenarioLike>['trainer'] {
  const model = createLlamaModel({
    config: llamaConfig,
    zeroInitialize: true,
    lora: {
      rank: 2,
      alpha: 4,
      targets: ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      seed: 4,
    },
  });
  model.setWeights(baseWeights);
  models.push(model);
  return {
    policy: new LlamaPolicy({ model, tokenizer }),
    referenceModel: new LlamaReferenceModel({ model, padTokenId: tokenizer.padTokenId }),
    environment: createBanditEnvironment({
      bandit: { armMeans: [0.1, 0.3, 0.5, 0.7, 0.9], noise: 'gaussian', noiseStd: 0.1, seed: 5 },
      prompt: question,
    }),
    trainScenarios: [{ id: 'bandit-a' }, { id: 'bandit-b' }],
    rewards: [],
  };
}

export const trainerConfig = {
  seed: 7,
  scenariosPerStep: 1,
  groupSize: 4,
  generation: { maxNewTokens: 2, temperature: 1 },
  maxSequenceLength: 48,
  minibatchSize: 4,
  kl: { controller: { type: 'fixed' as const, coefficient: 0.01 }, estimator: 'k3' as const },
  // Sampled fitness episodes: differently trained adapters score differently on the same seeds.
  evaluation: { episodesPerScenario: 8, temperature: 1, seed: 99 },
};
