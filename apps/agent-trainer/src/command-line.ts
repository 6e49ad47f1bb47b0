import { parseArgs } from 'node:util';
import {
  type ConsoleCommand,
  consoleFlags,
  consoleHelp,
  defaultConsolePort,
  parseConsoleCommand,
  portFlag,
} from './commands/console-command-line';
import type { ExportCommand } from './commands/export-command';
import { UsageError } from './exit-codes';

export type { ConsoleCommand } from './commands/console-command-line';
export type { ExportCommand } from './commands/export-command';

/** Flags every command accepts. */
export interface CommonFlags {
  /** Print machine-readable JSON lines on stdout instead of human text. */
  json: boolean;
  /** Print stack traces and extra detail. */
  verbose: boolean;
}

/** `train`: GRPO training from a config, or a resumed run. */
export interface TrainCommand extends CommonFlags {
  command: 'train';
  config?: string;
  preset?: 'conservative' | 'balanced' | 'aggressive';
  resume?: string;
  /** The run directory itself (default: `runs/<timestamp>-<name>`). */
  runDirectory?: string;
  /** Parent of new run directories (default `runs`). */
  runsRoot?: string;
  name?: string;
  steps?: number;
  /** A user module exporting an environment (overrides the config's environment). */
  environment?: string;
  /** The model folder the policy starts from (overrides the config's; any GPT-2 or Llama-family folder). */
  model?: string;
  /** Serve the training console on this run while it trains (`--console [--console-port N]`). */
  console?: { port: number };
  /** Validate and print the resolved differences from the preset and the batch arithmetic; train nothing. */
  dryRun: boolean;
  /** With --resume: import the modules named in the run's stored config (they run as your code). */
  trustRunModules: boolean;
}

/** `eval`: held-out evaluation of a run's latest weights, or of a model folder. */
export interface EvalCommand extends CommonFlags {
  command: 'eval';
  runDirectory?: string;
  model?: string;
  /** At most this many held-out scenarios, stratified over categories (default: all). */
  scenarios?: number;
  /** Default: the run's evaluation seed (1234 for a model folder). */
  seed?: number;
  /** With --run-dir: import the modules named in the run's stored config. */
  trustRunModules: boolean;
}

/** `chat`: a terminal conversation with a trained agent. */
export interface ChatCommand extends CommonFlags {
  command: 'chat';
  runDirectory?: string;
  model?: string;
  system?: string;
  /** `tfjs` or `transformers.js` (default: tfjs when the folder has model.safetensors). */
  engine?: 'tfjs' | 'transformers.js';
  temperature: number;
  maxNewTokens: number;
  seed: number;
}

/** `sft`: trains the embedded default chat model. */
export interface SftCommand extends CommonFlags {
  command: 'sft';
  out?: string;
  seed: number;
  steps?: number;
  dialogues?: number;
  vocabSize?: number;
}

/** `report RUN_DIR`: regenerates `report.html` from `metrics.jsonl`. */
export interface ReportCommand extends CommonFlags {
  command: 'report';
  runDirectory: string;
}

/** `--help`, `help [COMMAND]`, or `COMMAND --help`. */
export interface HelpCommand extends CommonFlags {
  command: 'help';
  topic?: CommandName;
}

export type Command =
  | TrainCommand
  | EvalCommand
  | ChatCommand
  | SftCommand
  | ReportCommand
  | ConsoleCommand
  | ExportCommand
  | HelpCommand;

export const commandNames = [
  'train',
  'eval',
  'chat',
  'export',
  'sft',
  'report',
  'console',
] as const;
export type CommandName = (typeof commandNames)[number];

