import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { ApiError, apiClient } from '@/lib/api-client';
import { authKeys } from '@/lib/query-keys';
import { userSchema, type User } from '@/lib/user';

/** GET /api/auth/me — the signed-in user, or null when there is no session (401). */
export async function getMe(signal?: AbortSignal): Promise<User | null> {
  try {
    const data = await apiClient.get('/api/auth/me', z.object({ user: userSchema }), undefined, signal);
    return data.user;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

/** Who is signed in: `data` is the user, null when signed out, undefined while unknown. */
export function useCurrentUser() {
  return useQuery({
    queryKey: authKeys.me(),
    queryFn: ({ signal }) => getMe(signal),
    staleTime: 5 * 60_000,
  });
}
