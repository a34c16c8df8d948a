import { Link, useNavigate } from "react-router";

import type { JobPublic } from "../../client";
import { evalProgressText, formatAccuracy, formatDate, formatDuration } from "../../format";
import { isFinal } from "../../queries";
import ProgressBar from "../Layout/ProgressBar";
import StatusBadge from "../Layout/StatusBadge";

/** Jobs with their live progress; checkboxes pick jobs to compare. */
export default function JobsTable({
  jobs,
  selected,
  onToggle,
}: {
  readonly jobs: readonly JobPublic[];
  readonly selected: ReadonlySet<number>;
  readonly onToggle: (id: number) => void;
}) {
  const navigate = useNavigate();
  return (
    <div className="table-wrap">
      <table aria-label="Jobs">
        <thead>
          <tr>
            <th aria-label="compare" />
            <th className="num">#</th>
            <th>Name</th>
            <th>Status</th>
            <th style={{ minWidth: 160 }}>Progress</th>
            <th className="num">ETA</th>
            <th>Method</th>
            <th>Base model</th>
            <th className="num">Best accuracy</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id} className="clickable" data-job-id={j.id} onClick={() => navigate(`/jobs/${j.id}`)}>
              <td onClick={(e) => e.stopPropagation()}>
                <input
                  type="checkbox"
                  aria-label={`compare job ${j.id}`}
                  checked={selected.has(j.id)}
                  onChange={() => onToggle(j.id)}
                />
              </td>
              <td className="num muted">{j.id}</td>
              <td>
                <Link to={`/jobs/${j.id}`} onClick={(e) => e.stopPropagation()}>
                  {j.name}
                </Link>
              </td>
              <td>
                <StatusBadge status={j.status} phase={j.phase} />
              </td>
              <td>
                <ProgressBar fraction={j.fraction} label={`progress of job ${j.id}`} />
                <span className="muted small">
                  step {j.step}
                  {j.total_steps ? ` / ${j.total_steps}` : ""}
                  {evalProgressText(j) ? ` · ${evalProgressText(j)}` : ""}
                </span>
              </td>
              <td className="num">{isFinal(j.status) ? "—" : formatDuration(j.eta_seconds)}</td>
              <td>{j.method}</td>
              <td className="muted">{j.base_model}</td>
              <td className="num">{formatAccuracy(j.best_accuracy)}</td>
              <td className="muted small">{formatDate(j.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
