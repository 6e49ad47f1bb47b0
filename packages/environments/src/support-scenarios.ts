import {
  InvalidArgumentError,
  parseWithSchema,
  Random,
  type Scenario,
  type ScenarioInput,
  ScenarioSchema,
} from '@cohort/core';

/** The categories of the built-in customer-support scenarios. */
export const supportCategories = ['refunds', 'shipping', 'technical', 'account'] as const;

/** One built-in customer-support category. */
export type SupportCategory = (typeof supportCategories)[number];

/** Built-in scenarios per category and split. */
export const supportScenarioCounts = { train: 18, eval: 6 } as const;

interface Persona {
  name: string;
  description: string;
  patience: number;
}

const personas: readonly Persona[] = [
  { name: 'Maria', description: 'Maria, a busy nurse who writes short messages', patience: 3 },
  {
    name: 'Tom',
    description: 'Tom, a retired teacher who is polite but unsure with technology',
    patience: 4,
  },
  { name: 'Aisha', description: 'Aisha, a student on a tight budget', patience: 3 },
  {
    name: 'Kenji',
    description: 'Kenji, a software developer who wants precise answers',
    patience: 3,
  },
  { name: 'Laura', description: 'Laura, a small business owner in a hurry', patience: 2 },
  {
    name: 'Diego',
    description: 'Diego, who has contacted support before and is frustrated',
    patience: 2,
  },
  { name: 'Priya', description: 'Priya, a parent shopping for her family', patience: 3 },
  { name: 'Sam', description: 'Sam, a first-time customer', patience: 4 },
  { name: 'Olga', description: 'Olga, who writes formally and expects the same', patience: 3 },
  { name: 'Ben', description: 'Ben, who is upset and impatient', patience: 2 },
  {
    name: 'Fatima',
    description: 'Fatima, a frequent customer with a premium membership',
    patience: 3,
  },
  { name: 'Lucas', description: 'Lucas, writing from his phone on the train', patience: 3 },
];

// Products and devices are split so that held-out scenarios use items never seen in training.
const trainProducts = [
  'wireless headphones',
  'coffee maker',
  'pair of running shoes',
  'desk lamp',
  'backpack',
  'blender',
  'winter jacket',
  'phone case',
  'yoga mat',
  'electric kettle',
  'bluetooth speaker',
  'office chair',
] as const;
const evalProducts = ['air fryer', 'pair of hiking boots', 'smart watch', 'toaster'] as const;
const trainDevices = [
  'laptop',
  'tablet',
  'printer',
  'smart TV',
  'phone',
  'smart speaker',
  'game console',
  'security camera',
  'e-reader',
  'smart thermostat',
  'webcam',
  'router',
] as const;
const evalDevices = ['smart doorbell', 'projector', 'fitness tracker', 'streaming stick'] as const;
const carriers = ['UPS', 'FedEx', 'DHL', 'USPS'] as const;
const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** What the slots of one scenario are filled with. */
interface Slots {
  persona: Persona;
  item: string;
  orderId: string;
  trackingNumber: string;
  carrier: string;
  day: string;
  price: string;
  errorCode: string;
  username: string;
  maskedEmail: string;
  variant: number;
}

interface CriterionTemplate {
  id: string;
  description: string;
  anyOf?: (slots: Slots) => string[];
  allOf?: string[];
  weight?: number;
}

interface IntentTemplate {
  intent: string;
  goal: (slots: Slots) => string;
  context: (slots: Slots) => string;
  openings: ((slots: Slots) => string)[];
  followUps: (slots: Slots) => string[];
  criteria: CriterionTemplate[];
}

const referenceOrder: CriterionTemplate = {
  id: 'reference-order',
  description: 'Names the order number from the conversation',
  anyOf: (slots) => [slots.orderId],
};

