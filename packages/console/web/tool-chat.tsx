import { useRef, useState } from 'preact/hooks';
import type { ConsoleToolChatState, ConsoleToolScenario } from '../src/console-server';
import { requestJson } from './api';
import { ChatInput } from './chat-input';

/** The verdict line of a closed chat: solved or not by the task's own check, and what went wrong. */
function Outcome(props: { outcome: NonNullable<ConsoleToolChatState['outcome']> }) {
  const { outcome } = props;
  const check = outcome.info.supportDesk as
    | { wrongActions?: unknown[]; inventedOrderIds?: unknown[]; partialCredit?: number }
    | undefined;
  return (
    <div class={`outcome ${outcome.solved ? 'solved' : 'unsolved'}`} role="status">
      <strong>
        {outcome.solved === null
          ? 'the task gives no verdict'
          : outcome.solved
            ? 'solved: the database check passes'
            : 'not solved: the database check fails'}
      </strong>{' '}
      (ended: {outcome.endReason}, reward {outcome.reward.toFixed(3)})
      {check ? (
        <ul class="check">
          <li>partial credit: {String(check.partialCredit ?? '–')}</li>
          <li>wrong actions: {JSON.stringify(check.wrongActions ?? [])}</li>
          <li>invented order ids: {JSON.stringify(check.inventedOrderIds ?? [])}</li>
        </ul>
      ) : null}
    </div>
  );
}

/**
 * Chat with the environment's tools: the person plays the user of a
 * scenario (one of the run's training tasks, or a fresh one), the agent's
 * tool calls run on the scenario's simulated backend and their results show
 * as tool messages, as in rollouts; "end" shows whether the task would count
 * as solved.
 */
export function ToolChat(props: {
  runId: string;
  checkpoint: string;
  scenarios: ConsoleToolScenario[];
}) {
  const [scenario, setScenario] = useState('');
  const [state, setState] = useState<ConsoleToolChatState | null>(null);
  const [draft, setDraft] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const endpoint = `/api/runs/${encodeURIComponent(props.runId)}/chat/tools`;

  const act = async (body: Record<string, unknown>) => {
    setBusy(true);
    setError('');
    try {
      setState(await requestJson<ConsoleToolChatState>(endpoint, body));
      return true;
    } catch (caught) {
      setError((caught as Error).message);
      return false;
    } finally {
      setBusy(false);
      input.current?.focus();
    }
  };
  const start = () =>
    act({
      action: 'start',
      checkpoint: props.checkpoint === '' ? null : props.checkpoint,
      scenario: scenario === '' ? null : scenario,
    });
  const send = async () => {
    const text = draft.trim();
    if (!state || text === '' || busy) return;
    setDraft('');
    if (!(await act({ action: 'say', session: state.session, message: text }))) setDraft(text);
  };

  const byIndex = new Map(props.scenarios.map((item) => [item.id, item.label]));
  return (
    <div class="tool-chat">
      <div class="toolbar">
        <label>
          scenario{' '}
          <select
            aria-label="scenario"
            value={scenario}
            onChange={(event) => setScenario((event.target as HTMLSelectElement).value)}
          >
            <option value="">a fresh task from the training distribution</option>
            {props.scenarios.map((item) => (
              <option key={item.id} value={item.id}>
                {item.id} · {item.label.slice(0, 60)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void start()} disabled={busy}>
          start
        </button>
        {state && !state.done ? (
          <button
            type="button"
            onClick={() => void act({ action: 'close', session: state.session })}
            disabled={busy}
          >
            end and check
          </button>
        ) : null}
      </div>
      {state ? (
        <p class="scenario-line">
          scenario <code>{state.scenarioId}</code>
          {byIndex.has(state.scenarioId) ? ` (${byIndex.get(state.scenarioId)})` : ''} ·{' '}
          {state.tokenCount} tokens · {state.toolCalls.length} tool calls
        </p>
      ) : (
        <p>Pick a scenario and start: you play its customer, the agent has its tools.</p>
      )}
      {state?.messages.map((message, index) =>
        message.role === 'system' ? (
          <details key={index} class="turn turn-other system-prompt">
            <summary>system prompt and tools</summary>
            {message.content}
          </details>
        ) : (
          <div
            key={index}
            class={`turn chat-${message.role} turn-${message.role === 'tool' ? 'other' : message.role}`}
          >
            <div class="role">{message.role}</div>
            <div class="text">{message.content}</div>
          </div>
        ),
      )}
      {state?.outcome ? <Outcome outcome={state.outcome} /> : null}
      {error ? <p class="error">{error}</p> : null}
      {state && !state.done ? (
        <ChatInput
          inputRef={input}
          value={draft}
          busy={busy}
          placeholder="your message as the customer, Enter to send"
          onInput={setDraft}
          onSend={() => void send()}
        />
      ) : null}
    </div>
  );
}
