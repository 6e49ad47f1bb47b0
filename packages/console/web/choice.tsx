/** A labelled drop-down of string choices; `first` is an extra leading choice such as "all". */
export function Choice(props: {
  label: string;
  value: string;
  choices: readonly (string | number)[];
  first?: { value: string; label: string };
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {props.label}{' '}
      <select
        value={props.value}
        aria-label={props.label}
        onChange={(event) => props.onChange((event.target as HTMLSelectElement).value)}
      >
        {props.first ? <option value={props.first.value}>{props.first.label}</option> : null}
        {props.choices.map((choice) => (
          <option key={choice} value={String(choice)}>
            {choice}
          </option>
        ))}
      </select>
    </label>
  );
}
