/**
 * Does a population schedule earn its keep at equal training episodes?
 * GRPO alone vs PBT over 4 members vs ERL-style hybrid (1 gradient learner +
 * 3 evolved members), on a bandit whose best arm changes: 5 arms, arm 1 at
 * 0.9 (others 0.3) for the first half of the episode budget, then arm 3 at
 * 0.9 (others 0.3), Gaussian reward noise 0.1. Every method gets the same
 * training episodes (32 pulls a step, 1920 in all; for PBT the 4 members
 * share them in turn), and the same seeds. Fitness episodes of the population
 * (greedy, 4 per member per generation, on the same seed for every member)
 * are extra and reported. A generation runs every 128 training episodes.
 *
 * Held-out score: the exact expected reward, under the final phase's means,
 * of the deployed policy's full distribution (no sampling, no noise), and
 * its probability of the new best arm. The deployed policy is GRPO's, the ERL
 * learner, or for PBT the member with the best fitness in a final fitness
 * measurement. Intervals: mean +- t(0.975, n - 1) standard errors over seeds.
 *
 * The policy is the UnigramPolicy of bench/switching-bandit.ts (digits at
 * logit 2, end of turn 1, the rest -4), whose "adapter" is its whole logit
 * vector, so members are cheap to clone. Prompt evolution + GRPO runs on
 * the Llama policy only (POLICY=llama): the unigram policy ignores its
 * prompt, so there the arm would be GRPO plus wasted fitness episodes by
 * construction. It is the trainer's prompt evolution (`createPromptEvolution`
 * in a `TrainingRun`: a population of 4 system prompts, fitness greedy on the
 * training scenario, the learner's prompt replaced by one better by 0.05),
 * compared with GRPO alone from the same starting system prompt
 * (`grpo-prompted`); its deployed policy is scored under the prompt it ends with.
 *
 * ERL's fitness is greedy by default, so an evolved member whose mutation
 * does not change the most likely arm ties with the learner (and ties go to
 * the learner); `erl-sampled` scores every member by sampled episodes at its
 * own temperature on the same fitness seed (`fitnessTemperature: 'member'`),
 * so probability shifts show. `grpo-equal-interactions` gives GRPO as many
 * extra training episodes as ERL spends on fitness, since those sampled
 * fitness episodes also see the current phase of the bandit.
 *
 * ERL is run twice: at the margin 0.05 of the other arms, and with margin 0
 * (`erl-margin-0`), with the largest fitness lead an evolved member ever had
 * over the learner recorded per seed, to tell a strict margin from a weak
 * population.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/population-schedules.ts
 * (SEEDS=5 by default; METHODS=grpo,pbt-4 runs only those arms and writes
 * its results under a name that lists them). Results:
 * bench/results/population-schedules-<policy>[-<methods>].{json,md}.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import {
  createLlamaModel,
  initializeBackend,
  LlamaPolicy,
  LlamaReferenceModel,
  randomLlamaWeights,
  trainBpeTokenizer,
  UnigramPolicy,
  UnigramReference,
  type WeightMap,
} from '@cohort/tfjs';
import {
  AdapterPopulation,
  createPromptEvolution,
  GrpoTrainer,
  type GrpoTrainingOptionsInput,
  type PopulationScheduleOptionsInput,
  TrainingRun,
} from '@cohort/trainer';
import * as tf from '@tensorflow/tfjs';
import { teachAnswers } from '../packages/trainer/src/stage-test-fixtures';

const seedCount = Number(process.env.SEEDS ?? 5);
/** `unigram` (default) or `llama`: a tiny Llama-family model with LoRA adapters on a frozen base. */
const policyKind = process.env.POLICY === 'llama' ? 'llama' : 'unigram';
const armA = 1;
const armB = 3;

const unigramTokenizer = new MockTokenizer();
const question = 'Pick an arm, 0 to 4.';
const llamaTokenizer = trainBpeTokenizer({ texts: [question, 'arm 0 1 2 3 4'], vocabSize: 280 });
const tokenizer = policyKind === 'llama' ? llamaTokenizer : unigramTokenizer;
const digitIds = [...'01234'].map((digit) => tokenizer.encode(digit)[0]!);

