import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, type RewardContext } from '@cohort/core';
import { humanFeedbackReward } from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { FeedbackBroker } from './feedback-broker';

const question = {
  kind: 'choose' as const,
  prompt: 'You are a support agent.',
  query: 'Where is my refund?',
  candidates: ['Refund issued.', 'Please wait.', 'No.'],
};

describe('FeedbackBroker', () => {
  it('maps a pick of the best to the reward of each choice, and stores who and when', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-feedback-'));
    const broker = await FeedbackBroker.open({ runDirectory: directory });
    const reward = broker.candidateReward();
    const input = { ...question, response: '' };
    // Two decisions sampled for one query share one question.
    const rewards = Promise.all([
      reward({ ...input, chosenIndex: 0 }),
      reward({ ...input, chosenIndex: 2 }),
    ]);
    await Promise.resolve();
    expect(broker.pending()).toHaveLength(1);
    const [item] = broker.pending();
    await broker.rate({ itemId: item!.id, answer: 2, who: ' ada ' });
    expect(await rewards).toEqual([0, 1]);
    expect(broker.pending()).toEqual([]);
    const [line] = (await readFile(broker.file, 'utf8')).trim().split('\n');
    const stored = JSON.parse(line!);
    const { kind: _kind, ...asked } = question;
    expect(stored).toMatchObject({
      ...asked,
      kind: 'rating',
      itemId: item!.id,
      answer: 2,
      who: 'ada',
      itemKind: 'choose',
    });
    expect(Date.now() - Date.parse(stored.time)).toBeLessThan(60_000);
  });

  it('answers a question rated before a restart from the file, and skips give null', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-feedback-'));
    const first = await FeedbackBroker.open({ runDirectory: directory });
    const skipped = { ...question, query: 'Something else?' };
    const answers = Promise.all([first.request(question), first.request(skipped)]);
    const [a, b] = first.pending();
    await first.rate({ itemId: a!.id, answer: 0, who: 'ada' });
    await first.rate({ itemId: b!.id, answer: null, who: 'ada' });
    await answers;
    // A crash mid-append leaves a broken last line; it is ignored.
    await appendFile(first.file, '{"kind":"rating","itemId":"zz');
    const second = await FeedbackBroker.open({ runDirectory: directory });
    expect(second.ratings().map((rating) => rating.answer)).toEqual([0, null]);
    const reward = second.candidateReward();
    expect(await reward({ ...question, response: '', chosenIndex: 0 })).toBe(1);
    expect(await reward({ ...skipped, response: '', chosenIndex: 0 })).toBeNull();
    expect(second.pending()).toEqual([]);
  });

  it('withdraws a choose question not answered within timeoutMs: its decisions score null', async () => {
    const broker = await FeedbackBroker.open({
      runDirectory: await mkdtemp(path.join(tmpdir(), 'cohort-feedback-')),
    });
    const reward = broker.candidateReward({ timeoutMs: 50 });
    const input = { ...question, response: '' };
    const rewards = Promise.all([
      reward({ ...input, chosenIndex: 0 }),
      reward({ ...input, chosenIndex: 1 }),
    ]);
    await Promise.resolve();
    expect(broker.pending()).toHaveLength(1);
    expect(await rewards).toEqual([null, null]);
    expect(broker.pending()).toEqual([]);
    // Answered in time, the same source scores as without a timeout.
    const answered = reward({ ...input, chosenIndex: 1 });
    await Promise.resolve();
    await broker.rate({ itemId: broker.pending()[0]!.id, answer: 1, who: 'ada' });
    expect(await answered).toBe(1);
    expect(() => broker.candidateReward({ timeoutMs: 0 })).toThrow(/timeoutMs = 0/);
  });

  it('scores a single reply in [0, 1]', async () => {
    const broker = await FeedbackBroker.open({
      runDirectory: await mkdtemp(path.join(tmpdir(), 'cohort-feedback-')),
    });
    const answer = broker.request({ kind: 'score', prompt: '', query: 'q', candidates: ['reply'] });
    const [item] = broker.pending();
    await expect(broker.rate({ itemId: item!.id, answer: 1.5, who: 'x' })).rejects.toThrow(
      /answer = 1.5: must be a score in \[0, 1\]/,
    );
    await broker.rate({ itemId: item!.id, answer: 0.75, who: 'x' });
    expect((await answer).answer).toBe(0.75);
  });

  it('names the field of every bad input, and one answer wins a race', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-feedback-'));
    const broker = await FeedbackBroker.open({ runDirectory: directory });
    expect(() => broker.request({ ...question, candidates: ['only one'] })).toThrow(
      /candidates.*at least 2 strings/,
    );
    await expect(FeedbackBroker.open({ runDirectory: '' })).rejects.toSatisfy(
      InvalidArgumentError.isInstance,
    );
    void broker.request(question);
    const [item] = broker.pending();
    for (const [input, message] of [
      [{ itemId: item!.id, answer: -1, who: 'a' }, /answer = -1/],
      [{ itemId: item!.id, answer: 0.5, who: 'a' }, /answer = 0.5/],
      [{ itemId: item!.id, answer: 0, who: '   ' }, /who = " {3}"/],
      [{ itemId: item!.id, answer: 0, who: 'x'.repeat(81) }, /who = /],
      [{ itemId: 'nope', answer: 0, who: 'a' }, /itemId = "nope": is not a question/],
    ] as const) {
      await expect(broker.rate(input)).rejects.toThrow(message);
    }
    const results = await Promise.allSettled([
      broker.rate({ itemId: item!.id, answer: 0, who: 'ada' }),
      broker.rate({ itemId: item!.id, answer: 1, who: 'bob' }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
    expect((await readFile(broker.file, 'utf8')).trim().split('\n')).toHaveLength(1);
    await expect(broker.rate({ itemId: item!.id, answer: 0, who: 'ada' })).rejects.toThrow(
      /was already rated/,
    );
  });

  it('is the ask of humanFeedbackReward: a score question per turn, withdrawn on timeout', async () => {
    const broker = await FeedbackBroker.open({
      runDirectory: await mkdtemp(path.join(tmpdir(), 'cohort-feedback-')),
    });
    const context = (completion: string): RewardContext<unknown> => ({
      scenario: {},
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi?' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Refund?' },
        { role: 'assistant', content: completion },
      ],
      completion,
      turnIndex: 1,
      done: true,
      completionTokenCount: 3,
    });
    const reward = humanFeedbackReward({
      ask: broker.askForFeedback(),
      range: [0, 1],
      timeoutMs: 5_000,
    });
    const score = reward.score(context('Refund issued.'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    const [item] = broker.pending();
    expect(item).toMatchObject({
      kind: 'score',
      prompt: 'Be brief.',
      query: 'Refund?',
      candidates: ['Refund issued.'],
    });
    await broker.rate({ itemId: item!.id, answer: 0.75, who: 'ada' });
    expect(await score).toBe(0.75);

    const impatient = humanFeedbackReward({ ask: broker.askForFeedback(), timeoutMs: 30 });
    expect(await impatient.score(context('No.'))).toBeNull();
    expect(impatient.stats.timedOut).toBe(1);
    expect(broker.pending()).toEqual([]);
  });

  it('gathers the G replies of a group into one question, gives each its score, and keeps them across a restart', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cohort-feedback-'));
    const scenarioA = { id: 'a' };
    const scenarioB = { id: 'b' };
    const context = (scenario: object, completion: string, turns = 1): RewardContext<unknown> => ({
      scenario,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Refund?' },
        ...(turns > 1
          ? [
              { role: 'assistant' as const, content: 'Which order?' },
              { role: 'user' as const, content: 'Order 7.' },
            ]
          : []),
        { role: 'assistant', content: completion },
      ],
      completion,
      turnIndex: turns - 1,
      done: true,
      completionTokenCount: 2,
    });
    const first = await FeedbackBroker.open({ runDirectory: directory });
    const reward = humanFeedbackReward({
      ask: first.askGroupForFeedback({ groupSize: 3, gatherMs: 5_000 }),
      range: [0, 1],
    });
    // Two groups asked at once: each is one question as soon as its 3 replies are in.
    const scoresA = Promise.all(
      ['Yes.', 'No.', 'Done.'].map((text) => reward.score(context(scenarioA, text))),
    );
    const scoresB = Promise.all([
      reward.score(context(scenarioB, 'Refunded.', 2)),
      reward.score(context(scenarioB, 'Hm.')),
      reward.score(context(scenarioB, 'Bye.')),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const [itemA, itemB] = first.pending();
    expect(itemA).toMatchObject({
      kind: 'group',
      prompt: 'Be brief.',
      query: 'Refund?',
      candidates: ['Yes.', 'No.', 'Done.'],
    });
    // A reply of several agent turns shows its exchange after the opening message.
    expect(itemB!.candidates).toEqual([
      'agent: Which order?\nuser: Order 7.\nagent: Refunded.',
      'Hm.',
      'Bye.',
    ]);
    for (const [answer, message] of [
      [[0.5, 1], /answer = an array of length 2: must be 3 scores in \[0, 1\]/],
      [[0.5, 1, 2], /answer = an array of length 3: must be 3 scores/],
      [0.5, /answer = 0.5/],
    ] as const) {
      await expect(
        first.rate({ itemId: itemA!.id, answer: answer as unknown as number[], who: 'ada' }),
      ).rejects.toThrow(message);
    }
    await first.rate({ itemId: itemA!.id, answer: [1, 0, 0.25], who: 'ada' });
    await first.rate({ itemId: itemB!.id, answer: null, who: 'ada' });
    expect(await scoresA).toEqual([1, 0, 0.25]);
    expect(await scoresB).toEqual([null, null, null]);
    expect(reward.stats).toMatchObject({ asked: 6, answered: 3, skipped: 3 });

    // A resumed session asks nothing already rated; a group that never fills is asked with what came.
    const second = await FeedbackBroker.open({ runDirectory: directory });
    const again = second.askGroupForFeedback({ groupSize: 3, gatherMs: 20 });
    const signal = new AbortController().signal;
    expect(
      await Promise.all(
        ['Yes.', 'No.', 'Done.'].map((text) => again(context(scenarioA, text), { signal })),
      ),
    ).toEqual([1, 0, 0.25]);
    const partial = Promise.all(
      ['Sure.', 'Nope.'].map((text) => again(context(scenarioB, text), { signal })),
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
    const [item] = second.pending();
    expect(item).toMatchObject({ kind: 'group', candidates: ['Sure.', 'Nope.'] });
    await second.rate({ itemId: item!.id, answer: [0.75, 0.5], who: 'bob' });
    expect(await partial).toEqual([0.75, 0.5]);
    expect(() => second.askGroupForFeedback({ groupSize: 1 })).toThrow(
      /groupSize = 1: must be an integer >= 2/,
    );
    expect(() => second.askGroupForFeedback({ groupSize: 2, gatherMs: -1 })).toThrow(
      /gatherMs = -1/,
    );
  });
});
