import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createSupportDeskEnvironment,
  supportDeskTasks,
  supportDeskUserPrompt,
} from '@cohort/environments';
import { exportLlamaToOnnx } from '@cohort/tfjs';
import { loadLlamaModel, writeTinyLlamaFolder } from '@cohort/tfjs/node';

/**
 * Writes a tiny random Llama for the support desk's tests (width 32, 2
 * layers, context 1024) whose tokenizer is trained on the desk's agent
 * system prompts, openings and customer prompts, so a whole task fits; with
 * `onnx`, also its ONNX graph (`onnx/model.onnx`), so transformers.js loads
 * the same folder. Returns the tokenizer.
 */
export async function writeTinySupportDeskLlama(
  directory: string,
  options: { seed: number; onnx?: boolean },
) {
  const environment = createSupportDeskEnvironment({ toolPrompt: 'compact' });
  const texts: string[] = [];
  for (const task of supportDeskTasks({ split: 'train', count: 6 })) {
    const episode = await environment.reset({ scenario: task, seed: 0 });
    const customer = supportDeskUserPrompt({
      task,
      messages: [],
      stopMarker: '###STOP###',
      historyMessages: 1,
    });
    texts.push(episode.messages[0]!.content, task.user.opening, customer[0]!.content);
  }
  const { tokenizer } = await writeTinyLlamaFolder(directory, {
    config: {
      modelType: 'llama',
      hiddenSize: 32,
      intermediateSize: 48,
      layerCount: 2,
      headCount: 4,
      keyValueHeadCount: 2,
      contextLength: 1024,
    },
    seed: options.seed,
    texts,
    tokenizerVocabSize: 900,
  });
  if (options.onnx) {
    const model = await loadLlamaModel(directory);
    await mkdir(path.join(directory, 'onnx'));
    await writeFile(
      path.join(directory, 'onnx', 'model.onnx'),
      exportLlamaToOnnx({ config: model.config, weights: model.getWeights({ merged: true }) }),
    );
    model.dispose();
  }
  return { tokenizer };
}
