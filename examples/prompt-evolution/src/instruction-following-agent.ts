import type { Message, Scenario } from '@cohort/core';
import { referenceAgentReply } from '@cohort/environments';

/** Instructions that make the agent better at some of the support criteria. */
export const skillInstructions: Readonly<Record<string, readonly string[]>> = {
  'Quote the order number the customer gave.': ['reference-order'],
  'Offer a refund, a return label or a cancellation when it fits.': [
    ...['offer-refund', 'refund-timeline', 'return-label', 'duplicate-charge', 'cancel-order'],
  ],
  'Give the tracking number, the carrier and the delivery day.': [
    ...['tracking-number', 'delivery-day', 'carrier', 'update-address', 'confirmation-email'],
    ...[
      'apologize',
      'offer-express',
      'open-investigation',
      'replacement',
      'investigation-timeline',
    ],
  ],
  'Walk the customer through troubleshooting steps.': [
    ...['power-cable', 'hold-power', 'warranty', 'restart-router', 'update-firmware'],
    ...['forget-network', 'update-app', 'clear-cache', 'reinstall', 'reference-error', 'restart'],
    ...['backup', 'factory-reset'],
  ],
  'Help the customer get back into their account.': [
    ...['reset-password', 'email-on-file', 'link-expiry', 'unlock', 'verify-identity', 'wait-time'],
    ...['account-settings', 'verification-code', 'confirm-current-email', 'change-password'],
    ...['enable-two-factor', 'sign-out-everywhere'],
  ],
};

/** Instructions that only make every reply longer. */
export const distractorInstructions: Readonly<Record<string, string>> = {
  'Use lots of emojis.': '😀 🎉 🙌 ✨ 💯 🚀',
  'Tell the customer about the history of our company.':
    'Founded in a small garage in 1998, our company has grown into a family of more than two thousand people who love what they do.',
  'Remind the customer to rate this conversation.':
    'Please remember to rate this conversation from one to five stars afterwards.',
  'Talk about the weather.': 'By the way, the weather has been lovely this week, has it not?',
};

/**
 * A stand-in for an instruction-following LLM, so that the example runs in a
 * second: a fixed, deterministic agent that does what its system prompt says.
 * Each skill instruction in the prompt lets it address some success criteria
 * (it then speaks like the scripted reference agent of `@cohort/environments`);
 * each distractor instruction pads every reply. Without a useful instruction
 * it only asks how it can help.
 */
export function instructionFollowingReply(
  systemPrompt: string,
  scenario: Scenario,
  messages: readonly Message[],
): string {
  const prompt = systemPrompt.toLowerCase();
  const follows = (instruction: string) => prompt.includes(instruction.toLowerCase());
  const allowed = new Set(
    Object.entries(skillInstructions).flatMap(([instruction, ids]) =>
      follows(instruction) ? ids : [],
    ),
  );
  const criteria = scenario.successCriteria.filter((criterion) => allowed.has(criterion.id));
  const parts = [
    criteria.length > 0
      ? referenceAgentReply({ ...scenario, successCriteria: criteria }, messages, {
          criteriaPerTurn: 2,
        })
      : 'Thank you for your message. How can I help you today?',
  ];
  for (const [instruction, padding] of Object.entries(distractorInstructions)) {
    if (follows(instruction)) parts.push(padding);
  }
  return parts.join(' ');
}
