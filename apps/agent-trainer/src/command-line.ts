import { chatEngines } from './chat-engines';
import {
  type CommandRecord,
  commandHelp,
  commonFlags,
  defineCommand,
  parseCommand,
  usageLine,
  wrap,
} from './cli-command';
import { booleanFlag, choiceFlag, integerFlag, numberFlag, stringFlag } from './cli-flag';
import { consoleCommandLine, defaultConsolePort } from './commands/console-command-line';
import { exportCommandLine } from './commands/export-command-line';
import { UsageError } from './exit-codes';
import { presetNames } from './preset-names';

export type { CommonFlags } from './cli-command';
export type { ConsoleCommand } from './commands/console-command-line';
export type { ExportCommand } from './commands/export-command-line';

const runNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

const natsRunIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

function natsUrlProblem(url: string): string | undefined {
  return /^(nats|tls|ws|wss):\/\/[^\s]+$/.test(url) || /^[^\s/:]+:\d+$/.test(url)
    ? undefined
    : `must be a NATS server URL such as nats://host:4222, got ${JSON.stringify(url)}`;
}

const trustRunModules = booleanFlag({
  description:
    "import the modules named in the run's stored config (environment, rewards); they run as your code",
});

/** `--resume` takes the config and the model from the run directory: naming either again is refused. */
/** The flags `train` and `gateway` share that pick the config, the model and the run directory. */
function runSelection<
  V extends {
    config?: string;
    preset?: unknown;
    resume?: string;
    'run-dir'?: string;
    'runs-root'?: string;
    name?: string;
    steps?: number;
    model?: string;
  },
>(values: V) {
  return {
    config: values.config,
    preset: values.preset as V['preset'],
    resume: values.resume,
    runDirectory: values['run-dir'],
    runsRoot: values['runs-root'],
    name: values.name,
    steps: values.steps,
    model: values.model,
  };
}

function refuseResumeOverrides(values: { resume?: string; config?: string; model?: string }): void {
  if (values.resume !== undefined && values.config !== undefined)
    throw new UsageError('--resume takes the config from the run directory; drop --config');
  if (values.resume !== undefined && values.model !== undefined)
    throw new UsageError('--resume takes the model from the run directory; drop --model');
}

