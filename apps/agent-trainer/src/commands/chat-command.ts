import { createInterface } from 'node:readline';
import type { Message } from '@cohort/core';
import { defaultSupportSystemPrompt } from '@cohort/environments';
import { initializeBackend } from '@cohort/tfjs';
import { replyTo } from '../chat-reply';
import type { CliIo } from '../cli-io';
import type { ChatCommand } from '../command-line';
import { type ExitCode, exitCodes } from '../exit-codes';
import { loadModelSource } from './model-source';

/**
 * `agent-trainer chat`: a conversation with the agent in the terminal. Each
 * line on stdin is a user message; the agent's reply is printed on stdout.
 * Works with piped stdin; `/reset` starts over, `/exit` or end of input ends.
 */
export async function chatCommand(command: ChatCommand, io: CliIo): Promise<ExitCode> {
  await initializeBackend({ logger: false });
  const model = await loadModelSource(command);
  const { systemPrompt } = model;
  const system = command.system ?? systemPrompt ?? defaultSupportSystemPrompt;
  let messages: Message[] = [{ role: 'system', content: system }];
  const interactive = (io.stdin as { isTTY?: boolean }).isTTY === true && !command.json;
  if (interactive)
    io.stderr.write('chat with the agent; /reset starts over, /exit or Ctrl-D ends\n');
  const lines = createInterface({ input: io.stdin, terminal: false });
  let turn = 0;
  if (interactive) io.stderr.write('you> ');
  for await (const raw of lines) {
    const line = raw.trim();
    if (line === '/exit') break;
    if (line === '/reset') {
      messages = [{ role: 'system', content: system }];
      if (interactive) io.stderr.write('(conversation reset)\nyou> ');
      continue;
    }
    if (line === '') {
      if (interactive) io.stderr.write('you> ');
      continue;
    }
    messages.push({ role: 'user', content: line });
    const reply = await replyTo({
      model,
      messages,
      maxNewTokens: command.maxNewTokens,
      temperature: command.temperature,
      seed: command.seed + turn,
    });
    messages.push({ role: 'assistant', content: reply });
    turn++;
    if (command.json)
      io.stdout.write(`${JSON.stringify({ type: 'reply', user: line, agent: reply })}\n`);
    else io.stdout.write(`${interactive ? 'agent> ' : ''}${reply}\n`);
    if (interactive) io.stderr.write('you> ');
  }
  // Leaving the loop does not release a terminal's stdin: it stays open and keeps the
  // process alive after /exit (only Ctrl-D ended it). Close and release it.
  lines.close();
  const stdin = io.stdin as NodeJS.ReadableStream & { unref?: () => void };
  stdin.pause();
  stdin.unref?.();
  model.dispose();
  return exitCodes.ok;
}