const intentsByCategory: Record<SupportCategory, IntentTemplate[]> = {
  refunds: [
    {
      intent: 'damaged',
      goal: (s) => `Get a refund for the damaged ${s.item} from order ${s.orderId}.`,
      context: (s) =>
        `Order ${s.orderId}: ${s.item}, ${s.price}, delivered 2 days ago. Damaged items are refunded in full to the original payment method within 5 business days; no return is needed.`,
      openings: [
        (s) => `Hi, the ${s.item} from order ${s.orderId} arrived broken. I want my money back.`,
        (s) => `My order ${s.orderId} came today and the ${s.item} is damaged. What can you do?`,
        (s) => `Hello, I received a cracked ${s.item} (order ${s.orderId}). I would like a refund.`,
      ],
      followUps: (s) => [
        'Can I get my money back or not?',
        'How long will that take?',
        `Did you even look at order ${s.orderId}?`,
        'Please, I just want this sorted out.',
      ],
      criteria: [
        referenceOrder,
        { id: 'offer-refund', description: 'Offers a refund', anyOf: () => ['refund'], weight: 2 },
        {
          id: 'refund-timeline',
          description: 'Says the refund arrives within 5 business days',
          anyOf: () => ['5 business days', 'five business days'],
        },
      ],
    },
    {
      intent: 'wrong-size',
      goal: (s) =>
        `Return the ${s.item} from order ${s.orderId}, which is the wrong size, for a refund.`,
      context: (s) =>
        `Order ${s.orderId}: ${s.item}, ${s.price}. Items returned within 30 days get a prepaid return label by email; the refund is issued when the item arrives back.`,
      openings: [
        (s) => `The ${s.item} I ordered (${s.orderId}) is the wrong size. Can I return it?`,
        (s) => `Hi, order ${s.orderId} does not fit. I need to send the ${s.item} back.`,
        (s) => `I want to return my ${s.item}, order number ${s.orderId}. It is too small.`,
      ],
      followUps: (s) => [
        'So how do I send it back?',
        'Will I get my money back?',
        `It is order ${s.orderId}, can you check?`,
      ],
      criteria: [
        referenceOrder,
        { id: 'return-label', description: 'Sends a return label', anyOf: () => ['return label'] },
        {
          id: 'offer-refund',
          description: 'Explains the refund',
          anyOf: () => ['refund'],
          weight: 2,
        },
      ],
    },
    {
      intent: 'double-charge',
      goal: (s) => `Get the duplicate charge for order ${s.orderId} refunded.`,
      context: (s) =>
        `Order ${s.orderId} was charged twice (${s.price} each). Duplicate charges are refunded within 3 business days.`,
      openings: [
        (s) => `I was charged twice for order ${s.orderId}! Fix this please.`,
        (s) => `Hello, my card shows two payments of ${s.price} for order ${s.orderId}.`,
        (s) => `Why did you take my money twice for ${s.orderId}?`,
      ],
      followUps: () => [
        'I need that money back.',
        'When will the extra payment come back?',
        'Do you see the second payment or not?',
      ],
      criteria: [
        referenceOrder,
        {
          id: 'duplicate-charge',
          description: 'Acknowledges the duplicate charge',
          anyOf: () => ['duplicate charge', 'charged twice'],
        },
        {
          id: 'offer-refund',
          description: 'Refunds the extra charge',
          anyOf: () => ['refund'],
          weight: 2,
        },
        {
          id: 'refund-timeline',
          description: 'Says the refund arrives within 3 business days',
          anyOf: () => ['3 business days', 'three business days'],
        },
      ],
    },
    {
      intent: 'cancel',
      goal: (s) =>
        `Cancel order ${s.orderId} (a ${s.item}) before it ships and get the money back.`,
      context: (s) =>
        `Order ${s.orderId}: ${s.item}, ${s.price}, not shipped yet. Orders that have not shipped can be cancelled with a full refund.`,
      openings: [
        (s) => `I want to cancel order ${s.orderId}, the ${s.item}. It has not shipped yet.`,
        (s) => `Please stop order ${s.orderId}, I changed my mind about the ${s.item}.`,
        (s) => `Hi, can I still cancel my ${s.item}? Order ${s.orderId}.`,
      ],
      followUps: () => [
        'Is it cancelled or not?',
        'What about my money?',
        'I really do not want this order anymore.',
      ],
      criteria: [
        referenceOrder,
        { id: 'cancel-order', description: 'Cancels the order', anyOf: () => ['cancel'] },
        { id: 'offer-refund', description: 'Confirms the refund', anyOf: () => ['refund'] },
      ],
    },
  ],
  shipping: [
    {
      intent: 'where-is-order',
      goal: (s) => `Find out where order ${s.orderId} is and when it arrives.`,
      context: (s) =>
        `Order ${s.orderId}: ${s.item}, shipped with ${s.carrier}, tracking number ${s.trackingNumber}, expected delivery on ${s.day}.`,
      openings: [
        (s) => `Where is my order ${s.orderId}? I ordered a ${s.item} last week.`,
        (s) => `Hi, any news on order ${s.orderId}? I am waiting for my ${s.item}.`,
        (s) => `When will my ${s.item} arrive? Order ${s.orderId}.`,
      ],
      followUps: () => [
        'So when will it arrive?',
        'Can I track it somewhere?',
        'Who is delivering it?',
      ],
      criteria: [
        {
          id: 'tracking-number',
          description: 'Gives the tracking number',
          anyOf: (s) => [s.trackingNumber, 'tracking number'],
        },
        {
          id: 'delivery-day',
          description: 'Gives the expected delivery day',
          anyOf: (s) => [s.day],
        },
        { id: 'carrier', description: 'Names the carrier', anyOf: (s) => [s.carrier] },
      ],
    },
    {
      intent: 'change-address',
      goal: (s) => `Change the delivery address of order ${s.orderId}.`,
      context: (s) =>
        `Order ${s.orderId}: ${s.item}, not shipped yet, so the delivery address can still be updated. A confirmation email is sent after every change.`,
      openings: [
        (s) => `I need to change the delivery address for order ${s.orderId}.`,
        (s) => `I moved last week. Can you ship order ${s.orderId} to my new place?`,
        (s) => `Wrong address on my order ${s.orderId}, the ${s.item}. Please help.`,
      ],
      followUps: () => [
        'Is the address changed now?',
        'How will I know it worked?',
        'I do not want it going to my old place.',
      ],
      criteria: [
        referenceOrder,
        { id: 'update-address', description: 'Updates the address', allOf: ['address', 'updated'] },
        {
          id: 'confirmation-email',
          description: 'Mentions the confirmation email',
          anyOf: () => ['confirmation email'],
        },
      ],
    },
    {
      intent: 'delayed',
      goal: (s) => `Get order ${s.orderId}, which is late, delivered quickly.`,
      context: (s) =>
        `Order ${s.orderId}: ${s.item}, was due on ${s.day}, delayed at the ${s.carrier} depot. Late orders get free express shipping on request.`,
      openings: [
        (s) =>
          `My ${s.item} (order ${s.orderId}) was supposed to arrive on ${s.day} and it still has not come.`,
        (s) => `Order ${s.orderId} is late. I needed it by ${s.day}!`,
        (s) => `Hello, my package for order ${s.orderId} is delayed. What is going on?`,
      ],
      followUps: () => [
        'This is really annoying.',
        'Can you speed it up somehow?',
        'Where is it now?',
      ],
      criteria: [
        {
          id: 'apologize',
          description: 'Apologizes for the delay',
          anyOf: () => ['sorry', 'apologize'],
        },
        referenceOrder,
        { id: 'tracking-number', description: 'Points to tracking', anyOf: () => ['tracking'] },
        {
          id: 'offer-express',
          description: 'Offers free express shipping',
          anyOf: () => ['express shipping'],
          weight: 2,
        },
      ],
    },
    {
      intent: 'lost-package',
      goal: (s) => `Get help with order ${s.orderId}, marked delivered but never received.`,
      context: (s) =>
        `Order ${s.orderId}: ${s.item}, marked delivered by ${s.carrier} on ${s.day}. Lost packages: open a carrier investigation (answer within 48 hours); if not found, send a replacement.`,
      openings: [
        (s) => `Tracking says order ${s.orderId} was delivered but I never got it.`,
        (s) => `My ${s.item} never showed up, yet order ${s.orderId} says delivered.`,
        (s) => `Someone must have taken my package. Order ${s.orderId}.`,
      ],
      followUps: () => [
        'So what now?',
        'Will I get my item or not?',
        'How long do I have to wait?',
      ],
      criteria: [
        referenceOrder,
        {
          id: 'open-investigation',
          description: 'Opens a carrier investigation',
          anyOf: () => ['investigation'],
        },
        {
          id: 'replacement',
          description: 'Offers a replacement',
          anyOf: () => ['replacement'],
          weight: 2,
        },
        {
          id: 'investigation-timeline',
          description: 'Says when the investigation answers',
          anyOf: () => ['48 hours'],
        },
      ],
    },
  ],
  technical: [
    {
      intent: 'no-power',
      goal: (s) => `Get the ${s.item} to turn on again.`,
      context: (s) =>
        `The customer's ${s.item} is under warranty. Standard fix: check the power cable, then hold the power button for 15 seconds; if it still does not start, repair under warranty.`,
      openings: [
        (s) => `My ${s.item} will not turn on.`,
        (s) => `Hi, my ${s.item} is completely dead since this morning.`,
        (s) => `The ${s.item} I bought does not start anymore. Help!`,
      ],
      followUps: () => [
        'It still does not turn on.',
        'What should I try?',
        'Is it broken for good?',
      ],
      criteria: [
        {
          id: 'power-cable',
          description: 'Asks to check the power cable',
          anyOf: () => ['power cable'],
        },
        {
          id: 'hold-power',
          description: 'Asks to hold the power button for 15 seconds',
          allOf: ['hold', 'power button', '15 seconds'],
          weight: 2,
        },
        { id: 'warranty', description: 'Mentions the warranty repair', anyOf: () => ['warranty'] },
      ],
    },
    {
      intent: 'wifi',
      goal: (s) => `Stop the ${s.item} from losing its Wi-Fi connection.`,
      context: (s) =>
        `The customer's ${s.item} drops Wi-Fi. Standard fix: restart the router, update the firmware, then forget the network and join it again.`,
      openings: [
        (s) => `My ${s.item} keeps dropping the Wi-Fi connection.`,
        (s) => `The Wi-Fi on my ${s.item} goes off every few minutes.`,
        (s) => `Why does my ${s.item} keep disconnecting from the internet?`,
      ],
      followUps: () => [
        'It just disconnected again.',
        'What else can I do?',
        'Other devices work fine, only this one fails.',
      ],
      criteria: [
        {
          id: 'restart-router',
          description: 'Asks to restart the router',
          allOf: ['restart', 'router'],
        },
        {
          id: 'update-firmware',
          description: 'Asks to update the firmware',
          allOf: ['update', 'firmware'],
          weight: 2,
        },
        {
          id: 'forget-network',
          description: 'Asks to forget the network and rejoin',
          anyOf: () => ['forget the network', 'forget network'],
        },
      ],
    },
    {
      intent: 'app-crash',
      goal: (s) => `Stop the app on the ${s.item} from crashing.`,
      context: (s) =>
        `The companion app crashes on the customer's ${s.item}. Standard fix: update the app, clear the cache, and reinstall it if it still crashes.`,
      openings: [
        (s) => `The app on my ${s.item} crashes every time I open it.`,
        (s) => `Your app keeps closing on my ${s.item}.`,
        (s) => `I cannot use the app on my ${s.item}, it crashes right away.`,
      ],
      followUps: () => [
        'It still crashes.',
        'Anything else I can try?',
        'I really need this app to work.',
      ],
      criteria: [
        { id: 'update-app', description: 'Asks to update the app', anyOf: () => ['update'] },
        {
          id: 'clear-cache',
          description: 'Asks to clear the cache',
          anyOf: () => ['clear the cache', 'clear cache'],
          weight: 2,
        },
        { id: 'reinstall', description: 'Suggests reinstalling', anyOf: () => ['reinstall'] },
      ],
    },
    {
      intent: 'error-code',
      goal: (s) => `Fix error ${s.errorCode} on the ${s.item}.`,
      context: (s) =>
        `Error ${s.errorCode} on the ${s.item} means overheating or corrupted software. Standard fix: restart; if it persists, back up the data and do a factory reset.`,
      openings: [
        (s) => `My ${s.item} shows error ${s.errorCode} and stops working.`,
        (s) => `What does error ${s.errorCode} mean? My ${s.item} froze.`,
        (s) => `I keep getting error ${s.errorCode} on the ${s.item}.`,
      ],
      followUps: (s) => [
        `The error ${s.errorCode} is still there.`,
        'What does it mean?',
        'Will I lose my data?',
      ],
      criteria: [
        { id: 'reference-error', description: 'Names the error code', anyOf: (s) => [s.errorCode] },
        { id: 'restart', description: 'Asks to restart', anyOf: () => ['restart', 'reboot'] },
        { id: 'backup', description: 'Asks to back up data', anyOf: () => ['back up', 'backup'] },
        {
          id: 'factory-reset',
          description: 'Suggests a factory reset',
          anyOf: () => ['factory reset'],
          weight: 2,
        },
      ],
    },
  ],
  account: [
    {
      intent: 'forgot-password',
      goal: (s) => `Log in again to the account ${s.username} after forgetting the password.`,
      context: (s) =>
        `Account ${s.username}, email on file ${s.maskedEmail}. Password reset links are sent to the email on file and are valid for 24 hours.`,
      openings: [
        (s) => `I forgot my password and cannot log in. My username is ${s.username}.`,
        (s) => `Hi, I am locked out of ${s.username}, I do not remember the password.`,
        (s) => `How do I get back into my account ${s.username}? Forgot the password.`,
      ],
      followUps: () => [
        'How do I get a new password?',
        'Where will the link go?',
        'How long do I have to use it?',
      ],
      criteria: [
        {
          id: 'reset-password',
          description: 'Sends a password reset',
          allOf: ['reset', 'password'],
          weight: 2,
        },
        {
          id: 'email-on-file',
          description: 'Names the email on file',
          anyOf: (s) => [s.maskedEmail, 'email on file'],
        },
        {
          id: 'link-expiry',
          description: 'Says the link is valid 24 hours',
          anyOf: () => ['24 hours'],
        },
      ],
    },
    {
      intent: 'locked',
      goal: (s) => `Unlock the account ${s.username} after too many login attempts.`,
      context: (s) =>
        `Account ${s.username} is locked after 5 failed logins. Support can unlock it after verifying the identity with a verification code; otherwise it unlocks by itself after 30 minutes.`,
      openings: [
        (s) => `My account ${s.username} is locked after too many login attempts.`,
        (s) => `It says my account ${s.username} is locked. What do I do?`,
        (s) => `I typed the wrong password a few times and now ${s.username} is blocked.`,
      ],
      followUps: () => ['Can you unlock it?', 'Do I have to wait?', 'I need to get in today.'],
      criteria: [
        { id: 'unlock', description: 'Offers to unlock', anyOf: () => ['unlock'], weight: 2 },
        {
          id: 'verify-identity',
          description: 'Asks to verify the identity',
          anyOf: () => ['verify your identity', 'verification code'],
        },
        {
          id: 'wait-time',
          description: 'Says it unlocks after 30 minutes',
          anyOf: () => ['30 minutes'],
        },
      ],
    },
    {
      intent: 'change-email',
      goal: (s) => `Change the email address of the account ${s.username}.`,
      context: (s) =>
        `Account ${s.username}, email on file ${s.maskedEmail}. The email is changed in the account settings; a verification code goes to the new address and the current email must confirm the change.`,
      openings: [
        (s) => `I want to change the email on my account ${s.username}.`,
        (s) => `How do I update my email address? Username ${s.username}.`,
        (s) => `I have a new email and need it on ${s.username}.`,
      ],
      followUps: () => [
        'Where do I change it?',
        'Do I need to confirm anything?',
        'I do not use the old email much anymore.',
      ],
      criteria: [
        {
          id: 'account-settings',
          description: 'Points to the account settings',
          anyOf: () => ['account settings'],
        },
        {
          id: 'verification-code',
          description: 'Mentions the verification code',
          anyOf: () => ['verification code'],
          weight: 2,
        },
        {
          id: 'confirm-current-email',
          description: 'Says the current email must confirm',
          anyOf: () => ['current email'],
        },
      ],
    },
    {
      intent: 'secure-account',
      goal: (s) => `Secure the account ${s.username} after a suspicious login.`,
      context: (s) =>
        `Account ${s.username} had a login attempt from an unknown device. Advice: change the password, turn on two-factor authentication, and sign out of all devices.`,
      openings: [
        (s) => `Someone tried to log into my account ${s.username}. How do I secure it?`,
        (s) => `I got an alert about a strange login on ${s.username}.`,
        (s) => `I think my account ${s.username} was hacked.`,
      ],
      followUps: () => [
        'What should I do first?',
        'How do I stop this from happening again?',
        'I am worried they are still logged in.',
      ],
      criteria: [
        {
          id: 'change-password',
          description: 'Asks to change the password',
          allOf: ['change', 'password'],
        },
        {
          id: 'enable-two-factor',
          description: 'Suggests two-factor authentication',
          anyOf: () => ['two-factor', '2fa'],
          weight: 2,
        },
        {
          id: 'sign-out-everywhere',
          description: 'Asks to sign out of all devices',
          anyOf: () => ['sign out of all devices', 'log out of all devices'],
        },
      ],
    },
  ],
};