/** `train`: GRPO training from a config, or a resumed run. */
export const trainCommandLine = defineCommand({
  name: 'train',
  summary:
    'GRPO training; the config is validated before any work. `--resume` continues a run, `--dry-run` checks and trains nothing, `--console` serves the console on it.',
  description: `Train an agent with GRPO. Without --config: the embedded support model on the built-in customer-support scenarios. --resume continues a run from its last checkpoint with the same random stream, optimizer state and step counter; a run whose config names modules (environment, rewards) resumes only with --trust-run-modules, because importing them runs their code. --dry-run validates everything (model, modules, room for a turn), prints the settings that differ from the preset and the batch arithmetic, and creates nothing. --console serves the training console on the run (port ${defaultConsolePort} unless --console-port).`,
  flags: {
    config: stringFlag({
      short: 'c',
      placeholder: 'FILE',
      description: 'config file, JSON (.json) or YAML (anything else)',
    }),
    preset: choiceFlag({
      choices: presetNames,
      defaultText: "the file's, else balanced",
      description: 'trainer preset the config is merged over',
    }),
    resume: stringFlag({
      placeholder: 'RUN_DIR',
      description: 'continue this run from its newest checkpoint (its config comes from the run)',
    }),
    'run-dir': stringFlag({
      placeholder: 'DIR',
      defaultText: 'RUNS_ROOT/<timestamp>-<name>',
      description: 'the run directory itself',
    }),
    'runs-root': stringFlag({
      placeholder: 'DIR',
      defaultText: 'runs',
      description: 'parent of new run directories',
    }),
    name: stringFlag({
      placeholder: 'NAME',
      description: "the run's name in its directory's name (overrides the config's)",
      problem: (name) =>
        runNamePattern.test(name)
          ? undefined
          : `must be letters, digits, - and _, got ${JSON.stringify(name)}`,
    }),
    steps: integerFlag({ minimum: 1, description: 'training steps (overrides the config)' }),
    environment: stringFlag({
      placeholder: 'MODULE',
      description: "a module exporting an environment (overrides the config's environment)",
    }),
    model: stringFlag({
      placeholder: 'DIR',
      description:
        "the model folder the policy starts from (overrides the config's): GPT-2 or Llama, SmolLM, Qwen2, Qwen3; with policy.lora, LoRA adapters train and are saved in the PEFT layout to RUN_DIR/adapter",
    }),
    'dry-run': booleanFlag({
      description:
        'validate, print the settings that differ from the preset and the batch arithmetic; create nothing',
    }),
    'trust-run-modules': trustRunModules,
    console: booleanFlag({ description: 'serve the training console on this run while it trains' }),
    'console-port': integerFlag({
      minimum: 0,
      maximum: 65_535,
      defaultText: String(defaultConsolePort),
      description: "the console's port with --console, 0 for any free port",
    }),
    workers: integerFlag({
      minimum: 0,
      maximum: 64,
      defaultText: '0: rollouts in the learner',
      description:
        'local rollout worker processes, over a nats-server the app starts on a loopback port (JetStream in a temporary folder); without nats-server on the PATH they run inside this process, with a warning',
    }),
    nats: stringFlag({
      placeholder: 'URL',
      description:
        'an existing NATS JetStream server for the rollouts; workers on any machine join with agent-trainer worker --nats URL --run-id ID (the run id is printed at the start)',
      problem: natsUrlProblem,
    }),
    rollouts: choiceFlag({
      choices: ['synchronous', 'asynchronous'] as const,
      defaultText: 'synchronous',
      description:
        "with --workers or --nats: synchronous samples each step with the current weights (bit-identical to in-process rollouts); asynchronous hands out the next step's tasks while the learner updates and drops groups more than the config's maxPolicyLag versions old",
    }),
  },
  build(values) {
    refuseResumeOverrides(values);
    if (values['console-port'] !== undefined && !values.console)
      throw new UsageError('--console-port needs --console');
    if (values.rollouts !== undefined && !values.workers && values.nats === undefined)
      throw new UsageError(
        `--rollouts ${values.rollouts} needs --workers N or --nats URL (rollouts run in the learner otherwise)`,
      );
    return {
      command: 'train' as const,
      ...runSelection(values),
      environment: values.environment,
      console: values.console ? { port: values['console-port'] ?? defaultConsolePort } : undefined,
      dryRun: values['dry-run'],
      trustRunModules: values['trust-run-modules'],
      workers: values.workers,
      nats: values.nats,
      rollouts: values.rollouts,
    };
  },
});

const trainFlags = trainCommandLine.flags;

