/**
 * Instructions that prompt evolution may insert into, or swap within, the
 * system prompt of a support agent (rule-based mutation draws from them).
 */
export const supportPromptPhrases = [
  'Always name the order number the customer gave.',
  'Say when the money or the parcel will arrive.',
  'Offer a refund when the order is damaged, late or charged twice.',
  'Give the tracking number when the customer asks about a parcel.',
  'Explain the next step in one short sentence.',
  'Thank the customer and keep answers short.',
  'Use the facts in the context, never invent them.',
  'Ask for the account email when a password must be reset.',
] as const;