/**
 * What the reference agent says to meet each built-in criterion; `{phrase}` is
 * filled with the criterion's first `anyOf` phrase.
 */
export const supportReferenceLines: Readonly<Record<string, string>> = {
  'reference-order': 'I found your order {phrase}.',
  'offer-refund': 'I have issued a full refund to your original payment method.',
  'refund-timeline': 'The money will be back on your account within {phrase}.',
  'return-label': 'I have emailed you a prepaid return label.',
  'duplicate-charge': 'I can see the duplicate charge on your card.',
  'cancel-order': 'I have cancelled the order for you.',
  'tracking-number': 'Your tracking number is {phrase}.',
  'delivery-day': 'It should arrive on {phrase}.',
  carrier: 'It is on its way with {phrase}.',
  'update-address': 'I have updated the delivery address.',
  'confirmation-email': 'You will get a confirmation email shortly.',
  apologize: 'I am sorry for the delay.',
  'offer-express': 'I have upgraded your order to free express shipping.',
  'open-investigation': 'I have opened an investigation with the carrier.',
  replacement: 'If the package is not found, we will send you a replacement.',
  'investigation-timeline': 'You will hear from us within {phrase}.',
  'power-cable': 'Please check that the power cable is firmly plugged in.',
  'hold-power': 'Then hold the power button for 15 seconds.',
  warranty: 'If it still does not start, we will repair it under warranty.',
  'restart-router': 'Please restart your router.',
  'update-firmware': 'Then update the firmware from the settings menu.',
  'forget-network': 'If it keeps dropping, forget the network and join it again.',
  'update-app': 'Please update the app to the latest version.',
  'clear-cache': 'If it still crashes, clear the cache in the app settings.',
  reinstall: 'As a last step, reinstall the app.',
  'reference-error': 'Error {phrase} means overheating or corrupted software.',
  restart: 'First, restart the device.',
  backup: 'If it happens again, back up your data.',
  'factory-reset': 'Then do a factory reset.',
  'reset-password': 'I have sent you a password reset link.',
  'email-on-file': 'It went to {phrase}.',
  'link-expiry': 'The link is valid for {phrase}.',
  unlock: 'I can unlock your account right away.',
  'verify-identity': 'First I need to verify your identity with a verification code.',
  'wait-time': 'Otherwise it unlocks by itself after {phrase}.',
  'account-settings': 'Open your account settings and choose Email.',
  'verification-code': 'We will send a verification code to the new address.',
  'confirm-current-email': 'You also need to confirm the change from your current email.',
  'change-password': 'Please change your password right away.',
  'enable-two-factor': 'Then turn on two-factor authentication.',
  'sign-out-everywhere': 'Finally, sign out of all devices from the security page.',
};

