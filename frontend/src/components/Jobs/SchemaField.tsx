import { CheckField, NumberField } from "./FormFields";
import { numberProblem, optionLabel, widgetFor } from "./schemaWidgets";
import type { Fragment } from "./schemaWidgets";

/**
 * One input built from a JSON-Schema fragment (see schemaWidgets.ts): its kind, bounds and
 * choices come from the schema, its help text from the schema's description.
 * `value` is what widgetValue() gives (the text typed, for a JSON field).
 */
export default function SchemaField({
  label,
  name,
  schema,
  value,
  onChange,
}: {
  readonly label: string;
  readonly name: string;
  readonly schema: Fragment;
  readonly value: unknown;
  readonly onChange: (v: unknown) => void;
}) {
  const widget = widgetFor(schema);
  const help = schema.description || undefined;
  switch (widget.kind) {
    case "checkbox":
      return <CheckField label={label} name={name} checked={Boolean(value)} onChange={onChange} help={help} />;
    case "number":
      return (
        <NumberField
          label={label}
          name={name}
          value={typeof value === "number" ? value : null}
          onChange={onChange}
          step={widget.integer ? 1 : "any"}
          min={widget.min}
          max={widget.max}
          optional={widget.nullable || schema.default === null}
          help={help}
          problem={typeof value === "number" ? numberProblem(schema, value) : null}
        />
      );
    case "select": {
      const options = widget.nullable ? [null, ...widget.options] : widget.options;
      return (
        <label>
          {label}
          <select name={name} value={JSON.stringify(value ?? null)} onChange={(e) => onChange(JSON.parse(e.target.value))}>
            {options.map((o) => (
              <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
                {optionLabel(o)}
              </option>
            ))}
          </select>
          {help && <span className="field-help">{help}</span>}
        </label>
      );
    }
    case "number-or-choice": {
      const isNumber = typeof value === "number";
      const fallback = typeof schema.default === "number" ? schema.default : (widget.number.min ?? 1);
      const choices = widget.nullable ? [null, ...widget.choices] : widget.choices;
      return (
        <div className="field number-or-choice" role="group" aria-label={label}>
          <span className="field-label">{label}</span>
          <div className="row tight">
            <select
              name={`${name}.kind`}
              aria-label={`${label}: a number or a choice`}
              value={isNumber ? "number" : JSON.stringify(value ?? null)}
              onChange={(e) => onChange(e.target.value === "number" ? fallback : JSON.parse(e.target.value))}
            >
              <option value="number">number</option>
              {choices.map((o) => (
                <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
                  {optionLabel(o)}
                </option>
              ))}
            </select>
            {isNumber && (
              <input
                type="number"
                name={name}
                aria-label={label}
                step={widget.number.integer ? 1 : "any"}
                min={widget.number.min}
                max={widget.number.max}
                required
                aria-invalid={numberProblem(schema, value) ? true : undefined}
                value={Number.isNaN(value) ? "" : value}
                onChange={(e) => onChange(e.target.value === "" ? Number.NaN : Number(e.target.value))}
              />
            )}
          </div>
          {isNumber && !Number.isNaN(value) && numberProblem(schema, value) && (
            <span className="field-error" role="alert">
              {label} {numberProblem(schema, value)}
            </span>
          )}
          {help && <span className="field-help">{help}</span>}
        </div>
      );
    }
    case "text":
      return (
        <label>
          {label}
          <input
            name={name}
            value={typeof value === "string" ? value : ""}
            placeholder={widget.nullable ? "not set" : undefined}
            onChange={(e) => onChange(widget.nullable && e.target.value === "" ? null : e.target.value)}
          />
          {help && <span className="field-help">{help}</span>}
        </label>
      );
    case "json":
      return (
        <label>
          {label}
          <input
            name={name}
            value={typeof value === "string" ? value : ""}
            placeholder={schema.default === null ? "not set" : undefined}
            onChange={(e) => onChange(e.target.value)}
          />
          <span className="field-help">
            {help ? `${help} ` : ""}({widget.shape})
          </span>
        </label>
      );
  }
}
