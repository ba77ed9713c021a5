import type { QueryClient } from '@tanstack/react-query';
import { authKeys } from '@/lib/query-keys';
import type { User } from '@/lib/user';

/**
 * The caller changed (signed in, up or out): record who it is now and fetch
 * again everything else, since lists, stats and private videos depend on it.
 */
export function setCurrentUser(qc: QueryClient, user: User | null): void {
  qc.setQueryData<User | null>(authKeys.me(), user);
  void qc.invalidateQueries({ predicate: (q) => q.queryKey[0] !== authKeys.all[0] });
}
