import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { useNavigate } from "react-router";

import { errorMessage } from "../../api";
import { studiesBuildStudyPreset, studiesCreateStudy } from "../../client";
import type { StudyCreate } from "../../client";
import AxesEditor from "../../components/Studies/AxesEditor";
import StudyPlanSummary from "../../components/Studies/StudyPlanSummary";
import { STUDY_BATCH_SIZE, buildStudy, seedList, splitValues, stepsOf } from "../../components/Studies/studyDraft";
import type { AxisDraft, ScaleDraft } from "../../components/Studies/studyDraft";
import { useDebounced } from "../../hooks/useDebounced";
import { datasetsQuery, methodsQuery, modelsQuery, studyPlanQuery, studyPresetsQuery, studyQuery } from "../../queries";
import { useTeam } from "../../team";

const FIRST_AXIS: AxisDraft = { kind: "path", name: "rank", path: "adapter.params.r", values: "4, 8" };

/**
 * A new study: one of the paper's studies at the user's scale, or axes of one's own; the cell
 * count and the estimate (POST /studies/plan, every cell checked as the launch checks it) are
 * shown before anything is queued.
 */
export default function NewStudyPage() {
  const { teamId } = useTeam();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const presets = useQuery(studyPresetsQuery());
  const models = useQuery(modelsQuery());
  const datasets = useQuery(datasetsQuery(teamId));
  const methods = useQuery(methodsQuery());
  const [mode, setMode] = useState<"preset" | "custom">("preset");
  const [presetName, setPresetName] = useState("");
  const [name, setName] = useState("");
  const [axes, setAxes] = useState<AxisDraft[]>([FIRST_AXIS]);
  const [scale, setScale] = useState<ScaleDraft>({
    baseModel: "",
    datasetId: null,
    method: "lora",
    steps: 40,
    trainExamples: null,
    evalExamples: 20,
    maxNewTokens: null,
    benchmarks: "svamp",
    seeds: "1",
  });
  const set = (patch: Partial<ScaleDraft>) => setScale((s) => ({ ...s, ...patch }));
  const modelRefs = models.data?.data.map((m) => m.reference) ?? [];
  const baseModel = scale.baseModel || modelRefs[0] || "";
  const datasetList = datasets.data?.data ?? [];
  const datasetId = scale.datasetId ?? datasetList[0]?.id ?? null;
  const effective: ScaleDraft = { ...scale, baseModel, datasetId };
  const preset = presets.data?.data.find((p) => p.name === (presetName || presets.data?.data[0]?.name));

  // Preset mode: the server builds the preset's study at this scale.
  const presetScale = useDebounced(
    preset && baseModel && datasetId !== null
      ? {
          base_model: baseModel,
          dataset_id: datasetId,
          ...(scale.trainExamples
            ? { train_examples: scale.trainExamples, batch_size: STUDY_BATCH_SIZE }
            : { steps: scale.steps }),
          eval_examples: scale.evalExamples,
          ...(scale.maxNewTokens ? { max_new_tokens: scale.maxNewTokens } : {}),
          benchmarks: splitValues(scale.benchmarks),
          seeds: seedList(scale.seeds),
          decoding: "fast" as const,
        }
      : null,
    300,
  );
  const built = useQuery({
    queryKey: ["studies", "presets", preset?.name, presetScale],
    queryFn: async ({ signal }) =>
      (await studiesBuildStudyPreset({ signal, path: { name: preset?.name ?? "" }, body: presetScale! })).data,
    enabled: mode === "preset" && presetScale !== null && preset !== undefined,
    retry: false,
  });

  const study: StudyCreate | null = useMemo(() => {
    if (mode === "preset") {
      if (!built.data || !preset) return null;
      return { ...built.data, name: name.trim() || built.data.name, preset: preset.name, team_id: teamId ?? null };
    }
    const custom = buildStudy(name || "my study", effective, axes);
    return custom && { ...custom, team_id: teamId ?? null };
    // effective is rebuilt each render from these
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [mode, built.data, preset, name, teamId, axes, scale, baseModel, datasetId]);
  const planned = useDebounced(study, 400);
  const plan = useQuery(studyPlanQuery(planned));

  const launch = useMutation({
    mutationFn: async () => (await studiesCreateStudy({ body: study as StudyCreate })).data,
    onSuccess: (created) => {
      queryClient.setQueryData(studyQuery(created.id).queryKey, created);
      void queryClient.invalidateQueries({ queryKey: ["studies", "list"] });
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
      navigate(`/studies/${created.id}`);
    },
  });

  return (
    <>
      <div className="page-head">
        <div>
          <h1>New study</h1>
          <p className="muted">
            A grid of jobs: every combination of the axes' values is one cell, an ordinary job. Cells run a few at a time
            so other work is not held up.
          </p>
        </div>
      </div>
      <div className="tabs" role="tablist" aria-label="How to build the study">
        <button type="button" role="tab" aria-selected={mode === "preset"} onClick={() => setMode("preset")}>
          A study of the paper
        </button>
        <button type="button" role="tab" aria-selected={mode === "custom"} onClick={() => setMode("custom")}>
          My own axes
        </button>
      </div>
      <section className="card">
        <div className="fields">
          <label className="field">
            Name
            <input
              name="study-name"
              value={name}
              placeholder={mode === "preset" ? (preset?.name ?? "") : "my study"}
              onChange={(e) => setName(e.target.value)}
            />
          </label>
          {mode === "preset" && (
            <label className="field">
              Study
              <select name="preset" value={preset?.name ?? ""} onChange={(e) => setPresetName(e.target.value)}>
                {(presets.data?.data ?? []).map((p) => (
                  <option key={p.name} value={p.name}>
                    {p.title} ({p.cells} cells)
                  </option>
                ))}
              </select>
            </label>
          )}
          <label className="field">
            Base model
            <select name="base-model" value={baseModel} onChange={(e) => set({ baseModel: e.target.value })}>
              {modelRefs.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            Training data
            <select
              name="dataset"
              value={datasetId ?? ""}
              onChange={(e) => set({ datasetId: e.target.value ? Number(e.target.value) : null })}
            >
              {datasetList.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.row_count} rows)
                </option>
              ))}
            </select>
            {!datasetList.length && <span className="field-error">Upload a dataset first (Datasets).</span>}
          </label>
          {mode === "custom" && (
            <label className="field">
              Method (before the axes)
              <select name="method" value={scale.method} onChange={(e) => set({ method: e.target.value })}>
                {(methods.data?.data ?? []).map((m) => (
                  <option key={m.name} value={m.name}>
                    {m.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label className="field">
            Training examples per cell
            <input
              name="train-examples"
              type="number"
              min={1}
              value={scale.trainExamples ?? ""}
              placeholder="from the steps"
              onChange={(e) => set({ trainExamples: Number(e.target.value) > 0 ? Math.round(Number(e.target.value)) : null })}
            />
            <span className="field-help">when given, sets the steps ({STUDY_BATCH_SIZE} examples a step)</span>
          </label>
          <label className="field">
            Training steps per cell
            <input
              name="steps"
              type="number"
              min={1}
              value={stepsOf(effective)}
              disabled={scale.trainExamples !== null}
              onChange={(e) => set({ steps: Math.max(1, Number(e.target.value) || 1) })}
            />
          </label>
          <label className="field">
            Evaluation examples per benchmark
            <input
              name="eval-examples"
              type="number"
              min={1}
              value={scale.evalExamples}
              onChange={(e) => set({ evalExamples: Math.max(1, Number(e.target.value) || 1) })}
            />
          </label>
          <label className="field">
            Max new tokens
            <input
              name="max-new-tokens"
              type="number"
              min={1}
              value={scale.maxNewTokens ?? ""}
              placeholder={mode === "preset" ? "the paper's" : "256"}
              onChange={(e) => set({ maxNewTokens: Number(e.target.value) > 0 ? Math.round(Number(e.target.value)) : null })}
            />
            <span className="field-help">greedy answers capped at this length; fewer is faster</span>
          </label>
          <label className="field">
            Benchmarks
            <input name="benchmarks" value={scale.benchmarks} onChange={(e) => set({ benchmarks: e.target.value })} />
            <span className="field-help">comma-separated, e.g. svamp, gsm8k</span>
          </label>
          <label className="field">
            Seeds
            <input name="seeds" value={scale.seeds} onChange={(e) => set({ seeds: e.target.value })} />
            <span className="field-help">two or more give mean ± std in the table</span>
          </label>
        </div>
        {mode === "preset" && preset && (
          <p className="notice-box">
            <strong>{preset.title}.</strong> The paper found: {preset.finding}
          </p>
        )}
        {mode === "preset" && built.error && (
          <p className="error-box" role="alert">
            {errorMessage(built.error)}
          </p>
        )}
      </section>
      {mode === "custom" && <AxesEditor axes={axes} onChange={setAxes} />}
      <StudyPlanSummary
        plan={plan.data}
        error={plan.error}
        pending={plan.isFetching}
        stale={planned !== study}
        fallbackCells={mode === "custom" ? null : (preset?.cells ?? null)}
      />
      <div className="form-actions">
        <button
          type="button"
          className="primary"
          disabled={!study || launch.isPending || Boolean(plan.error)}
          onClick={() => launch.mutate()}
        >
          {launch.isPending ? "Launching…" : `Launch ${plan.data ? `${plan.data.count} cells` : "study"}`}
        </button>
        {launch.error && (
          <p className="error-box" role="alert">
            {errorMessage(launch.error)}
          </p>
        )}
      </div>
    </>
  );
}
