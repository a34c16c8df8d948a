import type { ResultTable, Stat } from "../../client";
import { formatBytes, formatCount, formatDuration } from "../../format";
import ScoringRuleLabel from "../Results/ScoringRuleLabel";

/** "61.3" or "61.3 ± 1.2" (mean ± std over seeds, when more than one run). */
export function meanStd(stat: Stat | null | undefined, digits = 1): string {
  if (!stat) return "—";
  return stat.n > 1 ? `${stat.mean.toFixed(digits)} ± ${stat.std.toFixed(digits)}` : stat.mean.toFixed(digits);
}

/**
 * The paper's table: a row per cell (seeds folded into mean ± std), a column per benchmark and
 * their average, the best of each column marked, the examples each score rests on, the rule.
 */
export default function StudyResultsTable({ table }: { readonly table: ResultTable }) {
  const best = (column: string, row: number) => (table.best[column] ?? []).includes(row);
  if (!table.rows.length) return <p className="muted">No cell has finished yet.</p>;
  return (
    <>
      <div className="table-wrap">
        <table className="study-results">
          <thead>
            <tr>
              {table.axes.map((a) => (
                <th key={a}>{a}</th>
              ))}
              {table.benchmarks.map((b) => (
                <th key={b} className="num">
                  {b} (%)
                </th>
              ))}
              <th className="num">average (%)</th>
              <th className="num">trainable</th>
              <th className="num">peak memory</th>
              <th className="num">wall time</th>
              <th className="num">runs</th>
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row, i) => (
              <tr key={row.cells.join(",")}>
                {table.axes.map((a) => (
                  <td key={a}>{row.labels[a] ?? ""}</td>
                ))}
                {table.benchmarks.map((b) => (
                  <td key={b} className={`num${best(b, i) ? " best" : ""}`} title={`${row.examples[b] ?? 0} examples`}>
                    {meanStd(row.accuracy[b])}
                    {best(b, i) && <span aria-label="best in column"> ★</span>}
                    <span className="muted small"> n={row.examples[b] ?? 0}</span>
                  </td>
                ))}
                <td className={`num${best("average", i) ? " best" : ""}`}>
                  {meanStd(row.average)}
                  {best("average", i) && <span aria-label="best in column"> ★</span>}
                </td>
                <td className="num">{formatCount(row.trainable_parameters)}</td>
                <td className="num">{row.peak_memory_bytes ? formatBytes(row.peak_memory_bytes.mean) : "—"}</td>
                <td className="num">{row.wall_seconds ? formatDuration(row.wall_seconds.mean) : "—"}</td>
                <td className="num">{row.runs}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        ★ best in its column. n = the examples each score rests on.
        {table.seed_axis ? ` Mean ± standard deviation over the ${table.seed_axis} axis.` : ""}
        {table.scoring.length > 0 && (
          <>
            {" "}
            Scored with the{" "}
            {table.scoring.map((r) => (
              <ScoringRuleLabel key={r} rule={r} />
            ))}
            .
          </>
        )}
      </p>
    </>
  );
}
