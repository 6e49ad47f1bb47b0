/**
 * Where a trained tool agent's loss is, teacher-forced, on reference
 * dialogues of the support desk: `node --conditions=@cohort/source --import tsx
 * apps/agent-trainer/dialogue-nats.ts <model folder> [tasks=60] [split=eval]`.
 * The dialogues are rendered as `sft --family llama` renders its training
 * dialogues (the reference agent, the `signatures` tool prompt); `train` uses
 * the training split with random customers, as sft does.
 */
import { Random } from '@cohort/core';
import { generateSupportDeskDialogues, supportDeskTasks } from '@cohort/environments';
import { initializeBackend } from '@cohort/tfjs';
import { loadBpeTokenizer, loadLlamaModel } from '@cohort/tfjs/node';
import {
  dialogueTokenCategories,
  dialogueTokenCategoryNats,
  formatCategoryNats,
} from './src/dialogue-token-categories';
import { withRandomCustomers } from './src/sft-task-variants';
import { toolAgentToolPrompt } from './src/sft-tool-agent';

const [folder, taskArgument = '60', split = 'eval'] = process.argv.slice(2);
if (!folder || (split !== 'eval' && split !== 'train'))
  throw new Error('usage: dialogue-nats.ts <model folder> [tasks] [eval|train]');
await initializeBackend({ logger: false });
const model = await loadLlamaModel(folder);
const tokenizer = await loadBpeTokenizer(folder);
const names = new Random(12345).fork('customers');
const tasks = supportDeskTasks({
  split,
  count: Number(taskArgument),
  seed: split === 'train' ? 987 : undefined,
}).map((task) => (split === 'train' ? withRandomCustomers(task, names) : task));
const dialogues = await generateSupportDeskDialogues({
  tasks,
  seed: 1,
  toolPrompt: toolAgentToolPrompt,
});
const nats = dialogueTokenCategoryNats(
  model,
  dialogues.map((dialogue) => dialogueTokenCategories(dialogue, tokenizer)),
  { padTokenId: tokenizer.padTokenId },
);
console.log(`${folder}: ${dialogues.length} ${split} reference dialogues`);
console.log(formatCategoryNats(nats));
model.dispose();
