import { describe, expect, it } from 'vitest';
import { processIo } from './cli-io';
import { helpText, parseCommandLine } from './command-line';
import { sftCommand } from './commands/sft-command';
import { UsageError } from './exit-codes';

function usageMessage(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(UsageError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseCommandLine', () => {
  it('parses the model flags of train, chat and export', () => {
    expect(parseCommandLine(['train', '--model', 'models/tiny-qwen2'])).toMatchObject({
      command: 'train',
      model: 'models/tiny-qwen2',
    });
    expect(
      parseCommandLine(['chat', '--model', 'out', '--engine', 'transformers.js']),
    ).toMatchObject({ command: 'chat', model: 'out', engine: 'transformers.js' });
    expect(parseCommandLine(['export', '--run-dir', 'r', '--out', 'o'])).toEqual({
      command: 'export',
      runDirectory: 'r',
      out: 'o',
      dtype: 'F32',
      json: false,
      verbose: false,
    });
    expect(
      parseCommandLine([
        'export',
        '--model',
        'm',
        '--adapter',
        'a',
        '--out',
        'o',
        '--dtype',
        'bf16',
        '--json',
      ]),
    ).toEqual({
      command: 'export',
      model: 'm',
      adapter: 'a',
      out: 'o',
      dtype: 'BF16',
      json: true,
      verbose: false,
    });
  });

  it('parses train flags', () => {
    expect(
      parseCommandLine([
        'train',
        '--config',
        'a.yaml',
        '--preset',
        'aggressive',
        '--steps',
        '5',
        '--json',
        '--run-dir',
        'r',
      ]),
    ).toEqual({
      command: 'train',
      config: 'a.yaml',
      preset: 'aggressive',
      steps: 5,
      runDirectory: 'r',
      json: true,
      verbose: false,
      dryRun: false,
      trustRunModules: false,
    });
    expect(parseCommandLine(['train'])).toEqual({
      command: 'train',
      json: false,
      verbose: false,
      dryRun: false,
      trustRunModules: false,
    });
    expect(
      parseCommandLine(['train', '--resume', 'runs/x', '--trust-run-modules', '--dry-run']),
    ).toMatchObject({ resume: 'runs/x', dryRun: true, trustRunModules: true });
    expect(parseCommandLine(['train', '--resume', 'runs/x', '--verbose'])).toMatchObject({
      resume: 'runs/x',
      verbose: true,
    });
  });

  it('gives help for no arguments, --help, help COMMAND and COMMAND --help', () => {
    expect(parseCommandLine([])).toMatchObject({ command: 'help' });
    expect(parseCommandLine(['--help'])).toMatchObject({ command: 'help' });
    expect(parseCommandLine(['help', 'sft'])).toMatchObject({ command: 'help', topic: 'sft' });
    expect(parseCommandLine(['eval', '--help'])).toMatchObject({ command: 'help', topic: 'eval' });
    expect(helpText()).toMatch(
      /Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 130 interrupted/,
    );
  });

  it('parses eval, chat, sft and report', () => {
    expect(parseCommandLine(['eval', '--model', 'm', '--scenarios', '3'])).toEqual({
      command: 'eval',
      model: 'm',
      scenarios: 3,
      json: false,
      verbose: false,
      trustRunModules: false,
    });
    expect(parseCommandLine(['eval', '--run-dir', 'r', '--seed', '9'])).toMatchObject({
      seed: 9,
    });
    expect(parseCommandLine(['chat', '--run-dir', 'r', '--temperature', '0.7'])).toMatchObject({
      command: 'chat',
      runDirectory: 'r',
      temperature: 0.7,
      maxNewTokens: 64,
      seed: 0,
    });
    expect(parseCommandLine(['sft', '--out', 'o', '--seed', '3', '--steps', '10'])).toMatchObject({
      command: 'sft',
      family: 'gpt2',
      out: 'o',
      seed: 3,
      steps: 10,
    });
    expect(parseCommandLine(['sft', '--family', 'llama', '--dialogues', '40'])).toMatchObject({
      command: 'sft',
      family: 'llama',
      dialogues: 40,
    });
    expect(() => parseCommandLine(['sft', '--family', 'gpt3'])).toThrow(
      'must be one of gpt2, llama, got "gpt3"',
    );
    expect(
      parseCommandLine([
        'sft',
        '--family',
        'llama',
        '--hidden-size',
        '128',
        '--layers',
        '3',
        '--batch-size',
        '8',
        '--learning-rate',
        '0.002',
        '--probe-every',
        '50',
        '--loss-on',
        'all',
      ]),
    ).toMatchObject({
      hiddenSize: 128,
      layers: 3,
      batchSize: 8,
      learningRate: 0.002,
      probeEvery: 50,
      lossOn: 'all',
    });
    expect(() => parseCommandLine(['sft', '--layers', '0'])).toThrow(
      'must be an integer >= 1, got "0"',
    );
    expect(parseCommandLine(['report', 'runs/x'])).toMatchObject({
      command: 'report',
      runDirectory: 'runs/x',
    });
  });

  it('parses gateway flags, with loopback and no key by default', () => {
    expect(parseCommandLine(['gateway', '--config', 'run.yaml'])).toEqual({
      command: 'gateway',
      config: 'run.yaml',
      host: '127.0.0.1',
      port: 0,
      servedModel: 'cohort-policy',
      groupTimeoutSeconds: 600,
      trustRunModules: false,
      json: false,
      verbose: false,
    });
    expect(
      parseCommandLine([
        'gateway',
        '--resume',
        'runs/a',
        '--host',
        '0.0.0.0',
        '--port',
        '8000',
        '--api-key',
        'a-key-of-16-chars',
        '--served-model',
        'desk',
        '--group-timeout',
        '30',
        '--steps',
        '9',
      ]),
    ).toMatchObject({
      resume: 'runs/a',
      host: '0.0.0.0',
      port: 8000,
      apiKey: 'a-key-of-16-chars',
      servedModel: 'desk',
      groupTimeoutSeconds: 30,
      steps: 9,
    });
    expect(usageMessage(['gateway', '--api-key', 'short'])).toBe(
      '--api-key must be at least 16 characters, got 5',
    );
    expect(usageMessage(['gateway', '--port', '70000'])).toMatch(/^--port must be an integer/);
    expect(usageMessage(['gateway', '--resume', 'r', '--config', 'c'])).toBe(
      '--resume takes the config from the run directory; drop --config',
    );
  });

  it('refuses bad usage with one clear message', () => {
    expect(usageMessage(['trian'])).toBe(
      'unknown command "trian"; commands: train, gateway, eval, chat, export, sft, report, console, worker (see --help)',
    );
    expect(usageMessage(['train', '--stepz', '3'])).toMatch(/^train: Unknown option '--stepz'/);
    expect(usageMessage(['train', '--steps', '0'])).toBe(
      '--steps must be an integer >= 1, got "0"',
    );
    expect(usageMessage(['train', '--steps', '2.5'])).toBe(
      '--steps must be an integer >= 1, got "2.5"',
    );
    expect(usageMessage(['train', '--preset', 'fast'])).toBe(
      '--preset must be one of conservative, balanced, aggressive, got "fast"',
    );
    expect(usageMessage(['train', '--resume', 'r', '--config', 'c'])).toMatch(
      /--resume takes the config from the run directory/,
    );
    expect(usageMessage(['eval'])).toBe('eval needs exactly one of --run-dir DIR or --model DIR');
    expect(usageMessage(['chat', '--run-dir', 'a', '--model', 'b'])).toBe(
      'chat needs exactly one of --run-dir DIR or --model DIR',
    );
    expect(usageMessage(['chat', '--model', 'm', '--temperature', 'hot'])).toBe(
      '--temperature must be a number >= 0, got "hot"',
    );
    expect(usageMessage(['train', '--resume', 'r', '--model', 'm'])).toMatch(
      /--resume takes the model from the run directory/,
    );
    expect(usageMessage(['chat', '--model', 'm', '--engine', 'onnx'])).toBe(
      '--engine must be one of tfjs, transformers.js, got "onnx"',
    );
    expect(usageMessage(['export', '--out', 'o'])).toBe(
      'export needs exactly one of --run-dir DIR or --model DIR',
    );
    expect(usageMessage(['export', '--run-dir', 'r'])).toBe('export needs --out DIR');
    expect(usageMessage(['export', '--run-dir', 'r', '--adapter', 'a', '--out', 'o'])).toMatch(
      /--adapter merges into --model DIR/,
    );
    expect(usageMessage(['export', '--model', 'm', '--out', 'o', '--dtype', 'f64'])).toBe(
      '--dtype must be one of f32, bf16, f16, got "f64"',
    );
    expect(usageMessage(['report'])).toMatch(/report needs a run directory/);
    expect(usageMessage(['report', 'a', 'b'])).toMatch(/extra/);
    expect(usageMessage(['eval', 'stray', '--model', 'm'])).toMatch(
      /^eval: Unexpected argument 'stray'/,
    );
  });
});

