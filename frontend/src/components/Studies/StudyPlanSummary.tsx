import { errorMessage } from "../../api";
import type { StudyPlanPublic } from "../../client";
import { formatBytes, formatCount, formatDuration } from "../../format";

/** The study before launch: how many cells, how long, how much memory, and each cell. */
export default function StudyPlanSummary({
  plan,
  error,
  pending,
  stale,
  fallbackCells,
}: {
  readonly plan: StudyPlanPublic | undefined;
  readonly error: unknown;
  readonly pending: boolean;
  readonly stale: boolean;
  readonly fallbackCells: number | null;
}) {
  if (error) {
    return (
      <section className="card" aria-label="Before launch">
        <h2>Before launch</h2>
        <p className="error-box" role="alert">
          {errorMessage(error)}
        </p>
      </section>
    );
  }
  if (!plan) {
    return (
      <section className="card" aria-label="Before launch">
        <h2>Before launch</h2>
        <p className="muted">{fallbackCells ? `${fallbackCells} cells per seed; ` : ""}sizing the study…</p>
      </section>
    );
  }
  return (
    <section className="card" aria-label="Before launch" aria-busy={pending || stale}>
      <h2>Before launch</h2>
      <div className="stats">
        <div className="stat">
          <div className="label">cells</div>
          <div className="value" data-testid="plan-cells">{plan.count}</div>
        </div>
        <div className="stat">
          <div className="label">estimated time, one cell after another</div>
          <div className="value">{plan.total_seconds === null ? "unknown" : formatDuration(plan.total_seconds)}</div>
        </div>
        <div className="stat">
          <div className="label">largest peak memory</div>
          <div className="value">{formatBytes(plan.peak_memory_bytes)}</div>
        </div>
        <div className="stat">
          <div className="label">cells at a time</div>
          <div className="value">{plan.max_active_cells}</div>
        </div>
      </div>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>cell</th>
              <th>trainable</th>
              <th>peak memory</th>
              <th>time</th>
            </tr>
          </thead>
          <tbody>
            {plan.cells.map((c) => (
              <tr key={c.index}>
                <td>{c.index}</td>
                <td>{c.title}</td>
                <td>{c.estimate ? formatCount(c.estimate.trainable_parameters) : "—"}</td>
                <td>{c.estimate ? formatBytes(c.estimate.memory.total) : "—"}</td>
                <td>{c.estimate ? formatDuration(c.estimate.total_seconds) : (c.note ?? "—")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