/** Per policy: pulls a step, steps, trainer config, ranges, ERL mutation. */
const setups = {
  unigram: {
    pullsPerStep: 32,
    steps: 60,
    config: {
      scenariosPerStep: 4,
      groupSize: 8,
      generation: { maxNewTokens: 1, temperature: 1 },
      maxSequenceLength: 512,
      minibatchSize: 8,
      optimizer: { type: 'adam', learningRate: 0.05, maxGradNorm: 10 },
      objective: { preset: 'grpo' },
      kl: { controller: { type: 'fixed', coefficient: 0 }, estimator: 'k3' },
      evaluation: { episodesPerScenario: 4, temperature: 0, seed: 77 },
    },
    hyperparameters: {
      learningRate: { minimum: 0.005, maximum: 0.5, logScale: true },
      klCoefficient: { minimum: 0, maximum: 0.2 },
      temperature: { minimum: 0.5, maximum: 1.5 },
      entropyCoefficient: { minimum: 0, maximum: 0.1 },
      clipRange: { minimum: 0.1, maximum: 0.4 },
    },
    mutation: { mutationStandardDeviation: 1, geneProbability: 0.5 },
    everyEpisodes: 128,
  },
  llama: {
    pullsPerStep: 16,
    steps: 40,
    config: {
      scenariosPerStep: 2,
      groupSize: 8,
      generation: { maxNewTokens: 2, temperature: 1 },
      maxSequenceLength: 64,
      minibatchSize: 16,
      optimizer: { type: 'adam', learningRate: 0.003, maxGradNorm: 1 },
      objective: { preset: 'grpo' },
      kl: { controller: { type: 'fixed', coefficient: 0.001 }, estimator: 'k3' },
      evaluation: { episodesPerScenario: 4, temperature: 0, seed: 77 },
    },
    hyperparameters: {
      learningRate: { minimum: 3e-4, maximum: 3e-2, logScale: true },
      klCoefficient: { minimum: 0, maximum: 0.05 },
      temperature: { minimum: 0.5, maximum: 1.5 },
      entropyCoefficient: { minimum: 0, maximum: 0.1 },
      clipRange: { minimum: 0.1, maximum: 0.4 },
    },
    mutation: { mutationStandardDeviation: 0.05, geneProbability: 0.5 },
    everyEpisodes: 64,
  },
} as const satisfies Record<
  string,
  {
    pullsPerStep: number;
    steps: number;
    config: GrpoTrainingOptionsInput;
    hyperparameters: PopulationScheduleOptionsInput['hyperparameters'];
    mutation: Partial<PopulationScheduleOptionsInput>;
    everyEpisodes: number;
  }
>;
const setup = setups[policyKind];
const config = setup.config;
const hyperparameters = setup.hyperparameters;
const budget = setup.steps * setup.pullsPerStep;

function phaseMeans(episodes: number): number[] {
  const winner = episodes < budget / 2 ? armA : armB;
  return [0, 1, 2, 3, 4].map((arm) => (arm === winner ? 0.9 : 0.3));
}

interface Outcome {
  expectedReward: number;
  probabilityB: number;
  fitnessEpisodes: number;
  generations: number;
  adoptions: number;
  /** ERL: the largest fitness lead of the best evolved member over the learner in any generation. */
  largestEvolvedLead?: number;
  seconds: number;
}

/** The deployed policy's probability of each arm's digit as its (first) answer token, under a system prompt if given. */
type ArmProbabilities = (systemPrompt?: string) => number[];

/** The starting system prompt of the prompt arms, and the phrases their mutations insert (short: the context is 64 tokens). */
const banditSystemPrompt = 'Pick an arm.';
const banditPhrases = ['Be brief.', 'One digit.', 'Choose well.', 'Explore.', 'Try 3.', 'Try 1.'];

function score(
  armProbabilities: ArmProbabilities,
  systemPrompt?: string,
): {
  expectedReward: number;
  probabilityB: number;
} {
  const probabilities = armProbabilities(systemPrompt);
  const means = phaseMeans(budget);
  return {
    expectedReward: probabilities.reduce((sum, p, arm) => sum + p * means[arm]!, 0),
    probabilityB: probabilities[armB]!,
  };
}

