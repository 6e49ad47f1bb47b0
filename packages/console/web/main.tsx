import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type RunInfo, requestJson } from './api';
import { runColours } from './chart';
import { ChatPage } from './chat-page';
import { FeedbackPage } from './feedback-page';
import { MetricsPage } from './metrics-page';
import { TrajectoriesPage } from './trajectories-page';

type Page = 'metrics' | 'trajectories' | 'feedback' | 'chat';
const pages: Page[] = ['metrics', 'trajectories', 'feedback', 'chat'];

function currentPage(): Page {
  const name = window.location.hash.replace(/^#\/?/, '');
  return (pages as string[]).includes(name) ? (name as Page) : 'metrics';
}

function App() {
  const [runs, setRuns] = useState<RunInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [page, setPage] = useState<Page>(currentPage);

  useEffect(() => {
    requestJson<RunInfo[]>('/api/runs').then(
      (list) => {
        setRuns(list);
        setSelected(list.slice(0, 1).map((run) => run.id));
      },
      (caught: Error) => setError(caught.message),
    );
    const onHash = () => setPage(currentPage());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  if (error) return <p class="error">{error}</p>;
  if (!runs) return <p>Loading…</p>;
  const toggle = (id: string) =>
    setSelected((current) =>
      page === 'metrics'
        ? current.includes(id)
          ? current.filter((item) => item !== id)
          : [...current, id]
        : [id],
    );
  return (
    <div>
      <header class="top">
        <h1>Cohort console</h1>
        <nav>
          {pages.map((name) => (
            <a key={name} href={`#/${name}`} class={name === page ? 'active' : ''}>
              {name}
            </a>
          ))}
        </nav>
      </header>
      <div class="runs">
        {runs.map((run, index) => (
          <label key={run.id} class="run-choice">
            <input
              type={page === 'metrics' ? 'checkbox' : 'radio'}
              name="run"
              checked={selected.includes(run.id)}
              onChange={() => toggle(run.id)}
            />
            <span class="swatch" style={{ background: runColours[index % runColours.length] }} />
            {run.name}
            {run.feedback ? ' (waiting for feedback)' : ''}
          </label>
        ))}
      </div>
      <main>
        {page === 'metrics' ? <MetricsPage runs={runs} selected={selected} /> : null}
        {page === 'trajectories' ? <TrajectoriesPage runId={selected[0]} /> : null}
        {page === 'feedback' ? <FeedbackPage runId={selected[0]} /> : null}
        {page === 'chat' ? <ChatPage runId={selected[0]} /> : null}
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
