import type { Tokenizer } from '@cohort/core';

/**
 * The `generation_config.json` object of an exported chat model: the model's
 * end of sequence, the tokenizer's end of text and its end of turn all stop
 * generation (transformers.js stops on any id of a list), and the tokenizer's
 * pad id pads batches.
 */
export function generationConfigFor(
  model: { bosTokenId: number; eosTokenId: number },
  tokenizer: Pick<Tokenizer, 'eosTokenId' | 'padTokenId' | 'endOfTurnTokenId'>,
): Record<string, unknown> {
  const stopIds = [
    ...new Set([
      model.eosTokenId,
      tokenizer.eosTokenId,
      ...(tokenizer.endOfTurnTokenId === undefined ? [] : [tokenizer.endOfTurnTokenId]),
    ]),
  ];
  return {
    bos_token_id: model.bosTokenId,
    eos_token_id: stopIds.length === 1 ? stopIds[0] : stopIds,
    pad_token_id: tokenizer.padTokenId,
  };
}