function unigramPolicy() {
  const initialLogits = Array.from({ length: unigramTokenizer.vocabSize }, (_, id) =>
    digitIds.includes(id) ? 2 : id === unigramTokenizer.endOfTurnTokenId ? 1 : -4,
  );
  const policy = new UnigramPolicy({ tokenizer: unigramTokenizer, initialLogits });
  const armProbabilities = () => {
    const probabilities = policy.probabilities();
    return digitIds.map((id) => probabilities[id]!);
  };
  return {
    policy,
    referenceModel: new UnigramReference(policy),
    armProbabilities,
    dispose: () => {},
  };
}

const llamaConfig = {
  modelType: 'llama' as const,
  vocabSize: llamaTokenizer.vocabSize,
  hiddenSize: 32,
  intermediateSize: 64,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  contextLength: 64,
  tieWordEmbeddings: true,
  eosTokenId: llamaTokenizer.eosTokenId,
};
const promptIds = llamaTokenizer.applyChatTemplate([{ role: 'user', content: question }], {
  addGenerationPrompt: true,
});

/** A base that answers with an arm number near uniformly (as tests/llama-lora-learning.test.ts builds it). */
function pretrainedLlamaBase(): WeightMap {
  const model = createLlamaModel({ config: llamaConfig, zeroInitialize: true });
  const weights = randomLlamaWeights({ config: llamaConfig, seed: 1, scale: 0.05 });
  const embedding = weights['model.embed_tokens.weight'] as { data: Float32Array };
  embedding.data = embedding.data.map((value) => value * 8);
  model.setWeights(weights);
  teachAnswers({
    model,
    promptIds,
    answerIds: digitIds,
    endOfTurnId: llamaTokenizer.endOfTurnTokenId ?? llamaTokenizer.eosTokenId,
    steps: 40,
    learningRate: 0.01,
  });
  const result = model.getWeights();
  model.dispose();
  return result;
}

let llamaBase: WeightMap | undefined;

function llamaPolicy(seed: number) {
  llamaBase ??= pretrainedLlamaBase();
  const model = createLlamaModel({
    config: llamaConfig,
    zeroInitialize: true,
    lora: {
      rank: 4,
      alpha: 8,
      targets: ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      seed,
    },
  });
  model.setWeights(llamaBase);
  const policy = new LlamaPolicy({ model, tokenizer: llamaTokenizer });
  const armProbabilities = (systemPrompt?: string) =>
    tf.tidy(() => {
      const ids =
        systemPrompt === undefined
          ? promptIds
          : llamaTokenizer.applyChatTemplate(
              [
                { role: 'system', content: systemPrompt },
                { role: 'user', content: question },
              ],
              { addGenerationPrompt: true },
            );
      const { logits } = model.forward([ids]);
      const last = logits.slice([0, ids.length - 1, 0], [1, 1, -1]).reshape([-1]);
      const probabilities = tf.softmax(last).dataSync();
      return digitIds.map((id) => probabilities[id]!);
    });
  return {
    policy,
    referenceModel: new LlamaReferenceModel({ model, padTokenId: llamaTokenizer.padTokenId }),
    armProbabilities,
    dispose: () => model.dispose(),
  };
}

function parts(seed: number) {
  const made = policyKind === 'llama' ? llamaPolicy(seed) : unigramPolicy();
  const environment = createBanditEnvironment({
    bandit: { armMeans: phaseMeans(0), noise: 'gaussian', noiseStd: 0.1, seed },
    ...(policyKind === 'llama' ? { prompt: question } : {}),
  });
  const setPhase = (episodes: number) =>
    environment.bandit.setState({
      ...environment.bandit.getState(),
      armMeans: phaseMeans(episodes),
    });
  return {
    armProbabilities: made.armProbabilities,
    dispose: made.dispose,
    setPhase,
    shared: {
      policy: made.policy,
      referenceModel: made.referenceModel,
      environment,
      trainScenarios: [{ id: 'bandit' }],
      rewards: [],
    },
  };
}

/** ERL's fitness episodes over a run: a generation every everyEpisodes, 4 members, each on the fitness seed's episodes. */
const erlFitnessEpisodes =
  (budget / setup.everyEpisodes) * 4 * config.evaluation.episodesPerScenario;

