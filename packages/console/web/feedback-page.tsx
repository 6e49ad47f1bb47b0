import { useEffect, useRef, useState } from 'preact/hooks';
import type { FeedbackItem, FeedbackRating } from '../src/feedback-broker';
import { apiUrl, requestJson } from './api';

interface FeedbackState {
  live: boolean;
  pending: FeedbackItem[];
  ratings: FeedbackRating[];
}

const nameKey = 'cohort-console-rater';

interface Grading {
  itemId: string;
  scores: (number | null)[];
  marked: number;
}

/** The score of key 1 to 5: 0, 0.25, ..., 1. */
function keyScore(digit: number): number {
  return (digit - 1) / 4;
}

/** How a stored answer reads in the ratings table. */
function answerText(rating: FeedbackRating): string {
  const { answer } = rating;
  if (answer === null) return 'skipped';
  if (Array.isArray(answer)) return answer.map((score) => score.toFixed(2)).join(' / ');
  return rating.itemKind === 'choose' ? (rating.candidates[answer] ?? '') : String(answer);
}

/**
 * A person's ratings for a trainer that waits on them. Keyboard first: for a
 * `choose` question, keys 1 to K pick the best candidate; for a `score`
 * question, keys 1 to 5 give a score of 0, 0.25, ..., 1; for a `group`
 * question (the G replies of a GRPO group), keys 1 to 5 score the marked
 * reply and mark the next, arrows or j/k move the mark, Enter sends once
 * every reply has a score; `s` skips. Each answer is stored in the run
 * directory (with the name given here and the time) before the trainer gets it.
 */
export function FeedbackPage(props: { runId: string | undefined }) {
  const [state, setState] = useState<FeedbackState | null>(null);
  const [who, setWho] = useState(() => localStorage.getItem(nameKey) ?? '');
  const [message, setMessage] = useState('');
  // The question whose answer is being sent: a key for the next question, shown by the stream
  // before this request returns, must not be dropped as "busy".
  const [sendingItem, setSendingItem] = useState<string | undefined>(undefined);
  // The scores given so far to the replies of a group question, and the reply the keys score;
  // mirrored in a ref so that keys pressed faster than the page renders build on each other.
  const [grading, setGrading] = useState<Grading>({ itemId: '', scores: [], marked: 0 });
  const gradingRef = useRef(grading);
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
  const currentGrading = (): Grading =>
    item && gradingRef.current.itemId === item.id
      ? gradingRef.current
      : { itemId: item?.id ?? '', scores: item?.candidates.map(() => null) ?? [], marked: 0 };
  const updateGrading = (change: (current: Grading) => Grading) => {
    const next = change(currentGrading());
    gradingRef.current = next;
    setGrading(next);
  };
  const busy = item !== undefined && sendingItem === item.id;
  const { scores, marked } = item && grading.itemId === item.id ? grading : currentGrading();

  const scoreReply = (index: number, score: number) =>
    updateGrading((current) => {
      const next = [...current.scores];
      next[index] = score;
      const unscored = next.findIndex((value, other) => value === null && other > index);
      const firstUnscored = next.indexOf(null);
      return {
        ...current,
        scores: next,
        marked: unscored >= 0 ? unscored : firstUnscored >= 0 ? firstUnscored : index,
      };
    });
  const mark = (index: number) => updateGrading((current) => ({ ...current, marked: index }));

  const answer = async (value: number | number[] | null) => {
    if (!item || !props.runId || sendingItem === item.id) return;
    if (who.trim() === '') {
      setMessage('Enter your name first: every rating is stored with who gave it.');
      nameInput.current?.focus();
      return;
    }
    const itemId = item.id;
    setSendingItem(itemId);
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
      setSendingItem((current) => (current === itemId ? undefined : current));
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
      if (item.kind === 'group') {
        const last = item.candidates.length - 1;
        const current = currentGrading();
        if (event.key === 'ArrowDown' || event.key === 'j') {
          event.preventDefault();
          mark(Math.min(last, current.marked + 1));
        } else if (event.key === 'ArrowUp' || event.key === 'k') {
          event.preventDefault();
          mark(Math.max(0, current.marked - 1));
        } else if (event.key === 'Enter') {
          event.preventDefault();
          if (current.scores.every((score) => score !== null)) {
            void answer(current.scores as number[]);
          } else {
            setMessage('score every reply first (1 to 5), or s to skip the group');
          }
        } else if (Number.isInteger(digit) && digit >= 1 && digit <= 5) {
          event.preventDefault();
          scoreReply(Math.min(current.marked, last), keyScore(digit));
        }
        return;
      }
      if (!Number.isInteger(digit) || digit < 1) return;
      if (item.kind === 'choose' && digit <= item.candidates.length) {
        event.preventDefault();
        void answer(digit - 1);
      } else if (item.kind === 'score' && digit <= 5) {
        event.preventDefault();
        void answer(keyScore(digit));
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
              : item.kind === 'group'
                ? `${item.candidates.length} replies to the same prompt: press 1 (bad) to 5 (good) for the marked one, ↑/↓ or j/k to move, Enter to send, s to skip.`
                : 'Press 1 (bad) to 5 (good), s to skip.'}
          </p>
          {item.kind === 'group' ? (
            <div>
              <ol class="candidates group">
                {item.candidates.map((candidate, index) => (
                  <li
                    key={index}
                    class={index === marked ? 'marked' : undefined}
                    data-score={scores[index] ?? ''}
                  >
                    <button type="button" class="candidate" onClick={() => mark(index)}>
                      <span class="reply">{candidate}</span>
                      {candidate.trim() === '' ? <em class="empty">(empty reply)</em> : null}
                    </button>
                    <span class="scores">
                      {[1, 2, 3, 4, 5].map((digit) => (
                        <button
                          key={digit}
                          type="button"
                          disabled={busy}
                          aria-pressed={scores[index] === keyScore(digit)}
                          onClick={() => scoreReply(index, keyScore(digit))}
                        >
                          {digit}
                        </button>
                      ))}
                    </span>
                  </li>
                ))}
              </ol>
              <button
                type="button"
                class="send"
                disabled={busy || scores.some((score) => score === null)}
                onClick={() => void answer(scores as number[])}
              >
                <kbd>Enter</kbd> send
              </button>
            </div>
          ) : item.kind === 'choose' ? (
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
                  onClick={() => void answer(keyScore(digit))}
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
                <td>{answerText(rating)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}