/** `gateway`: trains the config's policy from the episodes of the user's own agent program. */
export const gatewayCommandLine = defineCommand({
  name: 'gateway',
  summary:
    "Serves the config's policy as an OpenAI-compatible API and trains it with GRPO on the episodes your own agent program runs through it (tasks from `POST /v1/tasks/next`); same run directory, checkpoints, `--resume`, summary and report as `train`.",
  description:
    "Train the agent you already have: start an OpenAI-compatible rollout gateway (POST /v1/chat/completions, GET /v1/models) serving the policy of a config, point your agent's baseURL at the URL it prints, and let it take tasks (POST /v1/tasks/next: a scenario of the config, G times per group), call the model with the task's episode id (x-episode-id header or the user field) and post each episode's reward (POST /v1/episodes/ID/reward). Every step trains on the recorded token ids and log-probs, so the next tasks are answered by the updated policy. Binds to loopback unless --host says otherwise; off loopback an API key is required (generated and printed unless --api-key). Held-out evaluation runs the config's environment in this process; prompt evolution is off (your agent owns its prompts).",
  flags: {
    config: trainFlags.config,
    preset: trainFlags.preset,
    resume: trainFlags.resume,
    'run-dir': trainFlags['run-dir'],
    'runs-root': trainFlags['runs-root'],
    name: trainFlags.name,
    steps: trainFlags.steps,
    model: trainFlags.model,
    'trust-run-modules': trustRunModules,
    host: stringFlag({
      placeholder: 'ADDRESS',
      default: '127.0.0.1',
      description:
        'address to bind; anything but loopback (127.0.0.1, ::1, localhost) needs an API key',
    }),
    port: integerFlag({
      minimum: 0,
      maximum: 65_535,
      default: 0,
      description: 'port to bind; 0 picks a free one (the URL is printed)',
    }),
    'api-key': stringFlag({
      placeholder: 'KEY',
      defaultText: 'none on loopback, else a generated one (printed)',
      description:
        'the bearer key every request must carry (at least 16 characters); note that a command line is visible to other local users',
      problem: (key) =>
        key.length >= 16 ? undefined : `must be at least 16 characters, got ${key.length}`,
    }),
    'served-model': stringFlag({
      placeholder: 'NAME',
      default: 'cohort-policy',
      description: 'the model name the agent passes as `model` (and GET /v1/models lists)',
    }),
    'group-timeout': integerFlag({
      minimum: 1,
      default: 600,
      description:
        'seconds a group waits for all its episodes to post a reward; a late group is dropped and counted',
    }),
  },
  build(values) {
    refuseResumeOverrides(values);
    return {
      command: 'gateway' as const,
      ...runSelection(values),
      trustRunModules: values['trust-run-modules'],
      host: values.host,
      port: values.port,
      apiKey: values['api-key'],
      servedModel: values['served-model'],
      groupTimeoutSeconds: values['group-timeout'],
    };
  },
});

/** `worker`: a rollout worker for a learner's run on NATS JetStream. */
export const workerCommandLine = defineCommand({
  name: 'worker',
  summary:
    'A rollout worker for a run on NATS JetStream, on this machine or another: pulls tasks, runs the environment and policy, acks after the result is stored.',
  description:
    "Run rollouts for a learner started with train --nats URL (or --workers N). The worker builds the run's model architecture, environment and rewards from the same config as the learner (--config FILE as given to train, or --run-dir DIR on the learner's machine), then pulls tasks, loads each policy version once, heartbeats long episodes and acknowledges a task only after its result is stored. Ctrl-C or SIGTERM stops it after the task in hand.",
  flags: {
    nats: stringFlag({
      placeholder: 'URL',
      description: "the learner's NATS server, e.g. nats://learner-host:4222",
      problem: natsUrlProblem,
    }),
    'run-id': stringFlag({
      placeholder: 'ID',
      description: "the run id the learner printed (its run directory's name)",
      problem: (id) =>
        natsRunIdPattern.test(id)
          ? undefined
          : `must be 1-64 letters, digits, - and _, got ${JSON.stringify(id)}`,
    }),
    config: stringFlag({
      short: 'c',
      placeholder: 'FILE',
      defaultText: 'the default run',
      description: "the run's config file, as the learner was given it",
    }),
    'run-dir': stringFlag({
      placeholder: 'DIR',
      description: "on the learner's machine: take the config from this run directory",
    }),
    'trust-run-modules': trustRunModules,
    'worker-id': stringFlag({
      placeholder: 'NAME',
      defaultText: '<host>-<pid>',
      description: "the worker's name in results and logs",
    }),
    'wait-seconds': integerFlag({
      minimum: 1,
      default: 120,
      description: "how long to wait for the learner to create the run's streams",
    }),
  },
  build(values) {
    if (values.nats === undefined)
      throw new UsageError("worker needs --nats URL (the learner's NATS server)");
    if (values['run-id'] === undefined)
      throw new UsageError('worker needs --run-id ID (printed by the learner at the start)');
    if (values.config !== undefined && values['run-dir'] !== undefined)
      throw new UsageError('--run-dir takes the config from the run directory; drop --config');
    return {
      command: 'worker' as const,
      nats: values.nats,
      runId: values['run-id'],
      config: values.config,
      runDirectory: values['run-dir'],
      trustRunModules: values['trust-run-modules'],
      workerId: values['worker-id'],
      waitSeconds: values['wait-seconds'],
    };
  },
});

const modelSourceFlags = {
  'run-dir': stringFlag({ placeholder: 'DIR', description: 'a run directory: its latest weights' }),
  model: stringFlag({ placeholder: 'DIR', description: 'a model folder (Hugging Face layout)' }),
};

