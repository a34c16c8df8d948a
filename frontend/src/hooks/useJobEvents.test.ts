import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";

import type { JobAccuracy, JobLogsPublic, JobMetrics } from "../client";
import { jobAccuracyQuery, jobLogsQuery, jobMetricsQuery } from "../queries";
import { shouldRetry } from "../queryClient";
import { ApiError } from "../api";
import { applyAccuracyEvent, applyLogEvent, applyMetricsEvent } from "./useJobEvents";

const point = (kind: string, step: number, loss: number) => ({ kind, step, epoch: null, loss, learning_rate: 1e-4, tokens_per_second: null });

describe("SSE events into the query cache", () => {
  it("metrics are split by kind and a replay after reconnecting does not duplicate them", () => {
    const qc = new QueryClient();
    applyMetricsEvent(qc, 5, [point("train", 1, 3), point("train", 2, 2.5)]);
    applyMetricsEvent(qc, 5, [point("train", 1, 3), point("train", 2, 2.5), point("train", 3, 2), point("validation", 2, 2.7)]);
    const m = qc.getQueryData<JobMetrics>(jobMetricsQuery(5).queryKey);
    expect(m?.train.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(m?.validation).toEqual([{ step: 2, epoch: null, loss: 2.7, learning_rate: 1e-4, tokens_per_second: null }]);
  });

  it("accuracy points join their benchmark's series in step order", () => {
    const qc = new QueryClient();
    qc.setQueryData(jobAccuracyQuery(5).queryKey, { benchmarks: { svamp: [{ step: 4, accuracy: 0.5, correct: 2, total: 4 }] } });
    applyAccuracyEvent(qc, 5, [
      { benchmark: "svamp", step: 2, accuracy: 0.25, correct: 1, total: 4 },
      { benchmark: "gsm8k", step: 2, accuracy: 0, correct: 0, total: 4 },
    ]);
    const a = qc.getQueryData<JobAccuracy>(jobAccuracyQuery(5).queryKey);
    expect(a?.benchmarks.svamp?.map((p) => p.step)).toEqual([2, 4]);
    expect(Object.keys(a?.benchmarks ?? {})).toEqual(["svamp", "gsm8k"]);
  });

  it("log lines are kept once each, by id", () => {
    const qc = new QueryClient();
    const line = (id: number) => ({ id, time: "2026-01-01T00:00:00Z", level: "INFO", message: `line ${id}` });
    applyLogEvent(qc, 5, [line(1), line(2)]);
    applyLogEvent(qc, 5, [line(2), line(3)]);
    expect(qc.getQueryData<JobLogsPublic>(jobLogsQuery(5).queryKey)?.data.map((l) => l.id)).toEqual([1, 2, 3]);
  });
});

describe("retry policy", () => {
  it("never retries a 4xx, retries other failures twice", () => {
    expect(shouldRetry(0, new ApiError(401, {}))).toBe(false);
    expect(shouldRetry(0, new ApiError(422, {}))).toBe(false);
    expect(shouldRetry(0, new ApiError(503, {}))).toBe(true);
    expect(shouldRetry(1, new TypeError("network"))).toBe(true);
    expect(shouldRetry(2, new TypeError("network"))).toBe(false);
  });
});
