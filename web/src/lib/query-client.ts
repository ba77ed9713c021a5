import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { ApiError } from './api-client';
import { authKeys } from './query-keys';

export function createQueryClient(): QueryClient {
  // A request refused for want of a session means the session ended (expired
  // or revoked elsewhere): ask again who is signed in, so the header and the
  // pages that need an account catch up.
  const onError = (error: unknown) => {
    if (error instanceof ApiError && error.code === 'unauthenticated') void client.invalidateQueries({ queryKey: authKeys.me() });
  };
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        // A 4xx will not change by asking again; a network blip might.
        retry: (count, error) => !(error instanceof ApiError && error.isClientError) && count < 2,
      },
      mutations: { retry: false },
    },
  });
  return client;
}
