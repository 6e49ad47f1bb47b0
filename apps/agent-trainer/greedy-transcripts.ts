/**
 * Greedy held-out episodes of a saved SFT tool agent, with their transcripts:
 * `node --conditions=@cohort/source --import tsx apps/agent-trainer/greedy-transcripts.ts <model folder> [tasks=20] [seed=1]`.
 */
import type { Environment, Scenario } from '@cohort/core';
import { createSupportDeskEnvironment, supportDeskTasks } from '@cohort/environments';
import { initializeBackend } from '@cohort/tfjs';
import { loadBpeTokenizer, loadLlamaModel } from '@cohort/tfjs/node';
import { evaluateModel } from './src/evaluate-model';
import { toolAgentToolPrompt } from './src/sft-tool-agent';

const [folder, taskArgument = '20', seedArgument = '1'] = process.argv.slice(2);
if (!folder) throw new Error('usage: greedy-transcripts.ts <model folder> [tasks] [seed]');
await initializeBackend({ logger: false });
const model = await loadLlamaModel(folder);
const tokenizer = await loadBpeTokenizer(folder);
const tasks = supportDeskTasks({ split: 'eval', count: Number(taskArgument) });
const results = await evaluateModel({
  model,
  tokenizer,
  scenarios: tasks as unknown as Scenario[],
  environment: createSupportDeskEnvironment({
    toolPrompt: toolAgentToolPrompt,
  }) as unknown as Environment<Scenario>,
  reward: 'environment',
  maxNewTokens: 96,
  seed: Number(seedArgument),
});
let solved = 0;
let invented = 0;
for (const [index, result] of results.entries()) {
  const task = tasks[index]!;
  const check = result.info?.supportDesk as
    | { success?: boolean; inventedOrderIds?: string[] }
    | undefined;
  if (check?.success) solved++;
  invented += check?.inventedOrderIds?.length ?? 0;
  console.log(
    `=== ${task.id} kind ${task.kind} email ${task.user.email} order ${task.user.orderId} expected ${JSON.stringify(task.expectedActions)} facts ${JSON.stringify(task.facts)} window ${task.database.policy.returnWindowDays} end ${result.endReason} success ${check?.success}`,
  );
  for (const message of result.messages.slice(1))
    console.log(`${message.role}: ${message.content}`);
}
console.log(`solved ${solved}/${results.length}, invented order ids ${invented}`);
model.dispose();
