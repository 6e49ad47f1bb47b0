/**
 * The tiny model the example trains, made here in seconds: a byte-level BPE
 * tokenizer and a small GPT-2-style model, warm-started by supervised
 * fine-tuning on order-desk dialogues in which the agent calls `track_order`
 * in the Hermes format, with the number the customer stated in a quarter of
 * them and a number drawn at random in the rest. It learns the format and the
 * tool and is right a little under half the time: a plausible but imperfect
 * agent, which reinforcement learning through the gateway then improves.
 * `pnpm --filter @cohort/example-openai-agent make-model` writes it to
 * `model/`, where the example and its test load it.
 */
import { assistantLossMask } from '@cohort/agent-trainer';
import { type Message, Random } from '@cohort/core';
import { formatToolCalls, toolInstructionsFor } from '@cohort/environments';
import {
  createGptModel,
  createOptimizer,
  GptPolicy,
  tokenLogProbs,
  trainBpeTokenizer,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import {
  customerMessage,
  type OrderScenario,
  orderIds,
  orderScenarios,
  systemPrompt,
  trackOrder,
  trackOrderTool,
} from './order-desk';

/**
 * The system message as the gateway renders it for a request with
 * `tools: [trackOrderTool]` and `toolPromptStyle: 'compact'`: the agent's
 * system prompt, then the Hermes call syntax and one line for the tool.
 */
export function renderedSystemMessage(): string {
  const { name, description, parameters } = trackOrderTool.function;
  const instructions = toolInstructionsFor(
    [
      {
        type: 'function',
        function: {
          description: description ?? '',
          parameters: parameters ?? {},
          name,
        },
      },
    ],
    'hermes',
    'compact',
  );
  return `${systemPrompt}\n\n${instructions}`;
}

/** A warm-start dialogue: the call's order number is `calledId`, whatever the customer said. */
function dialogue(scenario: OrderScenario, calledId: string): Message[] {
  return [
    { role: 'system', content: renderedSystemMessage() },
    { role: 'user', content: customerMessage(scenario) },
    {
      role: 'assistant',
      content: formatToolCalls(
        [{ name: 'track_order', arguments: { order_id: calledId } }],
        'hermes',
      ),
    },
    { role: 'tool', content: trackOrder(scenario, calledId) },
    { role: 'assistant', content: 'Thank you for waiting.' },
  ];
}

/** Options of {@link makeOrderDeskModel}. */
export interface OrderDeskModelOptions {
  seed: number;
  /** Fraction of warm-start dialogues whose call uses the stated number (default 0.5). */
  statedFraction?: number;
  /** Supervised steps (default 120). */
  steps?: number;
  /** Dialogues per step (default 8). */
  batchSize?: number;
}

/**
 * Makes the tokenizer and the warm-started policy. Supervised loss
 * `L = -sum_t m_t log p(x_t | x_<t) / sum_t m_t` over the assistant's tokens
 * (Ouyang et al. 2022, the SFT stage).
 *
 * @example
 * ```ts
 * const { policy } = await makeOrderDeskModel({ seed: 1 });
 * ```
 */
export async function makeOrderDeskModel(options: OrderDeskModelOptions) {
  const random = new Random(options.seed).fork('order-desk-model');
  const scenarios = orderScenarios('train');
  const draw = () => {
    const scenario = random.choice(scenarios);
    const stated = random.float() < (options.statedFraction ?? 0.5);
    return dialogue(scenario, stated ? scenario.orderId : random.choice(orderIds));
  };
  const dialogues = Array.from({ length: 256 }, draw);
  const tokenizer = trainBpeTokenizer({
    texts: dialogues.flatMap((messages) => messages.map((message) => message.content)),
    vocabSize: 600,
  });
  const longest = Math.max(
    ...dialogues.map((messages) => tokenizer.applyChatTemplate(messages).length),
  );
  const model = createGptModel({
    config: {
      vocabSize: tokenizer.vocabSize,
      // Room for the two calls of an episode and their completions.
      contextLength: 64 * Math.ceil((longest + 48) / 64),
      embeddingSize: 64,
      layerCount: 2,
      headCount: 4,
      bosTokenId: tokenizer.eosTokenId,
      eosTokenId: tokenizer.eosTokenId,
    },
    seed: options.seed,
  });
  const optimizer = createOptimizer({
    type: 'adamw',
    learningRate: 3e-3,
    weightDecay: 0.01,
    maxGradNorm: 1,
    variables: model.namedVariables(),
  });
  const steps = options.steps ?? 120;
  const batchSize = options.batchSize ?? 8;
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    // Fresh dialogues every step, so the model cannot memorize which number a customer got.
    const batch = Array.from({ length: batchSize }, () => assistantLossMask(draw(), tokenizer));
    const width = Math.max(...batch.map((example) => example.tokenIds.length));
    const mask = tf.tensor2d(
      batch.map((example) => [
        ...example.lossMask,
        ...new Array<number>(width - example.lossMask.length).fill(0),
      ]),
    );
    const { value, grads } = tf.variableGrads(() => {
      const output = tokenLogProbs(model, {
        sequences: batch.map((example) => example.tokenIds),
        padTokenId: tokenizer.padTokenId,
      });
      const loss = output.logProbs.mul(mask).sum().neg().div(mask.sum()) as tf.Scalar;
      output.mask.dispose();
      return loss;
    });
    losses.push((await value.data())[0]!);
    value.dispose();
    mask.dispose();
    optimizer.applyGradients(grads);
    for (const gradient of Object.values(grads)) gradient.dispose();
  }
  const policy = new GptPolicy({ model, tokenizer });
  return { policy, tokenizer, losses, contextLength: model.config.contextLength };
}