function makeSlots(
  category: SupportCategory,
  split: 'train' | 'eval',
  index: number,
  random: Random,
  usedCodes: Set<string>,
): Slots {
  const unique = (make: () => string): string => {
    for (;;) {
      const code = make();
      if (!usedCodes.has(code)) {
        usedCodes.add(code);
        return code;
      }
    }
  };
  const isTechnical = category === 'technical';
  const items = isTechnical
    ? split === 'train'
      ? trainDevices
      : evalDevices
    : split === 'train'
      ? trainProducts
      : evalProducts;
  const personaIndex =
    split === 'train' ? (index * 7 + 3) % personas.length : (index * 5 + 1) % personas.length;
  const persona = personas[personaIndex]!;
  return {
    persona,
    item: items[(index * 5) % items.length]!,
    orderId: unique(() => `A${random.int(1000, 10000)}`),
    trackingNumber: unique(() => `TRK${random.int(100000, 1000000)}`),
    carrier: random.choice(carriers),
    day: random.choice(weekdays),
    price: `$${random.int(15, 250)}.${random.int(10, 100)}`,
    errorCode: unique(() => `E-${random.int(100, 1000)}`),
    username: unique(() => `${persona.name.toLowerCase()}${random.int(10, 100)}`),
    maskedEmail: `${persona.name[0]!.toLowerCase()}***@example.com`,
    variant: Math.floor(index / 4) % 3,
  };
}

