import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link, useNavigate, useParams } from "react-router";

import { errorMessage } from "../../api";
import { studiesCancelStudy, studiesDeleteStudy, studiesResumeStudy, studiesRetryStudy } from "../../client";
import type { StudyPublic } from "../../client";
import ConfirmButton from "../../components/Layout/ConfirmButton";
import ProgressBar from "../../components/Layout/ProgressBar";
import QueryState from "../../components/Layout/QueryState";
import StatusBadge from "../../components/Layout/StatusBadge";
import StudyPlots from "../../components/Studies/StudyPlots";
import StudyResultsTable from "../../components/Studies/StudyResultsTable";
import { formatDate, formatDuration } from "../../format";
import { studyPlotQuery, studyQuery } from "../../queries";

const EXPORTS = [
  { format: "csv", label: "CSV" },
  { format: "md", label: "Markdown" },
  { format: "tex", label: "LaTeX" },
] as const;

function progressLine(s: Readonly<StudyPublic>): string {
  const p = s.progress;
  const parts = [
    `${p.succeeded} succeeded${p.reused ? ` (${p.reused} reused)` : ""}`,
    p.running && `${p.running} running`,
    p.queued && `${p.queued} queued`,
    p.pending && `${p.pending} waiting their turn`,
    p.failed && `${p.failed} failed`,
    p.cancelled && `${p.cancelled} cancelled`,
  ].filter(Boolean);
  return `${parts.join(" · ")} — of ${p.total} cells`;
}

/** A study: progress over its cells, the paper-shaped table, the plots, exports and actions. */
export default function StudyPage() {
  const id = Number(useParams().studyId);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const study = useQuery({
    ...studyQuery(id),
    refetchInterval: (q) => (q.state.data?.state === "running" ? 2000 : false),
  });
  const running = study.data?.state === "running";
  const plot = useQuery({ ...studyPlotQuery(id), refetchInterval: running ? 4000 : false });
  // A cell that ends changes the plots: read them again then, so the last cell's point is not
  // lost when the study finishes between two polls (the polling stops with the study).
  const ended = study.data
    ? `${study.data.state}:${study.data.progress.succeeded}:${study.data.progress.failed}:${study.data.progress.cancelled}`
    : "";
  useEffect(() => {
    if (ended) void queryClient.invalidateQueries({ queryKey: ["studies", id, "plot"] });
  }, [ended, id, queryClient]);
  const refresh = (s: StudyPublic) => {
    queryClient.setQueryData(studyQuery(id).queryKey, s);
    void queryClient.invalidateQueries({ queryKey: ["studies", id, "plot"] });
    void queryClient.invalidateQueries({ queryKey: ["studies", "list"] });
  };
  const cancel = useMutation({
    mutationFn: async () => (await studiesCancelStudy({ path: { study_id: id } })).data,
    onSuccess: refresh,
  });
  const resume = useMutation({
    mutationFn: async () => (await studiesResumeStudy({ path: { study_id: id } })).data,
    onSuccess: refresh,
  });
  const retry = useMutation({
    mutationFn: async () => (await studiesRetryStudy({ path: { study_id: id } })).data,
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: async () => (await studiesDeleteStudy({ path: { study_id: id }, query: { delete_jobs: true } })).data,
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["studies"] });
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
      navigate("/studies");
    },
  });
  if (!study.data) return <QueryState isPending={study.isPending} error={study.error} what={`study ${id}`} />;
  const s = study.data;
  const left = s.progress.pending + s.progress.cancelled;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>
            {s.name} <StatusBadge status={s.state} />
          </h1>
          <p className="muted">
            Study #{s.id} · {s.owner_email ?? "someone"} · {formatDate(s.created_at)} · axes: {s.axes.join(" × ")}
            {s.preset ? ` · preset ${s.preset}` : ""}
          </p>
          {s.description && <p>{s.description}</p>}
        </div>
        <div className="row">
          {running && (
            <ConfirmButton
              label="Cancel"
              question="Cancel the study's queued and running cells?"
              confirmLabel="Cancel study"
              busy={cancel.isPending}
              error={cancel.error}
              onConfirm={() => cancel.mutate()}
            />
          )}
          {s.status === "cancelled" && left > 0 && (
            <button type="button" disabled={resume.isPending} onClick={() => resume.mutate()}>
              Resume ({left} cells)
            </button>
          )}
          {s.progress.failed > 0 && (
            <button type="button" disabled={retry.isPending} onClick={() => retry.mutate()}>
              Retry {s.progress.failed} failed
            </button>
          )}
          <ConfirmButton
            label="Delete"
            question="Delete the study and the jobs it made?"
            confirmLabel="Delete study"
            busy={remove.isPending}
            error={remove.error}
            onConfirm={() => remove.mutate()}
          />
        </div>
      </div>
      {(resume.error || retry.error) && (
        <p className="error-box" role="alert">
          {errorMessage(resume.error ?? retry.error)}
        </p>
      )}
      <section className="card" aria-label="Progress">
        <ProgressBar fraction={s.progress.fraction} label="study progress" />
        <p className="muted small" data-testid="study-progress">
          {progressLine(s)}; at most {s.max_active_cells} cells of this study run at once.
        </p>
      </section>
      {s.finding && (
        <section className="notice-box" aria-label="The paper's finding">
          <strong>The paper found:</strong> {s.finding}
        </section>
      )}
      <section className="card" aria-label="Results">
        <div className="page-head">
          <h2>Results</h2>
          <div className="row">
            {EXPORTS.map((e) => (
              <a key={e.format} className="button" href={`/api/v1/studies/${s.id}/results?format=${e.format}`} download>
                {e.label}
              </a>
            ))}
          </div>
        </div>
        <StudyResultsTable table={s.results} />
      </section>
      <section className="card" aria-label="Plots">
        <h2>Plots</h2>
        {plot.data ? <StudyPlots plot={plot.data} /> : <QueryState isPending={plot.isPending} error={plot.error} what="the plots" />}
      </section>
      <section className="card" aria-label="Cells">
        <h2>Cells</h2>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>#</th>
                {s.axes.map((a) => (
                  <th key={a}>{a}</th>
                ))}
                <th>status</th>
                <th>progress</th>
                <th>job</th>
                <th className="num">wall time</th>
              </tr>
            </thead>
            <tbody>
              {s.cells.map((c) => (
                <tr key={c.index}>
                  <td>{c.index}</td>
                  {s.axes.map((a) => (
                    <td key={a}>{c.labels[a]}</td>
                  ))}
                  <td>
                    <StatusBadge status={c.status} phase={c.phase} />
                    {c.state === "reused" && <span className="muted small"> reused</span>}
                    {c.error && <div className="error small">{c.error}</div>}
                  </td>
                  <td>{Math.round(c.fraction * 100)} %</td>
                  <td>{c.job_id ? <Link to={`/jobs/${c.job_id}`}>#{c.job_id}</Link> : "—"}</td>
                  <td className="num">{formatDuration(c.wall_seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
