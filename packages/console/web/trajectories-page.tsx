import { useEffect, useState } from 'preact/hooks';
import type {
  TrajectoryLine,
  TrajectoryTokenRecord,
  TrajectoryTurnRecord,
} from '../src/trajectory-record';
import { requestJson } from './api';
import { Choice } from './choice';
import { degenerateReason } from './degenerate';

/** A conversation in the viewer: a training rollout (with tokens) or an evaluation sample. */
export interface ViewerItem {
  key: string;
  source: 'rollout' | 'evaluation';
  step: number;
  scenarioId: string;
  reward: number;
  endReason: string;
  policyVersion?: number;
  rewardsByFunction: Record<string, number | null>;
  turns: TrajectoryTurnRecord[];
  degenerate: string | null;
}

interface SampleLine {
  step: number;
  scenarioId: string;
  reward: number;
  endReason?: string;
  messages: { role: string; content: string }[];
}

function toItems(data: { samples: unknown[]; trajectories: unknown[] }): ViewerItem[] {
  const items: ViewerItem[] = [];
  const degenerate = (turns: TrajectoryTurnRecord[]) => {
    for (const turn of turns) {
      if (turn.role !== 'assistant') continue;
      const reason = degenerateReason(turn.content, turn.finishReason);
      if (reason) return reason;
    }
    return null;
  };
  data.trajectories.forEach((value, index) => {
    const line = value as TrajectoryLine;
    if (line?.kind !== 'trajectory' || !Array.isArray(line.turns)) return;
    items.push({
      key: `t${index}`,
      source: 'rollout',
      step: line.step,
      scenarioId: String(line.scenarioId),
      reward: line.totalReward,
      endReason: String(line.endReason),
      policyVersion: line.policyVersion,
      rewardsByFunction: line.rewardsByFunction ?? {},
      turns: line.turns,
      degenerate: degenerate(line.turns),
    });
  });
  data.samples.forEach((value, index) => {
    const sample = value as SampleLine;
    if (!Array.isArray(sample?.messages)) return;
    const turns = sample.messages.map((message) => ({
      role: String(message.role),
      content: String(message.content),
    }));
    items.push({
      key: `s${index}`,
      source: 'evaluation',
      step: sample.step,
      scenarioId: String(sample.scenarioId),
      reward: sample.reward,
      endReason: String(sample.endReason ?? ''),
      rewardsByFunction: {},
      turns,
      degenerate: degenerate(turns),
    });
  });
  return items;
}

type Colouring = 'logProb' | 'advantage' | 'kl' | 'entropy';
const colourings: Colouring[] = ['logProb', 'advantage', 'kl', 'entropy'];

/** Background of a token: red for low log-prob, high KL or high entropy; blue/red for the sign of an advantage. */
function tokenColour(colouring: Colouring, value: number | undefined, scale: number): string {
  if (value === undefined || !Number.isFinite(value)) return 'transparent';
  if (colouring === 'advantage') {
    const strength = Math.min(1, Math.abs(value) / (scale || 1));
    return value >= 0
      ? `rgba(37, 99, 235, ${strength * 0.6})`
      : `rgba(220, 38, 38, ${strength * 0.6})`;
  }
  const badness = colouring === 'logProb' ? -value : value;
  return `rgba(220, 38, 38, ${Math.min(1, Math.max(0, badness) / (scale || 1)) * 0.6})`;
}

function TokenView(props: { tokens: TrajectoryTokenRecord[]; colouring: Colouring }) {
  const values = props.tokens
    .map((token) => token[props.colouring])
    .filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
  const scale = Math.max(1e-9, ...values.map((value) => Math.abs(value)));
  return (
    <div class="tokens">
      {props.tokens.map((token, index) => {
        const title = [
          `token ${token.id}`,
          ...colourings.flatMap((name) =>
            typeof token[name] === 'number'
              ? [`${name} ${(token[name] as number).toFixed(4)}`]
              : [],
          ),
        ].join('\n');
        return (
          <span
            key={index}
            class="token"
            title={title}
            data-token-id={token.id}
            data-log-prob={token.logProb}
            style={{ background: tokenColour(props.colouring, token[props.colouring], scale) }}
          >
            {token.text}
          </span>
        );
      })}
    </div>
  );
}

