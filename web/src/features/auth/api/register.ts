import { useMutation, useQueryClient } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { authResultSchema, type User } from '@/lib/user';
import { setCurrentUser } from '../lib/session-cache';

export interface RegisterInput {
  email: string;
  password: string;
  name?: string;
}

/** POST /api/auth/register — creates the account and signs it in (session cookie). */
export async function register(input: RegisterInput): Promise<User> {
  const { user } = await apiClient.post('/api/auth/register', authResultSchema, input);
  return user;
}

export function useRegister() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: register,
    onSuccess: (user) => setCurrentUser(qc, user),
  });
}