describe('sft --family gpt2 with a Llama-only flag', () => {
  it('is refused before any work, naming the flag and its value', async () => {
    const command = parseCommandLine(['sft', '--hidden-size', '96']);
    if (command.command !== 'sft') throw new Error('expected sft');
    const io = processIo();
    await expect(sftCommand(command, io)).rejects.toThrow(
      '--hidden-size 96 applies only to sft --family llama',
    );
    await expect(sftCommand(command, io)).rejects.toBeInstanceOf(UsageError);
    const onnx = parseCommandLine(['sft', '--engine', 'onnx']);
    if (onnx.command !== 'sft') throw new Error('expected sft');
    await expect(sftCommand(onnx, io)).rejects.toThrow(
      '--engine onnx applies only to sft --family llama',
    );
    expect(usageMessage(['sft', '--family', 'llama', '--engine', 'gpu'])).toBe(
      '--engine must be one of tfjs, onnx, got "gpu"',
    );
    const parsed = parseCommandLine(['sft', '--family', 'llama', '--engine', 'onnx']);
    expect(parsed.command === 'sft' && parsed.engine).toBe('onnx');
    const pairs = parseCommandLine(['sft', '--digit-pairs']);
    if (pairs.command !== 'sft') throw new Error('expected sft');
    await expect(sftCommand(pairs, io)).rejects.toThrow(
      '--digit-pairs true applies only to sft --family llama',
    );
    expect(
      parseCommandLine(['sft', '--family', 'llama', '--digit-pairs', '--copy-loss-weight', '5']),
    ).toMatchObject({ digitPairs: true, copyLossWeight: 5 });
    const plain = parseCommandLine(['sft', '--family', 'llama']);
    if (plain.command !== 'sft') throw new Error('expected sft');
    expect([plain.digitPairs, plain.copyLossWeight]).toEqual([undefined, undefined]);
    expect(usageMessage(['sft', '--family', 'llama', '--copy-loss-weight', '0.5'])).toMatch(
      /--copy-loss-weight.*0\.5/,
    );
  });

  it('parses the weight of decisions after a read (at least 1) and random products, llama only', async () => {
    expect(
      parseCommandLine(['sft', '--family', 'llama', '--decision-loss-weight', '20']),
    ).toMatchObject({ decisionLossWeight: 20 });
    const plain = parseCommandLine(['sft', '--family', 'llama']);
    if (plain.command !== 'sft') throw new Error('expected sft');
    expect(plain.decisionLossWeight).toBeUndefined();
    expect(usageMessage(['sft', '--family', 'llama', '--decision-loss-weight', '0.5'])).toMatch(
      /--decision-loss-weight.*0\.5/,
    );
    expect(usageMessage(['sft', '--family', 'llama', '--decision-loss-weight', '101'])).toMatch(
      /--decision-loss-weight.*101/,
    );
    expect(parseCommandLine(['sft', '--family', 'llama', '--random-products'])).toMatchObject({
      randomProducts: true,
    });
    expect(plain.randomProducts).toBeUndefined();
    const gpt2Products = parseCommandLine(['sft', '--random-products']);
    if (gpt2Products.command !== 'sft') throw new Error('expected sft');
    await expect(sftCommand(gpt2Products, processIo())).rejects.toThrow(
      '--random-products true applies only to sft --family llama',
    );
    expect(parseCommandLine(['sft', '--family', 'llama', '--random-policies'])).toMatchObject({
      randomPolicies: true,
    });
    expect(plain.randomPolicies).toBeUndefined();
    const gpt2Policies = parseCommandLine(['sft', '--random-policies']);
    if (gpt2Policies.command !== 'sft') throw new Error('expected sft');
    await expect(sftCommand(gpt2Policies, processIo())).rejects.toThrow(
      '--random-policies true applies only to sft --family llama',
    );
    expect(parseCommandLine(['sft', '--family', 'llama', '--random-prices'])).toMatchObject({
      randomPrices: true,
    });
    expect(plain.randomPrices).toBeUndefined();
    const gpt2Prices = parseCommandLine(['sft', '--random-prices']);
    if (gpt2Prices.command !== 'sft') throw new Error('expected sft');
    await expect(sftCommand(gpt2Prices, processIo())).rejects.toThrow(
      '--random-prices true applies only to sft --family llama',
    );
    expect(parseCommandLine(['sft', '--family', 'llama', '--decision-basis'])).toMatchObject({
      decisionBasis: true,
    });
    expect(plain.decisionBasis).toBeUndefined();
    const gpt2Basis = parseCommandLine(['sft', '--decision-basis']);
    if (gpt2Basis.command !== 'sft') throw new Error('expected sft');
    await expect(sftCommand(gpt2Basis, processIo())).rejects.toThrow(
      '--decision-basis true applies only to sft --family llama',
    );
    const gpt2 = parseCommandLine(['sft', '--decision-loss-weight', '20']);
    if (gpt2.command !== 'sft') throw new Error('expected sft');
    await expect(sftCommand(gpt2, processIo())).rejects.toThrow(
      '--decision-loss-weight 20 applies only to sft --family llama',
    );
  });

  it('parses the email share of the copy curriculum and the recovery share, within [0, 1], llama only', async () => {
    expect(
      parseCommandLine([
        'sft',
        '--family',
        'llama',
        '--copy-curriculum-email-share',
        '0.5',
        '--recovery-share',
        '0.25',
      ]),
    ).toMatchObject({ copyCurriculumEmailShare: 0.5, recoveryShare: 0.25 });
    expect(usageMessage(['sft', '--family', 'llama', '--recovery-share', '1.5'])).toMatch(
      /--recovery-share.*1\.5/,
    );
    expect(
      usageMessage(['sft', '--family', 'llama', '--copy-curriculum-email-share', '1.01']),
    ).toMatch(/--copy-curriculum-email-share.*1\.01/);
    const gpt2 = parseCommandLine(['sft', '--recovery-share', '0.2']);
    if (gpt2.command !== 'sft') throw new Error('expected sft');
    await expect(sftCommand(gpt2, processIo())).rejects.toThrow(
      '--recovery-share 0.2 applies only to sft --family llama',
    );
  });
});