/** `eval`: held-out evaluation of a run's latest weights, or of a model folder. */
export const evalCommandLine = defineCommand({
  name: 'eval',
  summary:
    "Held-out evaluation with the run's environment, rewards and evaluation settings (the scale `train` reports): each scenario, each category, 95% intervals.",
  description:
    "Held-out evaluation with the run's environment and rewards (the scale train reports), per category, with 95% intervals; prints a table.",
  exactlyOne: ['run-dir', 'model'],
  flags: {
    ...modelSourceFlags,
    scenarios: integerFlag({
      minimum: 1,
      defaultText: 'all',
      description: 'at most this many held-out scenarios, stratified over categories',
    }),
    seed: integerFlag({
      minimum: 0,
      defaultText: "the run's; 1234 for a model folder",
      description: 'evaluation seed',
    }),
    'trust-run-modules': trustRunModules,
  },
  build: (values) => ({
    command: 'eval' as const,
    runDirectory: values['run-dir'],
    model: values.model,
    scenarios: values.scenarios,
    seed: values.seed,
    trustRunModules: values['trust-run-modules'],
  }),
});

/** `chat`: a terminal conversation with a trained agent. */
export const chatCommandLine = defineCommand({
  name: 'chat',
  summary:
    "One user message per stdin line, the agent's reply on stdout. Works with piped stdin. `/reset`, `/exit`.",
  description: 'Talk to an agent in the terminal; reads one user message per line from stdin.',
  exactlyOne: ['run-dir', 'model'],
  flags: {
    ...modelSourceFlags,
    engine: choiceFlag({
      choices: chatEngines,
      defaultText: 'tfjs when the folder has model.safetensors, else transformers.js',
      description:
        'the runtime: tfjs, or transformers.js on the onnx/ graph (what export writes); a run directory runs on tfjs',
    }),
    system: stringFlag({ placeholder: 'TEXT', description: 'system prompt' }),
    temperature: numberFlag({
      placeholder: 'T',
      minimum: 0,
      default: 0,
      description: 'sampling temperature; 0 picks the most likely token',
    }),
    'max-new-tokens': integerFlag({
      minimum: 1,
      default: 64,
      description: 'the most tokens of one reply',
    }),
    seed: integerFlag({ minimum: 0, default: 0, description: 'sampling seed' }),
  },
  build: (values) => ({
    command: 'chat' as const,
    runDirectory: values['run-dir'],
    model: values.model,
    engine: values.engine,
    system: values.system,
    temperature: values.temperature,
    maxNewTokens: values['max-new-tokens'],
    seed: values.seed,
  }),
});

