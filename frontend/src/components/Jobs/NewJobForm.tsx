import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";

import { ApiError } from "../../api";
import type { BaseModelPublic, BenchmarkPublic, DatasetPublic, EstimateJobRequest, JobConfigCreate, MethodPresetPublic, MethodPublic } from "../../client";
import { formatCount, formatInteger } from "../../format";
import { useDebounced } from "../../hooks/useDebounced";
import { estimateQuery, jobEstimateQuery } from "../../queries";
import PlacementPicker from "../Placement/PlacementPicker";
import { pickerRules, placementForConfig } from "../Placement/placementRules";
import JobEstimate from "./JobEstimate";
import MethodParamsFields from "./MethodParamsFields";
import PickMethodCards from "./PickMethodCards";
import PickPresetSelect from "./PickPresetSelect";
import SchemaField from "./SchemaField";
import { numberProblem } from "./schemaWidgets";
import TrainingPlanSummary from "./TrainingPlanSummary";
import { advancedFields, mainFields } from "./configFields";
import type { ConfigField } from "./configFields";
import { configFromDraft, draftForMethod, draftForPreset, paramsForConfig, presetsOf, trainingForConfig } from "./jobDraft";
import type { JobDraft } from "./jobDraft";

/**
 * The New job form. Every method-specific part — cards, placement, parameters — is built from
 * the catalogues (GET /models, /methods, /benchmarks), so a new method needs no UI change; the
 * training and evaluation fields from the job config's schema, so a new setting needs none either.
 */
