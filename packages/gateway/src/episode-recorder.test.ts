import { fileURLToPath } from 'node:url';
import type { Message } from '@cohort/core';
import { formatToolCalls } from '@cohort/environments';
import type { BpeTokenizer } from '@cohort/tfjs';
import { loadBpeTokenizer } from '@cohort/tfjs/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { EpisodeRecorder, episodeTrajectories } from './episode-recorder';

const modelDirectory = fileURLToPath(
  new URL('../../../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);

describe('EpisodeRecorder across tool turns', () => {
  let tokenizer: BpeTokenizer;
  beforeAll(async () => {
    tokenizer = await loadBpeTokenizer(modelDirectory);
  });

  const opening: Message[] = [
    { role: 'system', content: 'You are a support agent.' },
    { role: 'user', content: 'Where is order A5760?' },
  ];
  const call = { name: 'get_order', arguments: { order_id: 'A5760', verbose: true } };

  function recordToolCall(recorder: EpisodeRecorder) {
    const placement = recorder.place('e', opening, [null, null]);
    const rawText = formatToolCalls([call], 'hermes');
    // The ids as a policy would have sampled them; a tokenizer-encoded text re-encodes differently on purpose below.
    const sampled = [
      ...tokenizer.encode(rawText),
      tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId,
    ];
    recorder.recordCompletion({
      segment: placement.segment,
      callId: 'chatcmpl-1',
      policyVersion: 4,
      tokenIds: sampled,
      logProbsPerToken: sampled.map((_, index) => -0.01 * (index + 1)),
      rawText,
      echo: { content: '', toolCalls: [call] },
      finishReason: 'tool_calls',
    });
    return { placement, sampled, rawText };
  }

  it('continues the segment when the agent sends the tool call back (any key order) with its result', () => {
    const recorder = new EpisodeRecorder(tokenizer);
    const { placement, sampled, rawText } = recordToolCall(recorder);
    const before = placement.segment.tokens.tokenIds.length;
    const history: Message[] = [
      ...opening,
      { role: 'assistant', content: rawText },
      { role: 'tool', content: '{"status":"shipped"}' },
    ];
    const next = recorder.place('e', history, [
      null,
      null,
      {
        content: '',
        toolCalls: [{ name: 'get_order', arguments: { verbose: true, order_id: 'A5760' } }],
      },
      null,
    ]);
    expect(next.continued).toBe(true);
    expect(next.segment).toBe(placement.segment);
    const tokens = next.segment.tokens;
    const promptLength = tokenizer.applyChatTemplate(opening, { addGenerationPrompt: true }).length;
    // The sampled ids stay as sampled, masked in; the tool result and the next generation prompt come from the template, masked out.
    expect(tokens.tokenIds.slice(promptLength, promptLength + sampled.length)).toEqual(sampled);
    expect(
      tokens.lossMask.slice(promptLength, promptLength + sampled.length).every((bit) => bit === 1),
    ).toBe(true);
    expect(tokens.tokenIds.length).toBeGreaterThan(before);
    expect(tokens.lossMask.slice(before).every((bit) => bit === 0)).toBe(true);
    const rendered = tokenizer.applyChatTemplate(history, { addGenerationPrompt: true });
    expect(tokens.tokenIds.slice(before)).toEqual(
      rendered.slice(rendered.length - (tokens.tokenIds.length - before)),
    );
  });

  it('starts a new segment when the echoed tool call differs, and turns segments into trajectories', () => {
    const recorder = new EpisodeRecorder(tokenizer);
    recordToolCall(recorder);
    const changed = { name: 'get_order', arguments: { order_id: 'A9999', verbose: true } };
    const history: Message[] = [
      ...opening,
      { role: 'assistant', content: formatToolCalls([changed], 'hermes') },
      { role: 'tool', content: 'not found' },
    ];
    const next = recorder.place('e', history, [
      null,
      null,
      { content: '', toolCalls: [changed] },
      null,
    ]);
    expect(next.continued).toBe(false);
    expect(next.segment.index).toBe(1);
    const episode = recorder.episode('e');
    episode.reward = 2;
    const trajectories = episodeTrajectories({
      episode,
      scenarioId: 's',
      seed: 1,
      temperature: 0.7,
    });
    // Only segments with a call of the policy become trajectories.
    expect(trajectories.map((trajectory) => trajectory.id)).toEqual(['e-0']);
    expect(trajectories[0]).toMatchObject({
      policyVersion: 4,
      totalReward: 2,
      endReason: 'external',
      temperature: 0.7,
    });
    expect(trajectories[0]!.behaviorLogProbs.filter((value) => value !== 0)[0]).toBeCloseTo(-0.01);
  });
});
