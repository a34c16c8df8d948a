import { QueryCache, QueryClient } from "@tanstack/react-query";

import { ApiError, isUnauthorized } from "./api";

/** Retry only what may pass on a second try: network trouble and 5xx, never a 4xx. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}

export function createQueryClient(): QueryClient {
  const queryClient: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      // A session that expires mid-use: ask who is signed in again, which shows the sign-in.
      onError: (error, query) => {
        if (isUnauthorized(error) && query.queryKey[0] !== "me") {
          void queryClient.invalidateQueries({ queryKey: ["me"] });
        }
      },
    }),
    defaultOptions: {
      queries: {
        retry: shouldRetry,
        retryDelay: (attempt) => Math.min(500 * 2 ** attempt, 4000),
        staleTime: 5_000,
        refetchOnWindowFocus: false,
      },
      mutations: { retry: false },
    },
  });
  return queryClient;
}

export const queryClient = createQueryClient();