const common = {
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const optionsByCommand = {
  train: {
    ...common,
    config: { type: 'string', short: 'c' },
    preset: { type: 'string' },
    resume: { type: 'string' },
    'run-dir': { type: 'string' },
    'runs-root': { type: 'string' },
    name: { type: 'string' },
    steps: { type: 'string' },
    environment: { type: 'string' },
    model: { type: 'string' },
    console: { type: 'boolean' },
    'console-port': { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    'trust-run-modules': { type: 'boolean', default: false },
  },
  eval: {
    ...common,
    'run-dir': { type: 'string' },
    model: { type: 'string' },
    scenarios: { type: 'string' },
    seed: { type: 'string' },
    'trust-run-modules': { type: 'boolean', default: false },
  },
  chat: {
    ...common,
    'run-dir': { type: 'string' },
    model: { type: 'string' },
    system: { type: 'string' },
    engine: { type: 'string' },
    temperature: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    seed: { type: 'string' },
  },
  sft: {
    ...common,
    out: { type: 'string' },
    seed: { type: 'string' },
    steps: { type: 'string' },
    dialogues: { type: 'string' },
    'vocab-size': { type: 'string' },
  },
  export: {
    ...common,
    'run-dir': { type: 'string' },
    model: { type: 'string' },
    adapter: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string' },
  },
  report: { ...common },
  console: { ...common, ...consoleFlags },
} as const;

const presetNames = ['conservative', 'balanced', 'aggressive'] as const;
const chatEngineNames = ['tfjs', 'transformers.js'] as const;
const exportDtypes = ['F32', 'BF16', 'F16'] as const;

/** Usage text of the whole program, or of one command. */
export function helpText(topic?: CommandName): string {
  const lines: Record<CommandName, string> = {
    train: `agent-trainer train [--config FILE] [--preset conservative|balanced|aggressive]
                    [--resume RUN_DIR] [--run-dir DIR] [--runs-root DIR] [--name NAME]
                    [--steps N] [--environment MODULE] [--model DIR] [--dry-run] [--trust-run-modules]
                    [--console [--console-port N]] [--json] [--verbose]
  Train an agent with GRPO. Without --config: the embedded support model on the
  built-in customer-support scenarios. --resume continues a run from its last checkpoint;
  a run whose config names modules (environment, rewards) resumes only with
  --trust-run-modules, because importing them runs their code. --dry-run validates
  everything, prints the settings that differ from the preset and the batch arithmetic,
  and creates nothing. --console serves the training console on the run (port
  ${defaultConsolePort} unless --console-port). --model starts the policy from a model folder
  (GPT-2 or Llama, SmolLM, Qwen2, Qwen3; with policy.lora in the config, LoRA adapters are
  trained and saved in the PEFT layout to RUN_DIR/adapter).`,
    eval: `agent-trainer eval (--run-dir DIR | --model DIR) [--scenarios N] [--seed N]
                   [--trust-run-modules] [--json]
  Held-out evaluation with the run's environment and rewards (the scale train reports),
  per category, with 95% intervals; prints a table.`,
    chat: `agent-trainer chat (--run-dir DIR | --model DIR) [--engine tfjs|transformers.js]
                   [--system TEXT] [--temperature T] [--max-new-tokens N] [--seed N]
  Talk to an agent in the terminal; reads one user message per line from stdin. A folder
  runs on tfjs when it has model.safetensors, else on transformers.js (onnx/); --engine
  chooses (an exported folder has both).`,
    export: `agent-trainer export (--run-dir DIR | --model DIR [--adapter DIR]) --out DIR
                     [--dtype f32|bf16|f16] [--json]
  Merge LoRA adapters (a run's newest checkpoint, or a PEFT adapter folder) into a
  Llama-family model and write a Hugging Face folder (model.safetensors, default f32)
  plus onnx/model.onnx, which transformers.js loads.`,
    sft: `agent-trainer sft [--out DIR] [--seed N] [--steps N] [--dialogues N] [--vocab-size N] [--json]
  Train the embedded default chat model on generated support dialogues
  (default --out apps/agent-trainer/models/support-agent-tiny).`,
    report: `agent-trainer report RUN_DIR
  Regenerate RUN_DIR/report.html from RUN_DIR/metrics.jsonl.`,
    console: consoleHelp,
  };
  if (topic) return `${lines[topic]}\n`;
  return `agent-trainer: train conversational agents with reinforcement learning

Usage:
${commandNames.map((name) => `  ${lines[name].split('\n').join('\n  ')}`).join('\n\n')}

Common flags: --json (JSON lines on stdout), --verbose (stack traces, the TensorFlow.js backend line), --help.

Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 130 interrupted (Ctrl-C).
`;
}

function integerFlag(name: string, value: string | undefined, minimum: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < minimum) {
    throw new UsageError(
      `--${name} must be an integer >= ${minimum}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

function numberFlag(name: string, value: string | undefined, minimum: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < minimum) {
    throw new UsageError(`--${name} must be a number >= ${minimum}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/**
 * Parses the command line (without `node` and the script) into a
 * {@link Command}. Unknown commands and flags, missing values and bad numbers
 * throw {@link UsageError} (exit code 2).
 *
 * @example
 * ```ts
 * parseCommandLine(['train', '--preset', 'balanced', '--steps', '5']);
 * // { command: 'train', preset: 'balanced', steps: 5, json: false, verbose: false }
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
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...rest],
      options: optionsByCommand[name],
      allowPositionals: name === 'report' || name === 'console',
      strict: true,
    }) as typeof parsed;
  } catch (error) {
    const message = (error as Error).message
      .split('\n')[0]!
      .replace(/^TypeError \[[A-Z_]+\]: /, '');
    throw new UsageError(`${name}: ${message} (see agent-trainer help ${name})`, { cause: error });
  }
  const values = parsed.values;
  const string = (key: string): string | undefined => values[key] as string | undefined;
  const flags: CommonFlags = { json: values.json === true, verbose: values.verbose === true };
  if (values.help === true) return { command: 'help', topic: name, ...flags };

  switch (name) {
    case 'train': {
      const preset = string('preset');
      if (preset !== undefined && !(presetNames as readonly string[]).includes(preset)) {
        throw new UsageError(
          `--preset must be one of ${presetNames.join(', ')}, got ${JSON.stringify(preset)}`,
        );
      }
      if (string('resume') !== undefined && string('config') !== undefined) {
        throw new UsageError('--resume takes the config from the run directory; drop --config');
      }
      if (string('resume') !== undefined && string('model') !== undefined) {
        throw new UsageError('--resume takes the model from the run directory; drop --model');
      }
      const steps = integerFlag('steps', string('steps'), 1);
      const consolePort = portFlag('console-port', string('console-port'));
      if (consolePort !== undefined && values.console !== true) {
        throw new UsageError('--console-port needs --console');
      }
      const runName = string('name');
      if (runName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(runName)) {
        throw new UsageError(
          `--name must be letters, digits, - and _, got ${JSON.stringify(runName)}`,
        );
      }
      return {
        command: 'train',
        ...flags,
        ...optional('config', string('config')),
        ...optional('preset', preset as TrainCommand['preset']),
        ...optional('resume', string('resume')),
        ...optional('runDirectory', string('run-dir')),
        ...optional('runsRoot', string('runs-root')),
        ...optional('name', string('name')),
        ...optional('steps', steps),
        ...optional('environment', string('environment')),
        ...optional('model', string('model')),
        ...(values.console === true
          ? { console: { port: consolePort ?? defaultConsolePort } }
          : {}),
        dryRun: values['dry-run'] === true,
        trustRunModules: values['trust-run-modules'] === true,
      };
    }
    case 'eval':
    case 'chat': {
      const runDirectory = string('run-dir');
      const model = string('model');
      if ((runDirectory === undefined) === (model === undefined)) {
        throw new UsageError(`${name} needs exactly one of --run-dir DIR or --model DIR`);
      }
      const source = { ...optional('runDirectory', runDirectory), ...optional('model', model) };
      if (name === 'eval') {
        return {
          command: 'eval',
          ...flags,
          ...source,
          ...optional('scenarios', integerFlag('scenarios', string('scenarios'), 1)),
          ...optional('seed', integerFlag('seed', string('seed'), 0)),
          trustRunModules: values['trust-run-modules'] === true,
        };
      }
      const engine = string('engine');
      if (engine !== undefined && !(chatEngineNames as readonly string[]).includes(engine)) {
        throw new UsageError(
          `--engine must be one of ${chatEngineNames.join(', ')}, got ${JSON.stringify(engine)}`,
        );
      }
      return {
        command: 'chat',
        ...flags,
        ...source,
        ...optional('engine', engine as ChatCommand['engine']),
        ...optional('system', string('system')),
        temperature: numberFlag('temperature', string('temperature'), 0) ?? 0,
        maxNewTokens: integerFlag('max-new-tokens', string('max-new-tokens'), 1) ?? 64,
        seed: integerFlag('seed', string('seed'), 0) ?? 0,
      };
    }
    case 'sft':
      return {
        command: 'sft',
        ...flags,
        ...optional('out', string('out')),
        seed: integerFlag('seed', string('seed'), 0) ?? 0,
        ...optional('steps', integerFlag('steps', string('steps'), 1)),
        ...optional('dialogues', integerFlag('dialogues', string('dialogues'), 1)),
        ...optional('vocabSize', integerFlag('vocab-size', string('vocab-size'), 300)),
      };
    case 'export': {
      const runDirectory = string('run-dir');
      const model = string('model');
      if ((runDirectory === undefined) === (model === undefined)) {
        throw new UsageError('export needs exactly one of --run-dir DIR or --model DIR');
      }
      if (string('adapter') !== undefined && model === undefined) {
        throw new UsageError('--adapter merges into --model DIR; a run exports its own adapters');
      }
      const out = string('out');
      if (out === undefined) throw new UsageError('export needs --out DIR');
      const dtype = (string('dtype') ?? 'f32').toUpperCase();
      if (!(exportDtypes as readonly string[]).includes(dtype)) {
        throw new UsageError(
          `--dtype must be one of f32, bf16, f16, got ${JSON.stringify(string('dtype'))}`,
        );
      }
      return {
        command: 'export',
        ...flags,
        ...optional('runDirectory', runDirectory),
        ...optional('model', model),
        ...optional('adapter', string('adapter')),
        out,
        dtype: dtype as ExportCommand['dtype'],
      };
    }
    case 'report': {
      const [runDirectory, ...extra] = parsed.positionals;
      if (runDirectory === undefined)
        throw new UsageError('report needs a run directory: agent-trainer report RUN_DIR');
      if (extra.length > 0)
        throw new UsageError(`report takes one run directory, got extra ${JSON.stringify(extra)}`);
      return { command: 'report', ...flags, runDirectory };
    }
    case 'console':
      return parseConsoleCommand(values, parsed.positionals, flags);
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
