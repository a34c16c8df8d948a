/**
 * Query keys and query functions, one factory per resource, all through the generated client.
 * Keys start with the resource name, so invalidating ["jobs"] refreshes every job query.
 */
import { queryOptions } from "@tanstack/react-query";

import {
  JobStatus,
  benchmarksListBenchmarks,
  datasetsListDatasets,
  datasetsPreviewDataset,
  datasetsReadDataset,
  estimatesEstimateJob,
  jobsListJobs,
  jobsPlanJobTraining,
  jobsReadDefaults,
  jobsReadAccuracy,
  jobsReadJob,
  jobsReadLogs,
  jobsReadMetrics,
  jobsReadPredictions,
  jobsReadPrompts,
  leaderboardReadLeaderboard,
  methodsEstimateParameters,
  methodsListMethods,
  modelsListModels,
  playgroundListGenerations,
  studiesListPresets,
  studiesListStudies,
  studiesPlanStudy,
  studiesReadStudy,
  studiesReadStudyPlot,
  teamsListMembers,
  teamsListTeams,
  tokensListTokens,
  usersReadMe,
} from "./client";
import type { EstimateJobRequest, LeaderboardReadLeaderboardData, StudyCreate } from "./client";

export type { JobStatus };
/** Every job state, in lifecycle order: the API's JobStatus enum. */
export const JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);
/** The states a job never leaves (DESIGN.md's lifecycle). */
export const FINAL_STATUSES: readonly JobStatus[] = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED];

export const isFinal = (status: JobStatus): boolean => FINAL_STATUSES.includes(status);

export const meQuery = () =>
  queryOptions({
    queryKey: ["me"],
    queryFn: async ({ signal }) => (await usersReadMe({ signal })).data,
    retry: false,
  });

export const teamsQuery = () =>
  queryOptions({
    queryKey: ["teams"],
    queryFn: async ({ signal }) => (await teamsListTeams({ signal })).data,
  });

export const datasetsQuery = (teamId: number | undefined) =>
  queryOptions({
    queryKey: ["datasets", { teamId }],
    queryFn: async ({ signal }) =>
      (await datasetsListDatasets({ signal, query: { team_id: teamId, limit: 200 } })).data,
  });

export const datasetQuery = (id: number) =>
  queryOptions({
    queryKey: ["datasets", id],
    queryFn: async ({ signal }) =>
      (await datasetsReadDataset({ signal, path: { dataset_id: id } })).data,
  });

export const datasetPreviewQuery = (id: number, skip: number, limit: number) =>
  queryOptions({
    queryKey: ["datasets", id, "preview", { skip, limit }],
    queryFn: async ({ signal }) =>
      (await datasetsPreviewDataset({ signal, path: { dataset_id: id }, query: { skip, limit } }))
        .data,
  });

export const benchmarksQuery = () =>
  queryOptions({
    queryKey: ["benchmarks"],
    queryFn: async ({ signal }) => (await benchmarksListBenchmarks({ signal })).data,
    staleTime: 60_000,
  });

export const modelsQuery = () =>
  queryOptions({
    queryKey: ["models"],
    queryFn: async ({ signal }) => (await modelsListModels({ signal })).data,
    staleTime: 60_000,
  });

export const methodsQuery = () =>
  queryOptions({
    queryKey: ["methods"],
    queryFn: async ({ signal }) => (await methodsListMethods({ signal })).data,
    staleTime: 5 * 60_000,
  });

/** The config a new job starts from (the engine's defaults), GET /jobs/defaults. */
export const jobDefaultsQuery = () =>
  queryOptions({
    queryKey: ["jobs", "defaults"],
    queryFn: async ({ signal }) => (await jobsReadDefaults({ signal })).data,
    staleTime: 5 * 60_000,
  });

export const estimateQuery = (baseModel: string, adapter: Record<string, unknown>) =>
  queryOptions({
    queryKey: ["methods", "estimate", baseModel, adapter],
    queryFn: async ({ signal }) =>
      (await methodsEstimateParameters({ signal, body: { base_model: baseModel, adapter } })).data,
    staleTime: 5 * 60_000,
    enabled: Boolean(baseModel),
  });

/** What a training config does with a dataset (rows held out and trained on, steps, warm-up). */
export const trainingPlanQuery = (datasetId: number | null, training: Record<string, unknown>) =>
  queryOptions({
    queryKey: ["jobs", "plan", datasetId, training],
    queryFn: async ({ signal }) =>
      (await jobsPlanJobTraining({ signal, body: { dataset_id: datasetId as number, training } })).data,
    staleTime: 5 * 60_000,
    enabled: datasetId !== null,
    retry: false,
  });

/** What a job config will need (POST /estimates): parameters, peak memory by part, time. */
export const jobEstimateQuery = (config: EstimateJobRequest | null) =>
  queryOptions({
    queryKey: ["estimates", config],
    queryFn: async ({ signal }) => (await estimatesEstimateJob({ signal, body: { config: config as EstimateJobRequest } })).data,
    staleTime: 5 * 60_000,
    enabled: config !== null,
    retry: false,
    // The last estimate stays in view while the next is asked (no flicker as the form is edited).
    placeholderData: (previous) => previous,
  });

