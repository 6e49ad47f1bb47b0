import { type CommandRecord, defineCommand } from '../cli-command';
import { choiceFlag, stringFlag } from '../cli-flag';
import { UsageError } from '../exit-codes';

const exportDtypes = ['f32', 'bf16', 'f16'] as const;

/** `export`: a merged Hugging Face folder plus its ONNX graph for transformers.js. */
export const exportCommandLine = defineCommand({
  name: 'export',
  summary:
    "Merges LoRA adapters (a run's newest checkpoint, or a PEFT adapter folder) into a Llama-family model and writes a Hugging Face folder plus `onnx/model.onnx` for transformers.js.",
  description:
    "Merge the LoRA adapters of a Llama-family model (Llama, SmolLM, Qwen2, Qwen3) into its weights and write one folder that both runtimes read: a Hugging Face folder (config.json, model.safetensors, the base's tokenizer files) and onnx/model.onnx in the layout transformers.js loads, so chat --model OUT --engine transformers.js serves it. The source is a run's newest checkpoint, or a model folder with an optional PEFT adapter folder.",
  exactlyOne: ['run-dir', 'model'],
  flags: {
    'run-dir': stringFlag({
      placeholder: 'DIR',
      description: 'a run directory: its newest checkpoint (a LoRA run: the base and its adapters)',
    }),
    model: stringFlag({ placeholder: 'DIR', description: 'a Llama-family model folder' }),
    adapter: stringFlag({
      placeholder: 'DIR',
      description: 'a PEFT LoRA adapter folder merged into --model',
    }),
    out: stringFlag({ placeholder: 'DIR', description: 'the folder to write (required)' }),
    dtype: choiceFlag({
      choices: exportDtypes,
      defaultText: 'f32',
      description: 'element type of model.safetensors (the ONNX graph is float32)',
    }),
  },
  build(values) {
    if (values.adapter !== undefined && values.model === undefined)
      throw new UsageError('--adapter merges into --model DIR; a run exports its own adapters');
    if (values.out === undefined) throw new UsageError('export needs --out DIR');
    return {
      command: 'export' as const,
      runDirectory: values['run-dir'],
      model: values.model,
      adapter: values.adapter,
      out: values.out,
      dtype: (values.dtype ?? 'f32').toUpperCase() as 'F32' | 'BF16' | 'F16',
    };
  },
});

/** `export`: a merged Hugging Face folder plus its ONNX graph for transformers.js. */
export type ExportCommand = CommandRecord<typeof exportCommandLine>;
