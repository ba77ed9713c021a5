import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { ApiError, apiClient } from '@/lib/api-client';
import { setCurrentUser } from '../lib/session-cache';

/** POST /api/auth/logout — revokes this session and clears the cookie. */
export async function logout(): Promise<void> {
  try {
    await apiClient.post('/api/auth/logout', z.unknown());
  } catch (e) {
    // No session any more (expired or revoked elsewhere): signed out all the same.
    if (!(e instanceof ApiError && e.status === 401)) throw e;
  }
}

export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: logout,
    onSuccess: () => setCurrentUser(qc, null),
  });
}
