/**
 * Live updates of one job through its server-sent events (GET /api/v1/jobs/{id}/events).
 *
 * EventSource rather than the generated client: the browser's EventSource reconnects by itself
 * and sends the session cookie; each event is written into the TanStack Query cache, so the
 * job page re-renders from the cache and never polls while the job runs.
 */
import { useQueryClient } from "@tanstack/react-query";
import type { QueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

import type { JobAccuracy, JobLogPublic, JobLogsPublic, JobMetrics, JobPublic, MetricPointPublic } from "../client";
import { FINAL_STATUSES, jobAccuracyQuery, jobLogsQuery, jobMetricsQuery, jobQuery } from "../queries";

export interface MetricEvent extends MetricPointPublic {
  kind: string;
}

export interface AccuracyEvent {
  benchmark: string;
  step: number;
  accuracy: number;
  correct: number;
  total: number;
}

/** Replace-or-append by key, keeping order by step: a reconnect replays from the start. */
function upsert<T>(list: readonly T[], items: readonly T[], keyOf: (t: T) => string, order: (t: T) => number): T[] {
  const byKey = new Map(list.map((x) => [keyOf(x), x]));
  for (const x of items) byKey.set(keyOf(x), x);
  return [...byKey.values()].sort((a, b) => order(a) - order(b));
}

export function applyJobEvent(queryClient: QueryClient, jobId: number, job: JobPublic): void {
  queryClient.setQueryData(jobQuery(jobId).queryKey, job);
}

export function applyMetricsEvent(queryClient: QueryClient, jobId: number, points: readonly MetricEvent[]): void {
  queryClient.setQueryData(jobMetricsQuery(jobId).queryKey, (old: JobMetrics | undefined) => {
    const next: JobMetrics = { train: [...(old?.train ?? [])], validation: [...(old?.validation ?? [])] };
    for (const kind of ["train", "validation"] as const) {
      const fresh = points
        .filter((p) => p.kind === kind)
        .map(({ kind: _kind, ...p }) => p as MetricPointPublic);
      if (fresh.length) next[kind] = upsert(next[kind], fresh, (p) => String(p.step), (p) => p.step);
    }
    return next;
  });
}

export function applyAccuracyEvent(queryClient: QueryClient, jobId: number, points: readonly AccuracyEvent[]): void {
  queryClient.setQueryData(jobAccuracyQuery(jobId).queryKey, (old: JobAccuracy | undefined) => {
    const benchmarks = { ...(old?.benchmarks ?? {}) };
    for (const p of points) {
      const { benchmark, ...point } = p;
      benchmarks[benchmark] = upsert(benchmarks[benchmark] ?? [], [point], (x) => String(x.step), (x) => x.step);
    }
    return { benchmarks };
  });
}

export function applyLogEvent(queryClient: QueryClient, jobId: number, lines: readonly JobLogPublic[]): void {
  queryClient.setQueryData(jobLogsQuery(jobId).queryKey, (old: JobLogsPublic | undefined) => {
    const data = upsert(old?.data ?? [], lines, (x) => String(x.id), (x) => x.id);
    return { data, count: data.length };
  });
}

export function useJobEvents(jobId: number, live: boolean): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!live || typeof EventSource === "undefined") return;
    const source = new EventSource(`/api/v1/jobs/${jobId}/events`, { withCredentials: true });
    const on = <T,>(event: string, apply: (data: T) => void) =>
      source.addEventListener(event, (e) => apply(JSON.parse((e as MessageEvent<string>).data) as T));
    const finish = () => {
      source.close();
      // Predictions and final figures are written at the end: read them once more.
      void queryClient.invalidateQueries({ queryKey: ["jobs", jobId] });
      void queryClient.invalidateQueries({ queryKey: ["leaderboard"] });
    };
    on<JobPublic>("job", (job) => {
      applyJobEvent(queryClient, jobId, job);
      void queryClient.invalidateQueries({ queryKey: ["jobs", "list"] });
      // The final state may arrive just before `end`; the page then stops listening.
      if (FINAL_STATUSES.includes(job.status)) finish();
    });
    on<MetricEvent[]>("metrics", (points) => applyMetricsEvent(queryClient, jobId, points));
    on<AccuracyEvent[]>("accuracy", (points) => applyAccuracyEvent(queryClient, jobId, points));
    on<JobLogPublic[]>("log", (lines) => applyLogEvent(queryClient, jobId, lines));
    on<{ status: string }>("end", finish);
    return () => source.close();
  }, [jobId, live, queryClient]);
}
