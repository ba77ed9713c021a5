import { useMutation, useQueryClient } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { authResultSchema, type User } from '@/lib/user';
import { setCurrentUser } from '../lib/session-cache';

export interface LoginInput {
  email: string;
  password: string;
}

/** POST /api/auth/login — the server sets the session cookie; the token in the answer is not kept. */
export async function login(input: LoginInput): Promise<User> {
  const { user } = await apiClient.post('/api/auth/login', authResultSchema, input);
  return user;
}

export function useLogin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: login,
    onSuccess: (user) => setCurrentUser(qc, user),
  });
}