async function grpoAlone(seed: number, systemPrompt?: string, extraEpisodes = 0): Promise<Outcome> {
  const started = performance.now();
  const { armProbabilities, dispose, setPhase, shared } = parts(seed);
  const trainer = new GrpoTrainer({
    ...shared,
    config: { ...config, seed },
    ...(systemPrompt === undefined ? {} : { systemPrompt }),
  });
  while (trainer.episodes < budget + extraEpisodes) {
    setPhase(trainer.episodes);
    await trainer.step();
  }
  const result = {
    ...score(armProbabilities, systemPrompt),
    fitnessEpisodes: 0,
    generations: 0,
    adoptions: 0,
    seconds: (performance.now() - started) / 1000,
  };
  dispose();
  return result;
}

async function withPopulation(
  seed: number,
  population: Partial<PopulationScheduleOptionsInput>,
): Promise<Outcome> {
  const started = performance.now();
  const { armProbabilities, dispose, setPhase, shared } = parts(seed);
  const schedule = await AdapterPopulation.create({
    trainer: shared,
    config: { ...config, seed },
    population: {
      size: 4,
      everyEpisodes: setup.everyEpisodes,
      fitness: 'reward',
      fitnessScenarios: 1,
      adoptionMargin: 0.05,
      hyperparameters,
      seed,
      ...population,
    },
  });
  while (schedule.episodes < budget) {
    setPhase(schedule.episodes);
    await schedule.step();
  }
  let fitnessEpisodes = schedule.records.reduce((sum, record) => sum + record.fitnessEpisodes, 0);
  let deployed = 0;
  if (population.mode !== 'erl') {
    const final = await schedule.evaluateFitness();
    fitnessEpisodes += final.episodes;
    final.intervals.forEach((interval, index) => {
      if (interval.mean > final.intervals[deployed]!.mean) deployed = index;
    });
  }
  schedule.useMember(deployed);
  const adoptions = schedule.records.reduce(
    (sum, record) => sum + record.exploits.length + (record.adopted ? 1 : 0),
    0,
  );
  const leads = schedule.records.map((record) => {
    const [learner, ...evolved] = record.members.map((member) => member.fitness.mean);
    return Math.max(...evolved) - learner!;
  });
  const result = {
    ...score(armProbabilities),
    fitnessEpisodes,
    generations: schedule.records.length,
    adoptions,
    ...(population.mode === 'erl' ? { largestEvolvedLead: Math.max(...leads) } : {}),
    seconds: (performance.now() - started) / 1000,
  };
  schedule.dispose();
  dispose();
  return result;
}

/**
 * GRPO with the trainer's prompt evolution, in a `TrainingRun` (the way the
 * app runs it): a generation every `everyEpisodes` training episodes, the
 * phase switched after every step. Fitness episodes are counted at the
 * trainer's `evaluate`, which the fitness calls.
 */
async function promptsAndGrpo(seed: number): Promise<Outcome> {
  const started = performance.now();
  const { armProbabilities, dispose, setPhase, shared } = parts(seed);
  const trainer = new GrpoTrainer({
    ...shared,
    config: {
      ...config,
      seed,
      evolution: {
        everyEpisodes: setup.everyEpisodes,
        populationSize: 4,
        fitnessScenarios: 1,
        adoptionMargin: 0.05,
      },
    },
    systemPrompt: banditSystemPrompt,
  });
  let fitnessEpisodes = 0;
  const evaluate = trainer.evaluate.bind(trainer);
  trainer.evaluate = async (options) => {
    const metrics = await evaluate(options);
    fitnessEpisodes += metrics.episodes;
    return metrics;
  };
  const evolution = await createPromptEvolution({ trainer, phrases: banditPhrases });
  const directory = await mkdtemp(path.join(tmpdir(), 'cohort-bench-prompts-'));
  const run = new TrainingRun({
    trainer,
    runDirectory: directory,
    steps: setup.steps,
    evaluateAtStart: false,
    ...(evolution ? { evolution } : {}),
    onEvent: (event) => {
      if (event.type === 'step') setPhase(trainer.episodes);
    },
  });
  const summary = await run.run();
  await rm(directory, { recursive: true, force: true });
  const result = {
    ...score(armProbabilities, trainer.systemPrompt),
    fitnessEpisodes,
    generations: summary.generations.length,
    adoptions: summary.generations.filter((generation) => generation.adopted !== null).length,
    seconds: (performance.now() - started) / 1000,
  };
  dispose();
  return result;
}

