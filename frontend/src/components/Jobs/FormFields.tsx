/** Small controlled inputs shared by the job form. */
import type { ReactNode } from "react";

export function NumberField({
  label,
  name,
  value,
  onChange,
  step = "any",
  min,
  max,
  optional,
  help,
  problem,
}: {
  readonly label: string;
  readonly name: string;
  readonly value: number | null;
  readonly onChange: (v: number | null) => void;
  readonly step?: number | "any";
  readonly min?: number;
  readonly max?: number;
  readonly optional?: boolean;
  readonly help?: ReactNode;
  /** what is wrong with the value typed, shown beside the field (null: nothing) */
  readonly problem?: string | null;
}) {
  return (
    <label>
      {label}
      <input
        type="number"
        aria-invalid={problem ? true : undefined}
        name={name}
        step={step}
        min={min}
        max={max}
        placeholder={optional ? "not set" : undefined}
        required={!optional}
        value={value === null || Number.isNaN(value) ? "" : value}
        onChange={(e) => onChange(e.target.value === "" ? null : Number(e.target.value))}
      />
      {problem && (
        <span className="field-error" role="alert">
          {label} {problem}
        </span>
      )}
      {help && <span className="field-help">{help}</span>}
    </label>
  );
}

export function CheckField({
  label,
  name,
  checked,
  onChange,
  help,
}: {
  readonly label: string;
  readonly name: string;
  readonly checked: boolean;
  readonly onChange: (v: boolean) => void;
  readonly help?: ReactNode;
}) {
  return (
    <div className="check-field">
      <label className="inline">
        <input type="checkbox" name={name} checked={checked} onChange={(e) => onChange(e.target.checked)} />
        {label}
      </label>
      {help && <span className="field-help">{help}</span>}
    </div>
  );
}
