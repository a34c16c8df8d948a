import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";

import { jobsCancelJob } from "../../client";
import type { JobPublic } from "../../client";
import AccuracyCurves from "../../components/Charts/AccuracyCurves";
import { LearningRateCurve, LossCurves } from "../../components/Charts/LossCurves";
import DeleteJobButton from "../../components/Jobs/DeleteJobButton";
import ConfirmButton from "../../components/Layout/ConfirmButton";
import JobPromptsPanel from "../../components/Jobs/JobPromptsPanel";
import ExportPanel from "../../components/Jobs/ExportPanel";
import EstimateVsMeasured from "../../components/Jobs/EstimateVsMeasured";
import PredictionsTable from "../../components/Jobs/PredictionsTable";
import JobProgress from "../../components/Jobs/JobProgress";
import QueryState from "../../components/Layout/QueryState";
import ResultName from "../../components/Results/ResultName";
import ScoringRuleLabel from "../../components/Results/ScoringRuleLabel";
import StatusBadge from "../../components/Layout/StatusBadge";
import {
  formatAccuracy,
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  formatLoss,
  formatPercent,
} from "../../format";
import { useJobEvents } from "../../hooks/useJobEvents";
import { isFinal, jobAccuracyQuery, jobLogsQuery, jobMetricsQuery, jobQuery } from "../../queries";

type Tab = "predictions" | "logs" | "config" | "history";

