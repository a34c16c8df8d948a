import type { MethodParamPublic, MethodPublic } from "../../client";
import SchemaField from "./SchemaField";

/** Fields beyond this count go under "more parameters": peft tuners have dozens. */
const SHOWN = 6;

/** The method's parameters, each rendered from its JSON-Schema fragment in the catalogue. */
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
  const field = (p: MethodParamPublic) => (
    <SchemaField
      key={p.name}
      label={p.name}
      name={`params.${p.name}`}
      schema={p.schema}
      value={values[p.name]}
      onChange={(v) => onChange({ ...values, [p.name]: v })}
    />
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
