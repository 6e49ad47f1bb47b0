import { describe, expect, it } from 'vitest';
import { replyDiversity } from './reply-diversity';

describe('replyDiversity', () => {
  it('counts distinct n-grams and the most frequent reply, by hand', () => {
    const result = replyDiversity([
      'Can I have your order number?',
      '  can i  have your ORDER number? ',
      'Done.',
      '',
    ]);
    // Words: 6 + 6 + 1 = 13, distinct {can, i, have, your, order, number?, done.} = 7.
    // Bigrams: 5 + 5 + 0 = 10, distinct 5.
    expect(result).toEqual({
      replies: 4,
      distinct1: 7 / 13,
      distinct2: 5 / 10,
      topReplyShare: 2 / 4,
      topReply: 'can i have your order number?',
      emptyShare: 1 / 4,
    });
  });

  it('gives 1 for all-different replies, the share of a stock reply for a degenerate policy, and zeros for no replies', () => {
    expect(replyDiversity(['a b', 'c d'])).toMatchObject({
      distinct1: 1,
      distinct2: 1,
      topReplyShare: 0.5,
    });
    const stock = replyDiversity([
      ...Array(9).fill('Anything else?'),
      'Your refund is on its way.',
    ]);
    expect(stock.topReplyShare).toBeCloseTo(0.9, 12);
    expect(stock.topReply).toBe('anything else?');
    // 9 x 2 + 6 = 24 words; distinct: anything, else?, your, refund, is, on, its, way. = 8.
    expect(stock.distinct1).toBeCloseTo(8 / 24, 12);
    expect(replyDiversity([])).toEqual({
      replies: 0,
      distinct1: 0,
      distinct2: 0,
      topReplyShare: 0,
      topReply: '',
      emptyShare: 0,
    });
  });
});
