import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";

import JobsTable from "../../components/Jobs/JobsTable";
import StartDemoCard from "../../components/Jobs/StartDemoCard";
import QueryState from "../../components/Layout/QueryState";
import { JOB_STATUSES, isFinal, jobsQuery, methodsQuery } from "../../queries";
import type { JobStatus } from "../../queries";
import { useTeam } from "../../team";

export default function JobsPage() {
  const { teamId } = useTeam();
  const navigate = useNavigate();
  const [search, setSearch] = useSearchParams();
  const status = (search.get("status") as JobStatus | null) ?? undefined;
  const method = search.get("method") ?? undefined;
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const methods = useQuery(methodsQuery());
  const jobs = useQuery({
    ...jobsQuery({ teamId, status, method }),
    // The list is the one screen that polls: while any listed job is unfinished.
    refetchInterval: (q) => (q.state.data?.data.some((j) => !isFinal(j.status)) ? 2000 : false),
  });

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(key, value);
    else next.delete(key);
    setSearch(next, { replace: true });
  };
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const rows = jobs.data?.data ?? [];

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Jobs</h1>
          <p className="muted">Training runs of your team, newest first.</p>
        </div>
        <div className="row">
          <button
            type="button"
            disabled={selected.size < 2}
            onClick={() => navigate(`/compare?jobs=${[...selected].sort((a, b) => a - b).join(",")}`)}
          >
            Compare {selected.size ? `(${selected.size})` : ""}
          </button>
          <Link className="button primary" to="/jobs/new">
            New job
          </Link>
        </div>
      </div>
      <div className="row" style={{ marginBottom: "0.75rem" }}>
        <label className="inline">
          Status
          <select name="status" value={status ?? ""} onChange={(e) => setFilter("status", e.target.value)}>
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Method
          <select name="method" value={method ?? ""} onChange={(e) => setFilter("method", e.target.value)}>
            <option value="">any</option>
            {(methods.data?.data ?? []).map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        {jobs.data && <span className="muted small">{jobs.data.count} {jobs.data.count === 1 ? "job" : "jobs"}</span>}
        {selected.size === 1 && <span className="muted small">tick one more job to compare</span>}
      </div>
      <QueryState isPending={jobs.isPending} error={jobs.error} what="jobs" />
      {jobs.isSuccess && rows.length === 0 && (status || method) && <p className="empty">No job matches these filters.</p>}
      {jobs.isSuccess && jobs.data.count === 0 && !status && !method && (
        <>
          <StartDemoCard teamId={teamId} />
          <p className="empty">
            No jobs yet. <Link to="/datasets">Upload a dataset</Link>, then <Link to="/jobs/new">start a job</Link> on it.
          </p>
        </>
      )}
      {rows.length > 0 && <JobsTable jobs={rows} selected={selected} onToggle={toggle} />}
    </>
  );
}