/** `sft`: trains the embedded default chat model. */
export const sftCommandLine = defineCommand({
  name: 'sft',
  summary: 'Trains the embedded default chat model (below).',
  description:
    'Train the embedded default chat model on generated support dialogues (default --out apps/agent-trainer/models/support-agent-tiny). With --family llama: a small Llama-family tool agent (RMSNorm, RoPE, SwiGLU, grouped-query attention, context 2048, one token per digit) on support-desk dialogues of the reference agent with tool calls (a few with a deliberate mistake) and short copy fragments cut from them, written in fp16 with its ONNX export (default --out apps/agent-trainer/models/support-desk-llama).',
  flags: {
    family: choiceFlag({
      choices: ['gpt2', 'llama'],
      defaultText: 'gpt2',
      description:
        'gpt2: the conversation model; llama: the support-desk tool agent (--dialogues counts its tasks)',
    }),
    out: stringFlag({
      placeholder: 'DIR',
      defaultText: 'the embedded model folder',
      description: 'folder to write the model to',
    }),
    seed: integerFlag({
      minimum: 0,
      default: 0,
      description: 'seed of dialogues, tokenizer and training',
    }),
    steps: integerFlag({
      minimum: 1,
      defaultText: '400; llama 700 (after 800 on copy fragments alone)',
      description: 'optimizer steps',
    }),
    dialogues: integerFlag({
      minimum: 1,
      defaultText: '600; llama 1400',
      description: 'generated dialogues',
    }),
    'vocab-size': integerFlag({
      minimum: 300,
      defaultText: '1024',
      description: "the tokenizer's vocabulary size",
    }),
    'hidden-size': integerFlag({
      minimum: 8,
      defaultText: 'llama 128',
      description:
        'llama only: model width (MLP width 2.75x, rounded to 8; head size = width / 4 heads)',
    }),
    layers: integerFlag({
      minimum: 1,
      defaultText: 'llama 2',
      description: 'llama only: decoder layers',
    }),
    'batch-size': integerFlag({
      minimum: 1,
      defaultText: 'llama 8',
      description: 'llama only: sequences per optimizer step',
    }),
    'learning-rate': numberFlag({
      minimum: 0,
      defaultText: 'llama 3e-3',
      description: 'llama only: peak learning rate of the cosine schedule',
    }),
    'loss-on': choiceFlag({
      choices: ['assistant', 'all'],
      defaultText: 'llama all',
      description:
        "llama only: the tokens the loss is on: the agent's, or all (more copying examples per dialogue)",
    }),
    'copy-curriculum-steps': integerFlag({
      minimum: 0,
      defaultText: 'llama 0',
      description:
        'llama only: steps of synthetic copies first (a fresh order id stated in a window of a dialogue and written back, the loss on its digits), 16 per step',
    }),
    'induction-steps': integerFlag({
      minimum: 0,
      defaultText: 'llama 0',
      description:
        'llama only: steps of short repeats first (a window of 4-12 dialogue tokens and the same window again, the loss on the repeat), 16 per step: they grow the induction head that copying needs',
    }),
    'induction-tokens': choiceFlag({
      choices: ['dialogue', 'random'],
      defaultText: 'llama dialogue',
      description:
        'llama only: what the induction warm-up repeats: windows of dialogues, or 8-24 random tokens (half of them digit tokens), which only a token-matching induction head predicts',
    }),
    'copy-curriculum-numbers': choiceFlag({
      choices: ['drop', 'keep'],
      defaultText: 'llama drop',
      description:
        "llama only: what the copy curriculum's dialogue windows keep of their numbers: drop every digit, or keep all but other order ids (distractors, as in the dialogues)",
    }),
    'copy-curriculum-repeat-share': numberFlag({
      minimum: 0,
      maximum: 1,
      defaultText: 'llama 0',
      description:
        'llama only: share of the copy curriculum that is repeats of 4-60 dialogue tokens instead of copies',
    }),
    'copy-curriculum-email-share': numberFlag({
      minimum: 0,
      maximum: 1,
      defaultText: 'llama 0',
      description:
        "llama only: share of the copy curriculum's copies that state a fresh email as the customer does (My email is ...) and write it back in a find_customer call, the loss on the email's tokens, instead of an order id",
    }),
    'dialogue-curriculum-share': numberFlag({
      minimum: 0,
      maximum: 0.9,
      defaultText: 'llama 0',
      description:
        'llama only: share of the dialogue phase that is copy curriculum sequences (with their repeat share), to keep the copy while the dialogues are learned',
    }),
    'recovery-share': numberFlag({
      minimum: 0,
      maximum: 1,
      defaultText: 'llama 0',
      description:
        "llama only: share of the training dialogues whose first find_customer or get_order call has one character of its argument changed or dropped, gets the backend's error, and is made again right; the corrupted call carries no loss",
    }),
    'copy-warmup-steps': integerFlag({
      minimum: 0,
      defaultText: 'llama 800',
      description:
        'llama only: steps on the copy fragments alone (the loss on the copied tokens) before the dialogues',
    }),
    'digit-pairs': booleanFlag({
      description:
        'llama only: write numbers in tokens of two digits, left to right (a 4-digit order id is two tokens), instead of one token per digit',
    }),
    'separate-spaces': booleanFlag({
      description:
        "llama only: keep spaces out of word tokens, so a name or email is the same tokens in the customer's message and in a tool call's JSON",
    }),
    'copy-loss-weight': numberFlag({
      minimum: 1,
      maximum: 100,
      defaultText: 'llama 1',
      description:
        "llama only: weight of the order-id tokens the agent writes in the loss's weighted mean (they are a few percent of the tokens, and each decides the task)",
    }),
    'random-products': booleanFlag({
      description:
        'llama only: rename every product line and the store of the training tasks to random letters, as customers are, so that the action after a read cannot key on the 8 lines and 2 stores of the training pool',
    }),
    'random-policies': booleanFlag({
      description:
        "llama only: draw the policy numbers of the training tasks (return window 5-60 days, refund, exchange and escalation days 2-30) from wide ranges, consistently in the policy lines, tool results and expected facts, so that the days are copied, not recalled from the training pool's two numbers per field",
    }),
    'random-prices': booleanFlag({
      description:
        "llama only: give every product line of the training tasks a random price ($5.00-$249.99), with the amount to tell recomputed, so that the amount is copied from the tool result, not recalled from the training pool's 8 prices",
    }),
    'decision-basis': booleanFlag({
      description:
        'llama only: the reference agent writes the basis of each action before its call, in the same message (`Request: refund. Delivered: 12. Window: 30. Inside.`), so that the action is chosen from the request and the window comparison just written',
    }),
    'decision-loss-weight': numberFlag({
      minimum: 1,
      maximum: 100,
      defaultText: 'llama 1',
      description:
        "llama only: weight in the loss's weighted mean of the agent's decisions after a tool result (the next call's tool name, or a text reply's first token), in the dialogues: one token in 600, and the one that picks the action",
    }),
    engine: choiceFlag({
      choices: ['tfjs', 'onnx'],
      defaultText: 'llama onnx',
      description:
        'llama only: who computes the gradients: the hand-written backward graph on ONNX Runtime (about 10x faster per step at the default shape), or tfjs autodiff; the same AdamW and the same losses within float32 rounding',
    }),
    'probe-every': integerFlag({
      minimum: 1,
      defaultText: 'none',
      description:
        'llama only: every N steps, log the nats per copied order-id digit and email token of 8 held-out dialogues and a greedy probe on 6 held-out tasks',
    }),
  },
  build: (values) => ({
    command: 'sft' as const,
    family: values.family ?? 'gpt2',
    out: values.out,
    seed: values.seed,
    steps: values.steps,
    dialogues: values.dialogues,
    vocabSize: values['vocab-size'],
    hiddenSize: values['hidden-size'],
    layers: values.layers,
    batchSize: values['batch-size'],
    learningRate: values['learning-rate'],
    probeEvery: values['probe-every'],
    lossOn: values['loss-on'],
    copyCurriculumSteps: values['copy-curriculum-steps'],
    copyWarmupSteps: values['copy-warmup-steps'],
    inductionSteps: values['induction-steps'],
    inductionTokens: values['induction-tokens'],
    copyCurriculumNumbers: values['copy-curriculum-numbers'],
    copyCurriculumRepeatShare: values['copy-curriculum-repeat-share'],
    copyCurriculumEmailShare: values['copy-curriculum-email-share'],
    dialogueCurriculumShare: values['dialogue-curriculum-share'],
    recoveryShare: values['recovery-share'],
    // Unset rather than false, so that sft --family gpt2 refuses only a flag that was given.
    digitPairs: values['digit-pairs'] ? true : undefined,
    separateSpaces: values['separate-spaces'] ? true : undefined,
    copyLossWeight: values['copy-loss-weight'],
    decisionLossWeight: values['decision-loss-weight'],
    randomProducts: values['random-products'] ? true : undefined,
    randomPolicies: values['random-policies'] ? true : undefined,
    randomPrices: values['random-prices'] ? true : undefined,
    decisionBasis: values['decision-basis'] ? true : undefined,
    engine: values.engine,
  }),
});