export default function NewJobForm({
  models,
  methods,
  datasets,
  benchmarks,
  initialDraft,
  submitting,
  submitError,
  onSubmit,
}: {
  readonly models: readonly BaseModelPublic[];
  readonly methods: readonly MethodPublic[];
  readonly datasets: readonly DatasetPublic[];
  readonly benchmarks: readonly BenchmarkPublic[];
  readonly initialDraft: JobDraft;
  readonly submitting?: boolean;
  readonly submitError?: string | null;
  /** `initial` is the config the form would have sent untouched (what a clone changes from) */
  readonly onSubmit: (config: JobConfigCreate, initial: JobConfigCreate | null) => void;
}) {
  const [draft, setDraft] = useState<JobDraft>(initialDraft);
  const presets = useMemo(() => presetsOf(methods), [methods]);
  const [preset, setPreset] = useState<MethodPresetPublic | null>(null);
  // A preset sets advanced fields too (prompt template, decoding, scoring): show them.
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const pickPreset = (p: MethodPresetPublic | null) => {
    setPreset(p);
    if (!p) return;
    const next = draftForPreset(draft, p, methods);
    if (next) {
      setDraft(next);
      setAdvancedOpen(true);
    }
  };
  const [initialConfig] = useState(() => {
    const m = methods.find((x) => x.name === initialDraft.method);
    const f = models.find((x) => x.reference === initialDraft.base_model)?.family;
    return m ? configFromDraft(initialDraft, m, f) : null;
  });
  const model = models.find((m) => m.reference === draft.base_model);
  const method = methods.find((m) => m.name === draft.method);
  const family = model?.family;
  const rules = method ? pickerRules(method, family) : null;

  const setBenchmarks = (benchmarks: string[]) =>
    setDraft((d) => ({ ...d, evaluation: { ...d.evaluation, benchmarks } }));
  // One input per config field, built from its schema (type, bounds, choices, description).
  const configField = (f: ConfigField) => {
    const values = draft[f.section] as Record<string, unknown>;
    const extraHelp =
      f.name === "training.learning_rate" && method ? ` (${method.name}'s default: ${method.default_learning_rate})` : "";
    return (
      <SchemaField
        key={f.name}
        label={f.label}
        name={f.name}
        schema={extraHelp ? { ...f.schema, description: `${f.schema.description ?? ""}${extraHelp}` } : f.schema}
        value={values[f.key]}
        onChange={(v) => setDraft((d) => ({ ...d, [f.section]: { ...d[f.section], [f.key]: v } }))}
      />
    );
  };
  const advanced = [...advancedFields("training"), ...advancedFields("evaluation"), ...advancedFields("decoding")];

  const selectedAdapter = useMemo(
    () =>
      method && rules
        ? {
            method: method.name,
            placement: placementForConfig(draft.placement, rules),
            params: paramsForConfig(method, draft.params),
          }
        : null,
    [method, family, draft.placement, draft.params],
  );

  const refused = method && family ? method.refused_families[family] : undefined;
  // The API judges the adapter (placement and params): its 422 names the problem. The same query
  // as the method card's estimate, so it is asked once.
  const estimate = useQuery({
    ...estimateQuery(draft.base_model, selectedAdapter ?? {}),
    enabled: Boolean(draft.base_model) && selectedAdapter !== null && !refused,
  });
  const adapterProblem =
    estimate.error instanceof ApiError && estimate.error.status === 422 ? estimate.error.message : null;

  // The whole job's estimate (memory, time) once the form pauses; without a dataset the total
  // time is left open. Asked only for an adapter the API accepted above.
  // Debounced as text: a config object is new on every render, its JSON only when it changes.
  const estimateJson = useDebounced(
    method && draft.base_model && !refused && !adapterProblem
      ? JSON.stringify({ ...configFromDraft(draft, method, family), dataset_id: draft.dataset_id })
      : null,
    400,
  );
  const jobEstimate = useQuery(jobEstimateQuery(estimateJson === null ? null : (JSON.parse(estimateJson) as EstimateJobRequest)));

  const problems: string[] = [];
  if (!draft.base_model) problems.push("Pick a base model.");
  if (!method) problems.push("Pick an adapter method.");
  if (draft.dataset_id === null) problems.push("Pick a training dataset.");
  if (adapterProblem) problems.push("The adapter settings are refused (see above).");
  if (refused) problems.push(refused);
  const badFields = [...mainFields("training"), ...mainFields("evaluation"), ...advanced].filter((f) => {
    const v = (draft[f.section] as Record<string, unknown>)[f.key];
    return typeof v === "number" && numberProblem(f.schema, v) !== null;
  });
  if (badFields.length) problems.push(`Fix ${badFields.map((f) => f.label).join(", ")} (marked in red).`);

  const imported = benchmarks.filter((b) => b.imported);
  const suites = [...new Set(imported.map((b) => b.suite))];

  return (
    <form
      className="new-job-form"
      aria-label="New job"
      onSubmit={(e) => {
        e.preventDefault();
        if (method && !problems.length) onSubmit(configFromDraft(draft, method, family), initialConfig);
      }}
    >
      <fieldset>
        <legend>Run</legend>
        <div className="fields">
          <label>
            Name
            <input
              name="name"
              value={draft.name}
              placeholder={method ? `${method.name}-${draft.base_model.split(/[:/]/).pop() ?? ""}` : "my-run"}
              onChange={(e) => setDraft({ ...draft, name: e.target.value })}
            />
          </label>
          <label>
            Base model
            <select
              name="base_model"
              value={draft.base_model}
              onChange={(e) => setDraft({ ...draft, base_model: e.target.value, placement: { ...draft.placement, layers: "all" } })}
            >
              <option value="" disabled>
                choose a model…
              </option>
              {models.map((m) => (
                <option key={m.id} value={m.reference}>
                  {m.label} ({m.reference})
                </option>
              ))}
            </select>
            {model && (
              <span className="field-help">
                {model.family} family · {model.num_layers ?? "?"} layers · {formatCount(model.parameters)} parameters
              </span>
            )}
          </label>
          <label>
            Training dataset
            <select
              name="dataset_id"
              value={draft.dataset_id ?? ""}
              onChange={(e) => setDraft({ ...draft, dataset_id: e.target.value ? Number(e.target.value) : null })}
            >
              <option value="">{datasets.length ? "choose a dataset…" : "no datasets: upload one first"}</option>
              {datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({formatInteger(d.row_count)} rows)
                </option>
              ))}
            </select>
          </label>
        </div>
      </fieldset>

      <fieldset>
        <legend>Adapter method</legend>
        <PickPresetSelect presets={presets} picked={preset} onPick={pickPreset} />
        <PickMethodCards
          methods={methods}
          selected={draft.method}
          baseModel={draft.base_model}
          family={family}
          selectedAdapter={selectedAdapter}
          onSelect={(m) => {
            setPreset(null); // another method is no longer the preset's settings
            setDraft(draftForMethod(draft, m));
          }}
        />
      </fieldset>

      {method && (
        <fieldset>
          <legend>Placement: where {method.name} goes</legend>
          <PlacementPicker
            method={method}
            family={family}
            numLayers={model?.num_layers}
            placement={draft.placement}
            onChange={(placement) => setDraft({ ...draft, placement })}
          />
        </fieldset>
      )}

      {method && (
        <fieldset>
          <legend>{method.name} parameters</legend>
          <MethodParamsFields method={method} values={draft.params} onChange={(params) => setDraft({ ...draft, params })} />
        </fieldset>
      )}
      {adapterProblem && (
        <p className="error-box" role="alert" data-testid="adapter-problem">
          {adapterProblem}
        </p>
      )}

      <fieldset>
        <legend>Training</legend>
        <div className="fields">{mainFields("training").map(configField)}</div>
        <TrainingPlanSummary datasetId={draft.dataset_id} training={trainingForConfig(draft.training)} />
      </fieldset>

      <fieldset>
        <legend>Evaluation</legend>
        {imported.length === 0 ? (
          <p className="muted small">No benchmark sets are imported yet; the job will train without evaluating.</p>
        ) : (
          suites.map((suite) => (
            <div key={suite} className="row" style={{ marginBottom: "0.4rem" }}>
              <strong className="small" style={{ width: 110 }}>
                {suite}
              </strong>
              {imported
                .filter((b) => b.suite === suite)
                .map((b) => (
                  <label key={b.name} className="inline" title={b.description}>
                    <input
                      type="checkbox"
                      name={`benchmark.${b.name}`}
                      checked={draft.evaluation.benchmarks.includes(b.name)}
                      onChange={(e) =>
                        setBenchmarks(
                          e.target.checked
                            ? [...draft.evaluation.benchmarks, b.name]
                            : draft.evaluation.benchmarks.filter((x) => x !== b.name),
                        )
                      }
                    />
                    {b.name}
                  </label>
                ))}
            </div>
          ))
        )}
        <div className="fields" style={{ marginTop: "0.6rem" }}>
          {mainFields("evaluation").map(configField)}
        </div>
      </fieldset>

      <details className="advanced" open={advancedOpen} onToggle={(e) => setAdvancedOpen(e.currentTarget.open)}>
        <summary>Advanced settings</summary>
        <fieldset>
          <legend>Advanced</legend>
          <div className="fields">{advanced.filter((f) => !f.isFlag).map(configField)}</div>
          <div className="fields flags">{advanced.filter((f) => f.isFlag).map(configField)}</div>
        </fieldset>
      </details>

      <fieldset className="estimate-fieldset">
        <legend>Estimate</legend>
        <JobEstimate
          estimate={jobEstimate.data}
          pending={jobEstimate.isFetching}
          error={jobEstimate.error instanceof ApiError ? jobEstimate.error.message : jobEstimate.error ? String(jobEstimate.error) : null}
        />
      </fieldset>

      {submitError && (
        <p className="error-box form-error" role="alert" data-testid="submit-error">
          {submitError}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={submitting || problems.length > 0}>
          {submitting ? "Starting…" : "Start training"}
        </button>
        {problems.length > 0 && <span className="muted small">{problems.join(" ")}</span>}
      </div>
    </form>
  );
}
