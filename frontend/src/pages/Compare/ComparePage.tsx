import { useQueries, useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";

import { CompareAccuracyCurves, CompareLossCurves } from "../../components/Charts/CompareCurves";
import type { ComparedRun } from "../../components/Charts/CompareCurves";
import ConfigDiffTable from "../../components/Compare/ConfigDiffTable";
import QueryState from "../../components/Layout/QueryState";
import StatusBadge from "../../components/Layout/StatusBadge";
import ScoringRuleLabel from "../../components/Results/ScoringRuleLabel";
import { formatAccuracy, formatCount } from "../../format";
import { jobAccuracyQuery, jobMetricsQuery, jobQuery, jobsQuery } from "../../queries";
import { useTeam } from "../../team";

/** /compare?jobs=3,5 */
export default function ComparePage() {
  const { teamId } = useTeam();
  const [search, setSearch] = useSearchParams();
  const ids = (search.get("jobs") ?? "")
    .split(",")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const all = useQuery(jobsQuery({ teamId }));
  const jobs = useQueries({ queries: ids.map((id) => jobQuery(id)) });
  const accuracy = useQueries({ queries: ids.map((id) => jobAccuracyQuery(id)) });
  const metrics = useQueries({ queries: ids.map((id) => jobMetricsQuery(id)) });

  const setIds = (next: number[]) => {
    const params = new URLSearchParams(search);
    if (next.length) params.set("jobs", next.join(","));
    else params.delete("jobs");
    setSearch(params, { replace: true });
  };

  const runs: ComparedRun[] = [];
  ids.forEach((_, i) => {
    const job = jobs[i]?.data;
    if (job) runs.push({ job, accuracy: accuracy[i]?.data, metrics: metrics[i]?.data });
  });
  const benchmarks = [...new Set(runs.flatMap((r) => Object.keys(r.accuracy?.benchmarks ?? {})))].sort();
  const failed = jobs.find((q) => q.error);
  const rules = [...new Set(runs.map((r) => r.job.scoring))].sort();

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Compare</h1>
          <p className="muted">Overlay the curves of several jobs and see which settings differ.</p>
        </div>
      </div>
      <div className="card">
        <label>
          Jobs to compare (hold Ctrl or Shift to pick several)
          <select
            multiple
            name="jobs"
            size={Math.min(8, Math.max(3, all.data?.data.length ?? 3))}
            value={ids.map(String)}
            onChange={(e) => setIds([...e.target.selectedOptions].map((o) => Number(o.value)))}
          >
            {(all.data?.data ?? []).map((j) => (
              <option key={j.id} value={j.id}>
                #{j.id} {j.name} — {j.method}, {j.status}
                {j.best_accuracy !== null ? `, best ${formatAccuracy(j.best_accuracy)} (${j.scoring} rule)` : ""}
              </option>
            ))}
          </select>
        </label>
        <p className="muted small">
          Or tick jobs in the <Link to="/jobs">jobs list</Link> and press Compare.
        </p>
      </div>
      {failed && <QueryState isPending={false} error={failed.error} what="a job" />}
      {ids.length < 2 && <p className="empty">Pick at least two jobs to compare.</p>}
      {runs.length >= 1 && (
        <>
          <div className="table-wrap" style={{ marginTop: "1rem" }}>
            <table aria-label="Compared jobs">
              <thead>
                <tr>
                  <th>Job</th>
                  <th>Status</th>
                  <th>Method</th>
                  <th className="num">Trainable</th>
                  <th className="num">Best accuracy</th>
                </tr>
              </thead>
              <tbody>
                {runs.map(({ job }) => (
                  <tr key={job.id}>
                    <td>
                      <Link to={`/jobs/${job.id}`}>
                        #{job.id} {job.name}
                      </Link>
                    </td>
                    <td>
                      <StatusBadge status={job.status} />
                    </td>
                    <td>{job.method}</td>
                    <td className="num">{formatCount(job.trainable_parameters)}</td>
                    <td className="num">
                      {formatAccuracy(job.best_accuracy)} <ScoringRuleLabel rule={job.scoring} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {rules.length > 1 && (
            <p className="error-box" role="note" data-testid="mixed-rules">
              These jobs were scored with different rules ({rules.join(" and ")}): their accuracies do not compare
              directly. Re-score saved predictions with <code>studio rescore --rule</code>.
            </p>
          )}
          <div className="grid-2" style={{ marginTop: "1rem" }}>
            {benchmarks.map((b) => (
              <div className="card chart-card" key={b} style={{ marginTop: 0 }} data-testid={`compare-accuracy-${b}`}>
                <h3>
                  Accuracy on {b}{" "}
                  {rules.map((r) => (
                    <ScoringRuleLabel key={r} rule={r} />
                  ))}
                </h3>
                <CompareAccuracyCurves runs={runs} benchmark={b} />
              </div>
            ))}
            <div className="card chart-card" style={{ marginTop: 0 }} data-testid="compare-loss">
              <h3>Training loss</h3>
              <CompareLossCurves runs={runs} />
            </div>
          </div>
          <h2>Configuration</h2>
          <ConfigDiffTable jobs={runs.map((r) => r.job)} />
        </>
      )}
    </>
  );
}