/** `report RUN_DIR`: regenerates `report.html` from `metrics.jsonl`. */
export const reportCommandLine = defineCommand({
  name: 'report',
  summary:
    'Rewrites `RUN_DIR/report.html` from `metrics.jsonl`, `samples.jsonl`, the config and the summary.',
  description: 'Regenerate RUN_DIR/report.html from RUN_DIR/metrics.jsonl.',
  positionals: { usage: 'RUN_DIR', description: 'the run directory' },
  flags: {},
  build(_values, positionals) {
    const [runDirectory, ...extra] = positionals;
    if (runDirectory === undefined)
      throw new UsageError('report needs a run directory: agent-trainer report RUN_DIR');
    if (extra.length > 0)
      throw new UsageError(`report takes one run directory, got extra ${JSON.stringify(extra)}`);
    return { command: 'report' as const, runDirectory };
  },
});

/**
 * Every command, in the order the help lists them. To add one: declare it
 * with `defineCommand` (its own file under `commands/` when it is long), add
 * it here, and dispatch it in `cli.ts`; its help and README reference follow.
 */
export const commandLines = {
  train: trainCommandLine,
  gateway: gatewayCommandLine,
  eval: evalCommandLine,
  chat: chatCommandLine,
  export: exportCommandLine,
  sft: sftCommandLine,
  report: reportCommandLine,
  console: consoleCommandLine,
  worker: workerCommandLine,
} as const;

