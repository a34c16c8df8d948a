import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";

import { errorMessage } from "../../api";
import { jobsCancelJob } from "../../client";
import type { JobPublic } from "../../client";
import AccuracyCurves from "../../components/Charts/AccuracyCurves";
import { LearningRateCurve, LossCurves } from "../../components/Charts/LossCurves";
import DeleteJobButton from "../../components/Jobs/DeleteJobButton";
import EstimateVsMeasured from "../../components/Jobs/EstimateVsMeasured";
import PredictionsTable from "../../components/Jobs/PredictionsTable";
import ProgressBar from "../../components/Layout/ProgressBar";
import QueryState from "../../components/Layout/QueryState";
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
          {!isFinal(j.status) && (
            <button type="button" className="danger" disabled={cancel.isPending || j.cancel_requested} onClick={() => cancel.mutate()}>
              {j.cancel_requested ? "Cancelling…" : "Cancel"}
            </button>
          )}
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
      {cancel.isError && <p className="error-box">{errorMessage(cancel.error)}</p>}
      {j.status === "failed" && j.error && (
        <p className="error-box" role="alert">
          {j.error}
        </p>
      )}

      <div className="card">
        <div className="row" style={{ justifyContent: "space-between" }}>
          <div style={{ flex: 1, maxWidth: 520 }}>
            <ProgressBar fraction={j.fraction} label="job progress" />
          </div>
          <span className="muted small">
            step {j.step}
            {j.total_steps ? ` of ${j.total_steps}` : ""}
            {!isFinal(j.status) && j.eta_seconds !== null ? ` · about ${formatDuration(j.eta_seconds)} left` : ""}
            {live ? " · live" : ""}
          </span>
        </div>
        <JobFigures job={j} />
      </div>
      <EstimateVsMeasured job={j} />

      <div className="grid-2" style={{ marginTop: "1rem" }}>
        <div className="card chart-card" data-testid="loss-chart">
          <h3>Loss</h3>
          {metrics.data ? <LossCurves metrics={metrics.data} /> : <QueryState isPending={metrics.isPending} error={metrics.error} what="metrics" />}
        </div>
        <div className="card chart-card" data-testid="accuracy-chart" style={{ marginTop: 0 }}>
          <h3>Accuracy {configured.length ? <span className="muted small">({configured.join(", ")})</span> : null}</h3>
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
          <h3>Results</h3>
          {Object.keys(j.results).length === 0 ? (
            <p className="muted">Final scores appear when the job has evaluated.</p>
          ) : (
            <table aria-label="Results">
              <tbody>
                {Object.entries(j.results).map(([b, a]) => (
                  <tr key={b}>
                    <td>{b}</td>
                    <td className="num">{formatAccuracy(a)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>

      <div className="tabs" role="tablist">
        {(["predictions", "logs", "config", "history"] as Tab[]).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t[0]?.toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      {tab === "predictions" && <PredictionsTable jobId={id} benchmarks={benchmarks.length ? benchmarks : configured} />}
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
    ["of the model", formatPercent(job.trainable_percent)],
    ["Train loss", formatLoss(job.train_loss)],
    ["Best accuracy", formatAccuracy(job.best_accuracy)],
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