const erlMutation = {
  mode: 'erl' as const,
  initialHyperparameters: 'config' as const,
  // The policy's own mutation scale: the unigram logits take sd 1, LoRA adapters sd 0.05
  // (round 3 ran sd 1 on the adapters too, which wrecked every evolved member).
  ...setup.mutation,
};

const allMethods: {
  name: string;
  description: string;
  run: (seed: number) => Promise<Outcome>;
}[] = [
  {
    name: 'grpo',
    description: `GRPO alone, Adam lr ${config.optimizer.learningRate}, KL ${config.kl.controller.coefficient}, clip 0.2`,
    run: grpoAlone,
  },
  {
    name: 'grpo-equal-interactions',
    description: `GRPO alone trained on ${erlFitnessEpisodes} more episodes (in the final phase): as many environment interactions as ERL spends on training plus fitness`,
    run: (seed) => grpoAlone(seed, undefined, erlFitnessEpisodes),
  },
  {
    name: 'pbt-4',
    description:
      'PBT, 4 members train in turn (member 0 at the GRPO config, 3 drawn from the ranges); bottom quarter copies a top member better by 0.05, perturbs x0.8/x1.2',
    run: (seed) => withPopulation(seed, { mode: 'pbt' }),
  },
  {
    name: 'pbt-4-sampled',
    description:
      "PBT as above with sampled fitness: every member scored at its own temperature on the same fitness seed (fitnessTemperature: 'member')",
    run: (seed) => withPopulation(seed, { mode: 'pbt', fitnessTemperature: 'member' }),
  },
  {
    name: 'erl',
    description: `ERL-style: 1 GRPO learner (GRPO config) + 3 members evolved by Gaussian mutation of the ${policyKind === 'llama' ? 'adapters' : 'logits'} (sd ${setup.mutation.mutationStandardDeviation}, gene probability ${setup.mutation.geneProbability}); learner injected for the worst, adopts the best when better by 0.05`,
    run: (seed) => withPopulation(seed, erlMutation),
  },
  {
    name: 'erl-sampled',
    description: `ERL as above with sampled fitness: every member scored at its own (the learner's) temperature ${config.generation.temperature} on the same fitness seed, ${config.evaluation.episodesPerScenario} episodes`,
    run: (seed) => withPopulation(seed, { ...erlMutation, fitnessTemperature: 'member' }),
  },
  {
    name: 'erl-margin-0',
    description:
      'ERL as above with adoption margin 0: the learner adopts any evolved member with higher fitness',
    run: (seed) => withPopulation(seed, { ...erlMutation, adoptionMargin: 0 }),
  },
  ...(policyKind === 'llama'
    ? [
        {
          name: 'grpo-prompted',
          description: `GRPO alone with the system prompt "${banditSystemPrompt}" (the prompt arm's start)`,
          run: (seed: number) => grpoAlone(seed, banditSystemPrompt),
        },
        {
          name: 'prompts+grpo',
          description: `GRPO with the trainer's prompt evolution: 4 system prompts from "${banditSystemPrompt}" and rule mutations of ${banditPhrases.length} phrases, greedy fitness on the training scenario, adopted when better by 0.05; scored under the prompt it ends with`,
          run: promptsAndGrpo,
        },
      ]
    : []),
];
const selected = process.env.METHODS?.split(',').map((name) => name.trim());
const methods = selected
  ? allMethods.filter((method) => selected.includes(method.name))
  : allMethods;
if (selected && methods.length !== selected.length) {
  throw new Error(
    `METHODS names an unknown arm: ${selected.join(', ')}; the arms are ${allMethods.map((method) => method.name).join(', ')}`,
  );
}
const resultName = `population-schedules-${policyKind}${selected ? `-${selected.join('-')}` : ''}`;

/** t(0.975, df) for df 1..30. */
const tQuantile = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
];

function interval(values: readonly number[]) {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance =
    values.length < 2
      ? 0
      : values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  const t = tQuantile[Math.min(values.length - 2, tQuantile.length - 1)] ?? 1.96;
  const half = t * Math.sqrt(variance / values.length);
  return { mean, lower: mean - half, upper: mean + half };
}

