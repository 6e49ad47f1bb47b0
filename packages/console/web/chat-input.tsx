import type { Ref } from 'preact';

/** The chat's message line: Enter sends; disabled while the agent answers. */
export function ChatInput(props: {
  inputRef: Ref<HTMLInputElement>;
  value: string;
  busy: boolean;
  /** What the empty line says while the person may type. */
  placeholder: string;
  onInput: (value: string) => void;
  onSend: () => void;
}) {
  return (
    <form
      class="chat-form"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSend();
      }}
    >
      <input
        ref={props.inputRef}
        value={props.value}
        aria-label="message"
        placeholder={props.busy ? 'the agent is answering…' : props.placeholder}
        disabled={props.busy}
        onInput={(event) => props.onInput((event.target as HTMLInputElement).value)}
      />
    </form>
  );
}