export type CommandName = keyof typeof commandLines;
export const commandNames = Object.keys(commandLines) as CommandName[];

export type TrainCommand = CommandRecord<typeof trainCommandLine>;
export type GatewayCommand = CommandRecord<typeof gatewayCommandLine>;
export type EvalCommand = CommandRecord<typeof evalCommandLine>;
export type ChatCommand = CommandRecord<typeof chatCommandLine>;
export type SftCommand = CommandRecord<typeof sftCommandLine>;
export type ReportCommand = CommandRecord<typeof reportCommandLine>;
export type WorkerCommand = CommandRecord<typeof workerCommandLine>;

/** `--help`, `help [COMMAND]`, or `COMMAND --help`. */
export interface HelpCommand {
  command: 'help';
  json: boolean;
  verbose: boolean;
  topic?: CommandName;
}

/** A parsed command line: one record per command. */
export type Command =
  | {
      [Name in CommandName]: CommandRecord<(typeof commandLines)[Name]>;
    }[CommandName]
  | HelpCommand;

/** Usage text of the whole program, or of one command, made from the command declarations. */
export function helpText(topic?: CommandName): string {
  if (topic) return `${commandHelp(commandLines[topic])}\n`;
  const commands = commandNames.map((name) => {
    const command = commandLines[name];
    const usage = usageLine(command).split('\n').join('\n  ');
    return [`  ${usage}`, ...wrap(command.summary, 92, '    ')].join('\n');
  });
  return `agent-trainer: train conversational agents with reinforcement learning

Usage:
${commands.join('\n\n')}

Common flags: ${Object.keys(commonFlags)
    .map((name) => `--${name}`)
    .join(', ')}; agent-trainer help COMMAND lists a command's flags.

Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 130 interrupted (Ctrl-C).
`;
}

/**
 * Parses the command line (without `node` and the script) into a
 * {@link Command}. Unknown commands and flags, missing values and bad numbers
 * throw {@link UsageError} (exit code 2) naming the flag and the value.
 *
 * @example
 * ```ts
 * parseCommandLine(['train', '--preset', 'balanced', '--steps', '5']);
 * // { command: 'train', preset: 'balanced', steps: 5, json: false, verbose: false, ... }
 * ```
 */
export function parseCommandLine(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !(commandNames as readonly string[]).includes(topic)) {
      throw new UsageError(
        `unknown command ${JSON.stringify(topic)}; commands: ${commandNames.join(', ')}`,
      );
    }
    return {
      command: 'help',
      json: false,
      verbose: false,
      ...(topic ? { topic: topic as CommandName } : {}),
    };
  }
  if (!(commandNames as readonly string[]).includes(first)) {
    throw new UsageError(
      `unknown command ${JSON.stringify(first)}; commands: ${commandNames.join(', ')} (see --help)`,
    );
  }
  const name = first as CommandName;
  const parsed = parseCommand<unknown>(commandLines[name], rest);
  if (parsed.help) return { command: 'help', topic: name, ...parsed.flags };
  // parseCommand built the record with the command's own `build`.
  return parsed.result as Command;
}
