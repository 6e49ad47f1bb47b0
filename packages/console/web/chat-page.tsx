import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleChatMessage, ConsoleToolScenario } from '../src/console-server';
import { requestJson } from './api';
import { ChatInput } from './chat-input';
import { Choice } from './choice';
import { ToolChat } from './tool-chat';

interface ChatInfo {
  chat: boolean;
  checkpoints: string[];
  /** The scenarios of a run whose environment offers tools; null: chat without tools. */
  tools: ConsoleToolScenario[] | null;
}

/**
 * Talk to a checkpoint of the run (or its base model): Enter sends, the
 * reply comes from the checkpoint's weights with its own system prompt.
 * Switching the checkpoint keeps the conversation, so two steps can answer
 * the same messages. On a run whose environment offers tools the chat has
 * them (see {@link ToolChat}).
 */
export function ChatPage(props: { runId: string | undefined }) {
  const [info, setInfo] = useState<ChatInfo | null>(null);
  const [checkpoint, setCheckpoint] = useState<string>('');
  const [messages, setMessages] = useState<ConsoleChatMessage[]>([]);
  const [systemPrompt, setSystemPrompt] = useState('');
  const [draft, setDraft] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (!props.runId) return;
    setMessages([]);
    requestJson<ChatInfo>(`/api/runs/${encodeURIComponent(props.runId)}/checkpoints`).then(
      (value) => {
        setInfo(value);
        setCheckpoint(value.checkpoints.at(-1) ?? '');
      },
      (caught: Error) => setError(caught.message),
    );
  }, [props.runId]);

  const send = async () => {
    const text = draft.trim();
    if (!props.runId || text === '' || busy) return;
    const asked: ConsoleChatMessage[] = [...messages, { role: 'user', content: text }];
    setMessages(asked);
    setDraft('');
    setBusy(true);
    setError('');
    try {
      const answer = await requestJson<{ reply: string; systemPrompt: string }>(
        `/api/runs/${encodeURIComponent(props.runId)}/chat`,
        { checkpoint: checkpoint === '' ? null : checkpoint, messages: asked },
      );
      setSystemPrompt(answer.systemPrompt);
      setMessages([...asked, { role: 'assistant', content: answer.reply }]);
    } catch (caught) {
      setError((caught as Error).message);
      setMessages(messages);
      setDraft(text);
    } finally {
      setBusy(false);
      input.current?.focus();
    }
  };

  if (!props.runId) return <p>Select a run above.</p>;
  if (!info) return error ? <p class="error">{error}</p> : <p>Loading…</p>;
  if (!info.chat) return <p>Chat is off in this console: start it with agent-trainer console.</p>;
  const checkpointChoice = (
    <Choice
      label="checkpoint"
      value={checkpoint}
      choices={info.checkpoints}
      first={{ value: '', label: 'base model' }}
      onChange={setCheckpoint}
    />
  );
  if (info.tools) {
    return (
      <div class="chat">
        <div class="toolbar">{checkpointChoice}</div>
        <ToolChat runId={props.runId} checkpoint={checkpoint} scenarios={info.tools} />
      </div>
    );
  }
  return (
    <div class="chat">
      <div class="toolbar">
        {checkpointChoice}
        <button type="button" onClick={() => setMessages([])} disabled={busy}>
          new conversation
        </button>
      </div>
      {systemPrompt ? <div class="turn turn-other system-prompt">{systemPrompt}</div> : null}
      {messages.map((message, index) => (
        <div key={index} class={`turn chat-${message.role} turn-${message.role}`}>
          <div class="role">{message.role}</div>
          <div class="text">{message.content}</div>
        </div>
      ))}
      {error ? <p class="error">{error}</p> : null}
      <ChatInput
        inputRef={input}
        value={draft}
        busy={busy}
        placeholder="your message, Enter to send"
        onInput={setDraft}
        onSend={() => void send()}
      />
    </div>
  );
}