function buildScenario(
  category: SupportCategory,
  split: 'train' | 'eval',
  index: number,
  slots: Slots,
): ScenarioInput {
  const intents = intentsByCategory[category];
  const template = intents[index % intents.length]!;
  const opening = template.openings[slots.variant % template.openings.length]!(slots);
  return {
    id: `${category}-${template.intent}-${split}-${String(index).padStart(2, '0')}`,
    category,
    persona: slots.persona.description,
    goal: template.goal(slots),
    context: template.context(slots),
    successCriteria: template.criteria.map((criterion) => ({
      id: criterion.id,
      description: criterion.description,
      ...(criterion.anyOf ? { anyOf: criterion.anyOf(slots) } : {}),
      ...(criterion.allOf ? { allOf: criterion.allOf } : {}),
      weight: criterion.weight ?? 1,
    })),
    maxTurns: 6,
    user: {
      opening,
      followUps: template.followUps(slots),
      thanks: 'Thank you, that solves it.',
      giveUp: 'Never mind, this is not helping. I will go elsewhere.',
      patience: slots.persona.patience,
    },
    split,
  };
}

let cache: Scenario[] | undefined;

function allSupportScenarios(): Scenario[] {
  if (cache) return cache;
  // A fixed stream: the built-in set is the same on every machine and every run.
  const random = new Random('cohort/support-scenarios/v1');
  const usedCodes = new Set<string>();
  const scenarios: Scenario[] = [];
  for (const category of supportCategories) {
    for (const split of ['train', 'eval'] as const) {
      for (let index = 0; index < supportScenarioCounts[split]; index++) {
        const slots = makeSlots(category, split, index, random, usedCodes);
        scenarios.push(
          parseWithSchema(
            ScenarioSchema,
            buildScenario(category, split, index, slots),
            'built-in scenario',
          ),
        );
      }
    }
  }
  cache = scenarios;
  return scenarios;
}