function Conversation(props: { item: ViewerItem; colouring: Colouring }) {
  const { item } = props;
  return (
    <article class="conversation" data-scenario={item.scenarioId} data-step={item.step}>
      <header>
        <strong>{item.scenarioId}</strong> step {item.step} · {item.source} · reward{' '}
        {item.reward.toFixed(3)} · {item.endReason}
        {item.policyVersion !== undefined ? ` · policy version ${item.policyVersion}` : ''}
        {item.degenerate ? <span class="degenerate"> · degenerate: {item.degenerate}</span> : null}
      </header>
      {Object.keys(item.rewardsByFunction).length > 0 ? (
        <ul class="rewards">
          {Object.entries(item.rewardsByFunction).map(([name, value]) => (
            <li key={name}>
              {name}: {value === null ? 'n/a' : value.toFixed(3)}
            </li>
          ))}
        </ul>
      ) : null}
      {item.turns.map((turn, index) => (
        <div
          key={index}
          class={`turn turn-${turn.role === 'assistant' ? 'assistant' : turn.role === 'user' ? 'user' : 'other'}`}
        >
          <div class="role">
            {turn.role}
            {typeof turn.reward === 'number' ? ` · reward ${turn.reward.toFixed(3)}` : ''}
          </div>
          {turn.tokens && turn.tokens.length > 0 ? (
            <TokenView tokens={turn.tokens} colouring={props.colouring} />
          ) : (
            <div class="text">{turn.content}</div>
          )}
        </div>
      ))}
    </article>
  );
}

/**
 * Browse a run's rollouts (`trajectories.jsonl`) and evaluation samples
 * (`samples.jsonl`) by step, scenario and reward; colour tokens by
 * log-prob, advantage, KL or entropy; compare one scenario at two steps;
 * show only degenerate replies.
 */
export function TrajectoriesPage(props: { runId: string | undefined }) {
  const [items, setItems] = useState<ViewerItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [step, setStep] = useState('all');
  const [scenario, setScenario] = useState('all');
  const [minimumReward, setMinimumReward] = useState('');
  const [onlyDegenerate, setOnlyDegenerate] = useState(false);
  const [colouring, setColouring] = useState<Colouring>('logProb');
  const [compareStep, setCompareStep] = useState('none');
  useEffect(() => {
    if (!props.runId) return;
    setItems(null);
    requestJson<{ samples: unknown[]; trajectories: unknown[] }>(
      `/api/runs/${encodeURIComponent(props.runId)}/trajectories`,
    ).then(
      (data) => setItems(toItems(data)),
      (caught: Error) => setError(caught.message),
    );
  }, [props.runId]);
  if (!props.runId) return <p>Select a run above.</p>;
  if (error) return <p class="error">{error}</p>;
  if (!items) return <p>Loading…</p>;
  const steps = [...new Set(items.map((item) => item.step))].sort((a, b) => a - b);
  const scenarios = [...new Set(items.map((item) => item.scenarioId))].sort();
  const matches = (item: ViewerItem, wantedStep: string) =>
    (wantedStep === 'all' || item.step === Number(wantedStep)) &&
    (scenario === 'all' || item.scenarioId === scenario) &&
    (minimumReward === '' || item.reward >= Number(minimumReward)) &&
    (!onlyDegenerate || item.degenerate !== null);
  const shown = items.filter((item) => matches(item, step));
  const compared =
    compareStep === 'none' ? null : items.filter((item) => matches(item, compareStep));
  return (
    <div>
      <div class="toolbar">
        <Choice
          label="step"
          value={step}
          choices={steps}
          first={{ value: 'all', label: 'all' }}
          onChange={setStep}
        />
        <Choice
          label="scenario"
          value={scenario}
          choices={scenarios}
          first={{ value: 'all', label: 'all' }}
          onChange={setScenario}
        />
        <label>
          reward ≥{' '}
          <input
            size={5}
            value={minimumReward}
            aria-label="minimum reward"
            onInput={(event) => setMinimumReward((event.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          <input
            type="checkbox"
            checked={onlyDegenerate}
            aria-label="only degenerate"
            onChange={(event) => setOnlyDegenerate((event.target as HTMLInputElement).checked)}
          />{' '}
          only degenerate
        </label>
        <Choice
          label="colour by"
          value={colouring}
          choices={colourings}
          onChange={(value) => setColouring(value as Colouring)}
        />
        <Choice
          label="compare with step"
          value={compareStep}
          choices={steps}
          first={{ value: 'none', label: 'none' }}
          onChange={setCompareStep}
        />
        <span class="count" data-count={shown.length}>
          {shown.length} of {items.length}
        </span>
      </div>
      <div class={compared ? 'compare' : ''}>
        <section class="column">
          {shown.slice(0, 200).map((item) => (
            <Conversation key={item.key} item={item} colouring={colouring} />
          ))}
        </section>
        {compared ? (
          <section class="column compared">
            {compared.slice(0, 200).map((item) => (
              <Conversation key={item.key} item={item} colouring={colouring} />
            ))}
          </section>
        ) : null}
      </div>
    </div>
  );
}
