import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";

import { errorMessage } from "../../api";
import type { GenerationPublic } from "../../client";
import QueryState from "../../components/Layout/QueryState";
import { generationsQuery, jobsQuery } from "../../queries";
import { useTeam } from "../../team";
import { type Side, streamGeneration } from "./streamGeneration";

interface Settings {
  temperature: number;
  topP: number;
  maxNewTokens: number;
}

const GREEDY: Settings = { temperature: 0, topP: 1, maxNewTokens: 64 };

function settingsLine(g: Pick<GenerationPublic, "temperature" | "top_p" | "max_new_tokens">): string {
  const sampling = g.temperature === 0 ? "greedy" : `temperature ${g.temperature}, top-p ${g.top_p}`;
  return `${sampling}, ≤ ${g.max_new_tokens} tokens`;
}

/**
 * /playground?job=12: one prompt, answered by the job's adapter and by its base model side by
 * side, streamed as the tokens come from the inference service; the team's earlier prompts
 * below, each with both answers and the settings it was asked with.
 */
export default function PlaygroundPage() {
  const { teamId } = useTeam();
  const queryClient = useQueryClient();
  const [search, setSearch] = useSearchParams();
  const jobId = Number(search.get("job")) || null;
  const [prompt, setPrompt] = useState("What is 12 + 30?");
  const [settings, setSettings] = useState<Settings>(GREEDY);
  const [answers, setAnswers] = useState<Record<Side, string>>({ adapter: "", base: "" });
  const [finished, setFinished] = useState<Partial<Record<Side, string>>>({});
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const jobs = useQuery(jobsQuery({ teamId, status: "succeeded" }));
  const history = useQuery(generationsQuery(jobId));

  async function generate() {
    if (!jobId) return;
    const controller = new AbortController();
    abort.current = controller;
    setAnswers({ adapter: "", base: "" });
    setFinished({});
    setError(null);
    setRunning(true);
    try {
      await streamGeneration(
        {
          job_id: jobId,
          prompt,
          max_new_tokens: settings.maxNewTokens,
          temperature: settings.temperature,
          top_p: settings.topP,
        },
        {
          onToken: (side, text) => setAnswers((a) => ({ ...a, [side]: a[side] + text })),
          onDone: (side, reason) => setFinished((f) => ({ ...f, [side]: reason ?? "stop" })),
        },
        controller.signal,
      );
    } catch (e) {
      if (!controller.signal.aborted) setError(errorMessage(e));
    } finally {
      setRunning(false);
      abort.current = null;
      void queryClient.invalidateQueries({ queryKey: ["playground"] });
    }
  }

  const field = (key: keyof Settings) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setSettings((s) => ({ ...s, [key]: Number(e.target.value) }));
  const shown = running || answers.adapter !== "" || answers.base !== "" || Object.keys(finished).length > 0;

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Playground</h1>
          <p className="muted">Ask a trained adapter and its base model the same question; answers stream as they are written.</p>
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
            void generate();
          }}
        >
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
          <label style={{ marginTop: "0.75rem" }}>
            Prompt
            <textarea name="prompt" rows={4} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
          </label>
          <div className="fields sampling-fields">
            <label>
              Temperature
              <input type="number" name="temperature" min={0} max={2} step={0.1} value={settings.temperature} onChange={field("temperature")} />
              <span className="field-help">0 is greedy: the same answer every time</span>
            </label>
            <label>
              Top-p
              <input type="number" name="top_p" min={0.05} max={1} step={0.05} value={settings.topP} onChange={field("topP")} disabled={settings.temperature === 0} />
            </label>
            <label>
              Max new tokens
              <input type="number" name="max_new_tokens" min={1} max={512} value={settings.maxNewTokens} onChange={field("maxNewTokens")} />
            </label>
          </div>
          <div className="form-actions">
            <button type="submit" className="primary" disabled={!jobId || !prompt.trim() || running}>
              {running ? "Generating…" : "Generate"}
            </button>
            {running && (
              <button type="button" onClick={() => abort.current?.abort()}>
                Stop
              </button>
            )}
          </div>
          {error && (
            <p className="error-box" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
      {shown && (
        <div className="side-by-side" style={{ marginTop: "1rem" }}>
          {(["adapter", "base"] as const).map((side) => (
            <div className="card" key={side} style={{ marginTop: 0 }}>
              <h3>
                {side === "adapter" ? "With the adapter" : "Base model"}{" "}
                {finished[side] && <span className="muted">({finished[side] === "length" ? "cut at the token limit" : "finished"})</span>}
              </h3>
              <pre data-testid={`${side}-output`} aria-busy={running && !finished[side]}>
                {answers[side] || (running && !finished[side] ? "…" : "")}
              </pre>
            </div>
          ))}
        </div>
      )}
      <section className="card" style={{ marginTop: "1rem" }} aria-label="History">
        <h2>History</h2>
        <QueryState isPending={history.isPending} error={history.error} what="earlier prompts" />
        {history.data && history.data.count === 0 && <p className="empty">No prompts yet{jobId ? " for this job" : ""}.</p>}
        <ul className="generation-history">
          {(history.data?.data ?? []).map((g) => (
            <li key={g.id} data-testid="history-entry">
              <div className="history-head">
                <strong className="question">{g.prompt}</strong>
                <span className="muted">
                  job #{g.job_id} · {settingsLine(g)} · {new Date(g.created_at).toLocaleString()}
                </span>
                <button
                  type="button"
                  onClick={() => {
                    setPrompt(g.prompt);
                    setSettings({ temperature: g.temperature, topP: g.top_p, maxNewTokens: g.max_new_tokens });
                    setSearch({ job: String(g.job_id) }, { replace: true });
                  }}
                >
                  Ask again
                </button>
              </div>
              {g.error ? (
                <p className="error-box">{g.error}</p>
              ) : (
                <div className="side-by-side">
                  {/* Labelled: at 390 px the two answers stack and the columns' order is lost. */}
                  <div>
                    <div className="muted small">with the adapter</div>
                    <pre aria-label="adapter answer">{g.adapter_output ?? ""}</pre>
                  </div>
                  <div>
                    <div className="muted small">base model</div>
                    <pre aria-label="base answer">{g.base_output ?? ""}</pre>
                  </div>
                </div>
              )}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
