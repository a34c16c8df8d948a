import type { AxisDraft, VariantDraft } from "./studyDraft";
import { axisProblems, axisSize } from "./studyDraft";

const EXAMPLE_SET = '{"adapter": {"method": "lora", "placement": {"modules": ["q", "v"]}}}';

/**
 * The axes of a study of one's own: a dotted path into the job config with its values, or
 * labelled variants (partial configs laid over the base, for values that go together).
 */
export default function AxesEditor({
  axes,
  onChange,
}: {
  readonly axes: readonly AxisDraft[];
  readonly onChange: (axes: AxisDraft[]) => void;
}) {
  const problems = axisProblems(axes);
  const update = (i: number, axis: AxisDraft) => onChange(axes.map((a, j) => (j === i ? axis : a)));
  const remove = (i: number) => onChange(axes.filter((_, j) => j !== i));
  const setVariant = (i: number, axis: AxisDraft & { kind: "variants" }, k: number, v: VariantDraft) =>
    update(i, { ...axis, variants: axis.variants.map((x, j) => (j === k ? v : x)) });
  return (
    <section className="card" aria-label="Axes">
      <h2>Axes</h2>
      <p className="muted small">
        The cells are every combination of the axes' values. A path such as <code>adapter.params.r</code>,{" "}
        <code>adapter.params.bottleneck_size</code> or <code>training.learning_rate</code> takes a list of values; a
        variants axis lays labelled partial configs over the base (a method with its placement).
      </p>
      {axes.map((axis, i) => (
        <fieldset key={i} className="axis">
          <legend>
            Axis {i + 1} · {axisSize(axis)} value{axisSize(axis) === 1 ? "" : "s"}
          </legend>
          <div className="fields">
            <label className="field">
              Column name
              <input value={axis.name} name={`axis-${i}-name`} onChange={(e) => update(i, { ...axis, name: e.target.value })} />
            </label>
            {axis.kind === "path" ? (
              <>
                <label className="field">
                  Path
                  <input value={axis.path} name={`axis-${i}-path`} onChange={(e) => update(i, { ...axis, path: e.target.value })} />
                </label>
                <label className="field">
                  Values
                  <input
                    value={axis.values}
                    name={`axis-${i}-values`}
                    onChange={(e) => update(i, { ...axis, values: e.target.value })}
                  />
                  <span className="field-help">comma-separated; JSON where needed: 4, 8, 16 or ["q","v"], ["q","k","v"]</span>
                </label>
              </>
            ) : (
              axis.variants.map((v, k) => (
                <div key={k} className="variant">
                  <label className="field">
                    Label
                    <input
                      value={v.label}
                      name={`axis-${i}-variant-${k}-label`}
                      onChange={(e) => setVariant(i, axis, k, { ...v, label: e.target.value })}
                    />
                  </label>
                  <label className="field">
                    Set (JSON)
                    <textarea
                      rows={2}
                      value={v.set}
                      name={`axis-${i}-variant-${k}-set`}
                      onChange={(e) => setVariant(i, axis, k, { ...v, set: e.target.value })}
                    />
                  </label>
                  <button
                    type="button"
                    className="link"
                    onClick={() => update(i, { ...axis, variants: axis.variants.filter((_, j) => j !== k) })}
                  >
                    Remove variant
                  </button>
                </div>
              ))
            )}
          </div>
          <div className="row">
            {axis.kind === "variants" && (
              <button
                type="button"
                onClick={() =>
                  update(i, { ...axis, variants: [...axis.variants, { label: `variant ${axis.variants.length + 1}`, set: "{}" }] })
                }
              >
                Add a variant
              </button>
            )}
            <button type="button" className="link" onClick={() => remove(i)}>
              Remove axis
            </button>
          </div>
        </fieldset>
      ))}
      <div className="row">
        <button
          type="button"
          onClick={() => onChange([...axes, { kind: "path", name: "", path: "training.learning_rate", values: "1e-4, 3e-4" }])}
        >
          Add a path axis
        </button>
        <button
          type="button"
          onClick={() =>
            onChange([...axes, { kind: "variants", name: "variant", variants: [{ label: "LoRA q,v", set: EXAMPLE_SET }] }])
          }
        >
          Add a variants axis
        </button>
      </div>
      {problems.length > 0 && (
        <ul className="error-box" role="alert">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
