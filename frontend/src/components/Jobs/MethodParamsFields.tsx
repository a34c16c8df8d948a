import type { MethodParamPublic, MethodPublic } from "../../client";
import { CheckField, NumberField } from "./FormFields";
import { paramKind } from "./jobDraft";

/** Fields beyond this count go under "more parameters": peft tuners have dozens. */
const SHOWN = 6;

/** The method's parameters, rendered from the catalogue (name, type, default, help, choices). */
export default function MethodParamsFields({
  method,
  values,
  onChange,
}: {
  readonly method: MethodPublic;
  readonly values: Readonly<Record<string, unknown>>;
  readonly onChange: (values: Record<string, unknown>) => void;
}) {
  if (method.params.length === 0) {
    return <p className="muted small">{method.name} has no parameters to set.</p>;
  }
  const set = (name: string, v: unknown) => onChange({ ...values, [name]: v });
  const field = (p: MethodParamPublic) => (
    <ParamField key={p.name} param={p} value={values[p.name]} onChange={(v) => set(p.name, v)} />
  );
  const first = method.params.slice(0, SHOWN);
  const rest = method.params.slice(SHOWN);
  return (
    <div data-testid="method-params">
      <div className="fields">{first.map(field)}</div>
      {rest.length > 0 && (
        <details>
          <summary>{rest.length} more parameters</summary>
          <div className="fields">{rest.map(field)}</div>
        </details>
      )}
      {method.extra_params_from && (
        <p className="muted small">
          Any other field of peft's <code>{method.extra_params_from}</code> is accepted through the REST API.
        </p>
      )}
    </div>
  );
}

function ParamField({
  param,
  value,
  onChange,
}: {
  readonly param: MethodParamPublic;
  readonly value: unknown;
  readonly onChange: (v: unknown) => void;
}) {
  const k = paramKind(param);
  const name = `params.${param.name}`;
  const help = param.help || undefined;
  switch (k.kind) {
    case "bool":
      return <CheckField label={param.name} name={name} checked={Boolean(value)} onChange={onChange} help={help} />;
    case "int":
    case "float":
      return (
        <NumberField
          label={param.name}
          name={name}
          value={typeof value === "number" ? value : null}
          onChange={onChange}
          step={k.kind === "int" ? 1 : "any"}
          optional={param.default === null}
          help={help}
        />
      );
    case "select":
      return (
        <label>
          {param.name}
          <select
            name={name}
            value={JSON.stringify(value ?? null)}
            onChange={(e) => onChange(JSON.parse(e.target.value))}
          >
            {k.options.map((o) => (
              <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
                {String(o)}
              </option>
            ))}
          </select>
          {help && <span className="field-help">{help}</span>}
        </label>
      );
    default:
      return (
        <label>
          {param.name}
          <input
            name={name}
            value={typeof value === "string" ? value : ""}
            placeholder={param.default === null ? "not set" : undefined}
            onChange={(e) => onChange(e.target.value)}
          />
          <span className="field-help">
            {help ? `${help} ` : ""}
            <code>{param.type}</code>
          </span>
        </label>
      );
  }
}
