import { useEffect, useRef, useState } from 'preact/hooks';
import type { FeedbackItem, FeedbackRating } from '../src/feedback-broker';
import { apiUrl, requestJson } from './api';

interface FeedbackState {
  live: boolean;
  pending: FeedbackItem[];
  ratings: FeedbackRating[];
}

const nameKey = 'cohort-console-rater';

/**
 * A person's ratings for a trainer that waits on them. Keyboard first: for a
 * `choose` question, keys 1 to K pick the best candidate; for a `score`
 * question, keys 1 to 5 give a score of 0, 0.25, ..., 1; `s` skips. Each
 * answer is stored in the run directory (with the name given here and the
 * time) before the trainer gets it.
 */
export function FeedbackPage(props: { runId: string | undefined }) {
  const [state, setState] = useState<FeedbackState | null>(null);
  const [who, setWho] = useState(() => localStorage.getItem(nameKey) ?? '');
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const nameInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (!props.runId) return;
    const source = new EventSource(
      apiUrl(`/api/runs/${encodeURIComponent(props.runId)}/feedback/stream`),
    );
    source.addEventListener('feedback', (event) => {
      setState(JSON.parse((event as MessageEvent<string>).data) as FeedbackState);
    });
    return () => source.close();
  }, [props.runId]);

  const item = state?.pending[0];

  const answer = async (value: number | null) => {
    if (!item || !props.runId || busy) return;
    if (who.trim() === '') {
      setMessage('Enter your name first: every rating is stored with who gave it.');
      nameInput.current?.focus();
      return;
    }
    setBusy(true);
    try {
      await requestJson(`/api/runs/${encodeURIComponent(props.runId)}/feedback`, {
        itemId: item.id,
        answer: value,
        who,
      });
      setMessage(value === null ? 'skipped' : 'saved');
    } catch (error) {
      setMessage(`not saved: ${(error as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement)
        return;
      if (!item) return;
      if (event.key === 's') {
        event.preventDefault();
        void answer(null);
        return;
      }
      const digit = Number(event.key);
      if (!Number.isInteger(digit) || digit < 1) return;
      if (item.kind === 'choose' && digit <= item.candidates.length) {
        event.preventDefault();
        void answer(digit - 1);
      } else if (item.kind === 'score' && digit <= 5) {
        event.preventDefault();
        void answer((digit - 1) / 4);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  if (!props.runId) return <p>Select a run above.</p>;
  if (!state) return <p>Loading…</p>;
  return (
    <div class="feedback">
      <div class="toolbar">
        <label>
          your name{' '}
          <input
            ref={nameInput}
            value={who}
            aria-label="your name"
            onInput={(event) => {
              const value = (event.target as HTMLInputElement).value;
              setWho(value);
              localStorage.setItem(nameKey, value);
            }}
          />
        </label>
        <span class="pending-count" data-pending={state.pending.length}>
          {state.pending.length} waiting
        </span>
        <span class="rated-count" data-rated={state.ratings.length}>
          {state.ratings.length} rated
        </span>
        <span class="message" role="status">
          {message}
        </span>
      </div>
      {!state.live ? (
        <p>No trainer is waiting on this run: the ratings below are from its feedback file.</p>
      ) : null}
      {state.live && !item ? (
        <p class="idle">
          Nothing to rate right now; new questions appear here as the trainer asks.
        </p>
      ) : null}
      {item ? (
        <section class="question" data-item={item.id} data-kind={item.kind}>
          {item.prompt ? <div class="prompt">{item.prompt}</div> : null}
          <div class="query">{item.query}</div>
          <p class="hint">
            {item.kind === 'choose'
              ? `Press 1–${item.candidates.length} for the best reply, s to skip.`
              : 'Press 1 (bad) to 5 (good), s to skip.'}
          </p>
          {item.kind === 'choose' ? (
            <ol class="candidates">
              {item.candidates.map((candidate, index) => (
                <li key={index}>
                  <button
                    type="button"
                    class="candidate"
                    disabled={busy}
                    onClick={() => void answer(index)}
                  >
                    <kbd>{index + 1}</kbd> {candidate}
                  </button>
                </li>
              ))}
            </ol>
          ) : (
            <div>
              <div class="candidate">{item.candidates[0]}</div>
              {[1, 2, 3, 4, 5].map((digit) => (
                <button
                  key={digit}
                  type="button"
                  disabled={busy}
                  onClick={() => void answer((digit - 1) / 4)}
                >
                  <kbd>{digit}</kbd>
                </button>
              ))}
            </div>
          )}
        </section>
      ) : null}
      <h3>Ratings</h3>
      <table class="ratings">
        <thead>
          <tr>
            <th>time</th>
            <th>who</th>
            <th>query</th>
            <th>answer</th>
          </tr>
        </thead>
        <tbody>
          {[...state.ratings]
            .reverse()
            .slice(0, 50)
            .map((rating) => (
              <tr key={rating.itemId}>
                <td>{rating.time}</td>
                <td>{rating.who}</td>
                <td>{rating.query}</td>
                <td>
                  {rating.answer === null
                    ? 'skipped'
                    : rating.itemKind === 'choose'
                      ? rating.candidates[rating.answer]
                      : rating.answer}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}