export default function JobPage() {
  const id = Number(useParams().jobId);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const job = useQuery(jobQuery(id));
  const metrics = useQuery(jobMetricsQuery(id));
  const accuracy = useQuery(jobAccuracyQuery(id));
  const [tab, setTab] = useState<Tab>("predictions");
  const live = job.data ? !isFinal(job.data.status) : false;
  useJobEvents(id, live);
  // A job page opens at its top, not at the scroll position of the page it came from (the
  // New job form's Start button sits at the bottom of a long form).
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [id]);

  const cancel = useMutation({
    mutationFn: async () => (await jobsCancelJob({ path: { job_id: id } })).data,
    onSuccess: (j) => {
      queryClient.setQueryData(jobQuery(id).queryKey, j);
      void queryClient.invalidateQueries({ queryKey: ["jobs", "list"] });
    },
  });

  if (!job.data) {
    return <QueryState isPending={job.isPending} error={job.error} what={`job ${id}`} />;
  }
  const j = job.data;
  const benchmarks = Object.keys(accuracy.data?.benchmarks ?? {});
  const configured = j.config.evaluation.benchmarks;

  return (
    <>
      <p className="small">
        <Link to="/jobs">← Jobs</Link>
      </p>
      <div className="page-head">
        <div>
          <h1>
            {j.name} <span className="muted small">#{j.id}</span>
          </h1>
          <p className="muted">
            <StatusBadge status={j.status} phase={j.phase} /> {j.method} on {j.base_model} · by {j.owner_email ?? "—"} ·{" "}
            created {formatDate(j.created_at)}
          </p>
        </div>
        <div className="row">
          {!isFinal(j.status) &&
            (j.cancel_requested ? (
              <button type="button" className="danger" disabled>
                Cancelling…
              </button>
            ) : (
              <ConfirmButton
                label="Cancel"
                question={j.status === "queued" ? "Take this job out of the queue?" : "Stop this job at its next step?"}
                confirmLabel={j.status === "queued" ? "Yes, cancel it" : "Yes, stop it"}
                busy={cancel.isPending}
                error={cancel.isError ? cancel.error : null}
                onConfirm={() => cancel.mutate()}
              />
            ))}
          <button type="button" onClick={() => navigate(`/jobs/new?clone=${j.id}`)}>
            Clone and edit
          </button>
          {j.status === "succeeded" && (
            <>
              <a className="button" href={`/api/v1/jobs/${j.id}/artifact`} download>
                Download adapter
              </a>
              <Link className="button" to={`/playground?job=${j.id}`}>
                Try in playground
              </Link>
            </>
          )}
          {isFinal(j.status) && <DeleteJobButton jobId={j.id} name={j.name} />}
        </div>
      </div>
      {j.status === "queued" && j.queue_reason && (
        <p className="notice-box" role="status" data-testid="queue-reason">
          {j.queue_reason}
        </p>
      )}
      {j.status === "failed" && j.error && (
        <p className="error-box" role="alert">
          {j.error}
        </p>
      )}

      <div className="card">
        <div className="row" style={{ justifyContent: "space-between", alignItems: "flex-start" }}>
          <div style={{ flex: 1, maxWidth: 560 }}>
            <JobProgress job={j} />
          </div>
          {live && <span className="muted small">live</span>}
        </div>
        <JobFigures job={j} />
      </div>
      {j.status === "succeeded" && <ExportPanel jobId={j.id} />}
      <EstimateVsMeasured job={j} />

      <div className="grid-2" style={{ marginTop: "1rem" }}>
        <div className="card chart-card" data-testid="loss-chart">
          <h3>Loss</h3>
          {metrics.data ? <LossCurves metrics={metrics.data} /> : <QueryState isPending={metrics.isPending} error={metrics.error} what="metrics" />}
        </div>
        <div className="card chart-card" data-testid="accuracy-chart" style={{ marginTop: 0 }}>
          <h3>
            Accuracy {configured.length ? <span className="muted small">({configured.join(", ")})</span> : null}{" "}
            <ScoringRuleLabel rule={j.scoring} />
          </h3>
          {accuracy.data ? (
            configured.length === 0 && benchmarks.length === 0 ? (
              <div className="chart-empty">This job evaluates on no benchmark.</div>
            ) : (
              <AccuracyCurves accuracy={accuracy.data} />
            )
          ) : (
            <QueryState isPending={accuracy.isPending} error={accuracy.error} what="accuracy" />
          )}
        </div>
        <div className="card chart-card" style={{ marginTop: 0 }}>
          <h3>Learning rate</h3>
          {metrics.data && <LearningRateCurve metrics={metrics.data} />}
        </div>
        <div className="card" style={{ marginTop: 0 }}>
          <h3>
            Results <ScoringRuleLabel rule={j.scoring} />
          </h3>
          {Object.keys(j.results).length === 0 ? (
            <p className="muted">Final scores appear when the job has evaluated.</p>
          ) : (
            <>
              <table aria-label="Results">
                <tbody>
                  {Object.entries(j.results).map(([b, a]) => (
                    <tr key={b}>
                      <td>
                        <ResultName name={b} />
                      </td>
                      <td className="num">{formatAccuracy(a)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="small">
                Download with the rule:{" "}
                <a href={`/api/v1/jobs/${j.id}/results?format=csv`} download>
                  CSV
                </a>{" "}
                ·{" "}
                <a href={`/api/v1/jobs/${j.id}/results`} download={`job-${j.id}-results.json`}>
                  JSON
                </a>
              </p>
            </>
          )}
        </div>
      </div>

      <section className="card" aria-labelledby="prompts-heading" style={{ marginTop: "1rem" }}>
        <h2 id="prompts-heading" style={{ marginTop: 0 }}>
          Prompts
        </h2>
        <JobPromptsPanel jobId={id} live={live} />
      </section>

      <div className="tabs" role="tablist">
        {(["predictions", "logs", "config", "history"] as Tab[]).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t[0]?.toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      {tab === "predictions" && (
        <PredictionsTable jobId={id} benchmarks={benchmarks.length ? benchmarks : configured} rule={j.scoring} />
      )}
      {tab === "logs" && <JobLogs jobId={id} />}
      {tab === "config" && <pre className="config" data-testid="job-config">{JSON.stringify(j.config, null, 2)}</pre>}
      {tab === "history" && (
        <table aria-label="History">
          <tbody>
            {j.history.map((h, i) => (
              <tr key={i}>
                <td>
                  <StatusBadge status={h.status} />
                </td>
                <td>{formatDate(h.at)}</td>
                <td className="muted small">{h.attempt ? `run ${h.attempt} on ${h.worker ?? "?"}` : ""}</td>
                <td className="muted">{h.reason ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function JobFigures({ job }: { readonly job: JobPublic }) {
  const figures: [string, string][] = [
    ["Trainable parameters", formatCount(job.trainable_parameters)],
    ["of the base model", formatPercent(job.trainable_percent)],
    [job.status === "running" ? "Train loss so far" : "Train loss", formatLoss(job.train_loss)],
    ["Best accuracy", job.best_accuracy === null ? "—" : `${formatAccuracy(job.best_accuracy)} (${job.scoring} rule)`],
    ["Peak memory", formatBytes(job.peak_memory_bytes)],
    ["Wall time", formatDuration(job.wall_seconds)],
    ["Worker", job.worker ?? "—"],
  ];
  return (
    <div className="stats" style={{ marginTop: "0.75rem" }}>
      {figures.map(([label, value]) => (
        <div className="stat" key={label}>
          <div className="label">{label}</div>
          <div className="value">{value}</div>
        </div>
      ))}
    </div>
  );
}

function JobLogs({ jobId }: { readonly jobId: number }) {
  const logs = useQuery(jobLogsQuery(jobId));
  if (!logs.data) return <QueryState isPending={logs.isPending} error={logs.error} what="logs" />;
  if (!logs.data.data.length) return <p className="empty">No log lines yet.</p>;
  return (
    <pre className="logs" data-testid="job-logs">
      {logs.data.data.map((l) => (
        <div key={l.id} className={`lvl-${l.level}`}>
          {new Date(l.time).toLocaleTimeString("en-GB")} {l.level.padEnd(7)} {l.message}
        </div>
      ))}
    </pre>
  );
}