/** Options of {@link supportScenarios}. */
export interface SupportScenariosOptions {
  /** `train`, `eval`, or `all` (default `all`). */
  split?: 'train' | 'eval' | 'all';
  /** Categories to keep (default: all four). */
  categories?: readonly SupportCategory[];
}

/**
 * The built-in customer-support scenarios: refunds, shipping, technical
 * support and account problems, 18 train and 6 held-out eval scenarios per
 * category (96 in all).
 *
 * Generated from four intent templates per category with slots (persona,
 * product or device, order id, tracking number, carrier, weekday, error code,
 * username) drawn from a fixed stream, so the set is the same everywhere. The
 * eval split uses products and devices that never occur in train, and every
 * order id, tracking number, error code and username is unique across the
 * whole set. Success criteria are keywords a small model can learn to say
 * (`refund`, `tracking`, `reset` + `password`, ...), some of them copied from
 * the context (order ids, weekdays, carriers). Returns fresh copies.
 *
 * @example
 * ```ts
 * const train = supportScenarios({ split: 'train' });                        // 72 scenarios
 * const heldOut = supportScenarios({ split: 'eval', categories: ['refunds'] }); // 6 scenarios
 * ```
 */
export function supportScenarios(options: SupportScenariosOptions = {}): Scenario[] {
  const split = options.split ?? 'all';
  if (split !== 'train' && split !== 'eval' && split !== 'all') {
    throw new InvalidArgumentError({
      argument: 'split',
      value: split,
      message: "must be 'train', 'eval' or 'all'",
    });
  }
  const categories = options.categories ?? supportCategories;
  for (const category of categories) {
    if (!(supportCategories as readonly string[]).includes(category)) {
      throw new InvalidArgumentError({
        argument: 'categories',
        value: category,
        message: `is not a support category; expected one of ${supportCategories.join(', ')}`,
      });
    }
  }
  return allSupportScenarios()
    .filter((scenario) => split === 'all' || scenario.split === split)
    .filter((scenario) => (categories as readonly string[]).includes(scenario.category))
    .map((scenario) => structuredClone(scenario));
}