await initializeBackend({ logger: false });
const started = performance.now();
const summaries = [];
for (const method of methods) {
  const outcomes: Outcome[] = [];
  for (let seed = 1; seed <= seedCount; seed++) outcomes.push(await method.run(seed));
  const summary = {
    method: method.name,
    description: method.description,
    seeds: seedCount,
    trainingEpisodes: budget,
    expectedReward: interval(outcomes.map((outcome) => outcome.expectedReward)),
    probabilityB: interval(outcomes.map((outcome) => outcome.probabilityB)),
    fitnessEpisodes: interval(outcomes.map((outcome) => outcome.fitnessEpisodes)).mean,
    generations: interval(outcomes.map((outcome) => outcome.generations)).mean,
    adoptions: interval(outcomes.map((outcome) => outcome.adoptions)).mean,
    ...(outcomes[0]?.largestEvolvedLead !== undefined
      ? {
          largestEvolvedLead: interval(
            outcomes.map((outcome) => outcome.largestEvolvedLead ?? Number.NaN),
          ),
        }
      : {}),
    secondsPerSeed: interval(outcomes.map((outcome) => outcome.seconds)).mean,
    perSeed: outcomes,
  };
  summaries.push(summary);
  console.log(
    `${method.name.padEnd(13)} reward ${summary.expectedReward.mean.toFixed(3)} [${summary.expectedReward.lower.toFixed(3)}, ${summary.expectedReward.upper.toFixed(3)}]  P(B) ${summary.probabilityB.mean.toFixed(3)} [${summary.probabilityB.lower.toFixed(3)}, ${summary.probabilityB.upper.toFixed(3)}]  fitness episodes ${summary.fitnessEpisodes}  adoptions ${summary.adoptions}  ${summary.secondsPerSeed.toFixed(1)} s/seed`,
  );
}
const format = (value: { mean: number; lower: number; upper: number }) =>
  `${value.mean.toFixed(3)} [${value.lower.toFixed(3)}, ${value.upper.toFixed(3)}]`;
const table = [
  '| method | expected reward, final phase (best 0.9) | P(new best arm) | training episodes | fitness episodes | generations | copies/adoptions | s per seed |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...summaries.map(
    (s) =>
      `| ${s.method} | ${format(s.expectedReward)} | ${format(s.probabilityB)} | ${s.trainingEpisodes} | ${s.fitnessEpisodes} | ${s.generations} | ${s.adoptions} | ${s.secondsPerSeed.toFixed(1)} |`,
  ),
];
const leadLines = summaries
  .filter((s) => s.largestEvolvedLead !== undefined)
  .map(
    (s) =>
      `- ${s.method}: largest fitness lead of an evolved member over the learner, per seed ${s.perSeed.map((outcome) => outcome.largestEvolvedLead?.toFixed(3)).join(', ')}; mean ${format(s.largestEvolvedLead!)}`,
  );
const result = {
  benchmark: 'population-schedules',
  date: new Date().toISOString(),
  setup: {
    task: `5-armed bandit, arm ${armA} at 0.9 (others 0.3) for episodes 0-${budget / 2 - 1}, then arm ${armB}; Gaussian noise 0.1`,
    trainingEpisodes: budget,
    policy: policyKind,
    everyEpisodes: setup.everyEpisodes,
    seeds: seedCount,
    config,
    hyperparameterRanges: hyperparameters,
  },
  methods: summaries,
  totalSeconds: (performance.now() - started) / 1000,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  new URL(`./results/${resultName}.json`, import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
await writeFile(
  new URL(`./results/${resultName}.md`, import.meta.url),
  `# Population schedules at equal training episodes: bandit with a changing best arm (${policyKind} policy)\n\n${result.setup.task}; ${budget} training episodes per method, a generation every ${setup.everyEpisodes}; ${seedCount} seeds; mean [95 % t-interval] over seeds.\n\n${table.join('\n')}\n\n${summaries.map((s) => `- ${s.method}: ${s.description}`).join('\n')}\n${leadLines.length > 0 ? `\n${leadLines.join('\n')}\n` : ''}${policyKind === 'llama' ? '' : '\nPrompt evolution + GRPO is not run on this task: the unigram policy ignores its prompt.\n'}\nTotal ${result.totalSeconds.toFixed(0)} s.\n`,
);
console.log(`total ${result.totalSeconds.toFixed(1)} s`);
