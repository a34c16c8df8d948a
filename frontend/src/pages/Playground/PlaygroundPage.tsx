import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearchParams } from "react-router";

import { errorMessage } from "../../api";
import { playgroundCreateGeneration } from "../../client";
import QueryState from "../../components/Layout/QueryState";
import StatusBadge from "../../components/Layout/StatusBadge";
import { generationQuery, jobsQuery } from "../../queries";
import { useTeam } from "../../team";

/** /playground?job=12: one prompt, answered by the base model and by the adapter. */
export default function PlaygroundPage() {
  const { teamId } = useTeam();
  const [search, setSearch] = useSearchParams();
  const jobId = Number(search.get("job")) || null;
  const [prompt, setPrompt] = useState("What is 12 + 30?");
  const [maxNewTokens, setMaxNewTokens] = useState(64);
  const [generationId, setGenerationId] = useState<number | null>(null);
  const jobs = useQuery(jobsQuery({ teamId, status: "succeeded" }));
  const generation = useQuery({ ...generationQuery(generationId ?? 0), enabled: generationId !== null });
  const create = useMutation({
    mutationFn: async () =>
      (await playgroundCreateGeneration({ body: { job_id: jobId as number, prompt, max_new_tokens: maxNewTokens } })).data,
    onSuccess: (g) => setGenerationId(g.id),
  });
  const g = generation.data;
  const waiting = create.isPending || (g !== undefined && g.status !== "succeeded" && g.status !== "failed");

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Playground</h1>
          <p className="muted">Ask the base model and a trained adapter the same question.</p>
        </div>
      </div>
      <QueryState isPending={jobs.isPending} error={jobs.error} what="finished jobs" />
      {jobs.data && jobs.data.data.length === 0 ? (
        <p className="empty">
          No job has finished yet. <Link to="/jobs/new">Train one</Link>, then try it here.
        </p>
      ) : (
        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            setGenerationId(null);
            create.mutate();
          }}
        >
          <div className="fields" style={{ gridTemplateColumns: "2fr 1fr" }}>
            <label>
              Adapter (a succeeded job)
              <select
                name="job"
                value={jobId ?? ""}
                onChange={(e) => setSearch(e.target.value ? { job: e.target.value } : {}, { replace: true })}
              >
                <option value="">choose a job…</option>
                {(jobs.data?.data ?? []).map((j) => (
                  <option key={j.id} value={j.id}>
                    #{j.id} {j.name} — {j.method} on {j.base_model}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Max new tokens
              <input
                type="number"
                name="max_new_tokens"
                min={1}
                max={512}
                value={maxNewTokens}
                onChange={(e) => setMaxNewTokens(Number(e.target.value))}
              />
            </label>
          </div>
          <label style={{ marginTop: "0.75rem" }}>
            Prompt
            <textarea name="prompt" rows={4} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
          </label>
          <div className="form-actions">
            <button type="submit" className="primary" disabled={!jobId || !prompt.trim() || waiting}>
              {waiting ? "Generating…" : "Generate"}
            </button>
            {g && <StatusBadge status={g.status} />}
          </div>
          {create.isError && <p className="error-box">{errorMessage(create.error)}</p>}
          {g?.error && <p className="error-box">{g.error}</p>}
        </form>
      )}
      {(g || waiting) && (
        <div className="side-by-side" style={{ marginTop: "1rem" }}>
          <div className="card">
            <h3>Base model</h3>
            <pre data-testid="base-output">{g?.base_output ?? (waiting ? "…" : "")}</pre>
          </div>
          <div className="card" style={{ marginTop: 0 }}>
            <h3>With the adapter</h3>
            <pre data-testid="adapter-output">{g?.adapter_output ?? (waiting ? "…" : "")}</pre>
          </div>
        </div>
      )}
    </>
  );
}
