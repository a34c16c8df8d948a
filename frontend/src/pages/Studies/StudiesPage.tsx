import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";

import ProgressBar from "../../components/Layout/ProgressBar";
import QueryState from "../../components/Layout/QueryState";
import StatusBadge from "../../components/Layout/StatusBadge";
import { formatDate } from "../../format";
import { studiesQuery } from "../../queries";
import { useTeam } from "../../team";

/** The team's studies, newest first, with their progress over cells. */
export default function StudiesPage() {
  const { teamId } = useTeam();
  const studies = useQuery({
    ...studiesQuery(teamId),
    refetchInterval: (q) => (q.state.data?.data.some((s) => s.state === "running") ? 3000 : false),
  });
  const rows = studies.data?.data ?? [];
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Studies</h1>
          <p className="muted">
            Comparisons of adapter types, placements and sizes as one action, as the LLM-Adapters paper ran them.
          </p>
        </div>
        <Link className="button primary" to="/studies/new">
          New study
        </Link>
      </div>
      <QueryState isPending={studies.isPending} error={studies.error} what="studies" />
      {studies.data && !rows.length && (
        <p className="empty">
          No study yet. <Link to="/studies/new">Start one of the paper's</Link>: placement of series adapters, LoRA rank,
          bottleneck size, …
        </p>
      )}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>study</th>
                <th>state</th>
                <th>axes</th>
                <th>cells</th>
                <th>progress</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/studies/${s.id}`}>
                      #{s.id} {s.name}
                    </Link>
                  </td>
                  <td>
                    <StatusBadge status={s.state} />
                  </td>
                  <td>{s.axes.join(" × ")}</td>
                  <td className="num">{s.progress.total}</td>
                  <td style={{ minWidth: "8rem" }}>
                    <ProgressBar fraction={s.progress.fraction} label={`study ${s.id} progress`} />
                  </td>
                  <td className="nowrap">{formatDate(s.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