export interface JobFilters {
  teamId?: number;
  status?: JobStatus;
  method?: string;
}

export const jobsQuery = ({ teamId, status, method }: JobFilters) =>
  queryOptions({
    queryKey: ["jobs", "list", { teamId, status, method }],
    queryFn: async ({ signal }) =>
      (
        await jobsListJobs({
          signal,
          query: { team_id: teamId, status, method: method || undefined, limit: 200 },
        })
      ).data,
  });

export const jobQuery = (id: number) =>
  queryOptions({
    queryKey: ["jobs", id],
    queryFn: async ({ signal }) => (await jobsReadJob({ signal, path: { job_id: id } })).data,
  });

export const jobMetricsQuery = (id: number) =>
  queryOptions({
    queryKey: ["jobs", id, "metrics"],
    queryFn: async ({ signal }) => (await jobsReadMetrics({ signal, path: { job_id: id } })).data,
  });

export const jobAccuracyQuery = (id: number) =>
  queryOptions({
    queryKey: ["jobs", id, "accuracy"],
    queryFn: async ({ signal }) => (await jobsReadAccuracy({ signal, path: { job_id: id } })).data,
  });

export const jobLogsQuery = (id: number) =>
  queryOptions({
    queryKey: ["jobs", id, "logs"],
    queryFn: async ({ signal }) =>
      (await jobsReadLogs({ signal, path: { job_id: id }, query: { limit: 1000 } })).data,
  });

/** The first example rendered with the job's template; 404 until training has started. */
export const jobPromptsQuery = (id: number) =>
  queryOptions({
    queryKey: ["jobs", id, "prompts"],
    queryFn: async ({ signal }) => (await jobsReadPrompts({ signal, path: { job_id: id } })).data,
    staleTime: Infinity, // written once per job
  });

export interface PredictionFilters {
  wrongOnly: boolean;
  benchmark?: string;
  skip: number;
  limit: number;
}

export const jobPredictionsQuery = (id: number, f: PredictionFilters) =>
  queryOptions({
    queryKey: ["jobs", id, "predictions", f],
    queryFn: async ({ signal }) =>
      (
        await jobsReadPredictions({
          signal,
          path: { job_id: id },
          query: {
            wrong_only: f.wrongOnly,
            benchmark: f.benchmark || undefined,
            skip: f.skip,
            limit: f.limit,
          },
        })
      ).data,
  });

export type LeaderboardParams = NonNullable<LeaderboardReadLeaderboardData["query"]>;

export const leaderboardQuery = (params: LeaderboardParams) =>
  queryOptions({
    queryKey: ["leaderboard", params],
    queryFn: async ({ signal }) => (await leaderboardReadLeaderboard({ signal, query: params })).data,
  });

/** The playground's history: the teams' requests with both answers and their settings. */
export const generationsQuery = (jobId: number | null) =>
  queryOptions({
    queryKey: ["playground", { jobId }],
    queryFn: async ({ signal }) =>
      (await playgroundListGenerations({ signal, query: jobId ? { job_id: jobId, limit: 50 } : { limit: 50 } })).data,
  });

export const tokensQuery = () =>
  queryOptions({
    queryKey: ["tokens"],
    queryFn: async ({ signal }) => (await tokensListTokens({ signal })).data,
  });

export const teamMembersQuery = (teamId: number) =>
  queryOptions({
    queryKey: ["teams", teamId, "members"],
    queryFn: async ({ signal }) => (await teamsListMembers({ signal, path: { team_id: teamId } })).data,
  });

/** The paper's study presets, each with its finding. */
export const studyPresetsQuery = () =>
  queryOptions({
    queryKey: ["studies", "presets"],
    queryFn: async ({ signal }) => (await studiesListPresets({ signal })).data,
    staleTime: 5 * 60_000,
  });

export const studiesQuery = (teamId: number | undefined) =>
  queryOptions({
    queryKey: ["studies", "list", { teamId }],
    queryFn: async ({ signal }) => (await studiesListStudies({ signal, query: { team_id: teamId, limit: 100 } })).data,
  });

export const studyQuery = (id: number) =>
  queryOptions({
    queryKey: ["studies", id],
    queryFn: async ({ signal }) => (await studiesReadStudy({ signal, path: { study_id: id } })).data,
  });

export const studyPlotQuery = (id: number) =>
  queryOptions({
    queryKey: ["studies", id, "plot"],
    queryFn: async ({ signal }) => (await studiesReadStudyPlot({ signal, path: { study_id: id } })).data,
  });

/** A study checked and sized before launch (POST /studies/plan): cells, estimates, totals. */
export const studyPlanQuery = (study: StudyCreate | null) =>
  queryOptions({
    queryKey: ["studies", "plan", study],
    queryFn: async ({ signal }) => (await studiesPlanStudy({ signal, body: study as StudyCreate })).data,
    enabled: study !== null,
    retry: false,
    staleTime: 60_000,
    placeholderData: (previous) => previous,
  });
