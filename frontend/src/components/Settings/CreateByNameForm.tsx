/** The one-field "name it and create" form of the Settings panels (tokens, teams). */
export default function CreateByNameForm(props: {
  readonly formLabel: string;
  readonly label: string;
  readonly inputName: string;
  readonly placeholder?: string;
  readonly submitLabel: string;
  readonly value: string;
  readonly pending: boolean;
  readonly onChange: (value: string) => void;
  readonly onSubmit: (name: string) => void;
}) {
  const name = props.value.trim();
  return (
    <form
      className="inline-form"
      aria-label={props.formLabel}
      onSubmit={(e) => {
        e.preventDefault();
        if (name) props.onSubmit(name);
      }}
    >
      <label>
        {props.label}
        {/* The API takes names of up to 120 characters for tokens and teams alike. */}
        <input
          name={props.inputName}
          value={props.value}
          maxLength={120}
          placeholder={props.placeholder}
          onChange={(e) => props.onChange(e.target.value)}
        />
      </label>
      <button type="submit" className="primary" disabled={!name || props.pending}>
        {props.pending ? "Creating…" : props.submitLabel}
      </button>
    </form>
  );
}
