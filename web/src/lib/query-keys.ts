// Query keys in one place, so realtime patches and features agree on them.

export type ListScope =
  | { kind: 'all' }
  | { kind: 'mine' }
  | { kind: 'search'; q: string }
  | { kind: 'status'; status: string };

export const videoKeys = {
  all: ['videos'] as const,
  lists: () => ['videos', 'list'] as const,
  list: (scope: ListScope) => ['videos', 'list', scope] as const,
  detail: (id: string) => ['videos', 'detail', id] as const,
  status: (id: string) => ['videos', 'status', id] as const,
  playback: (id: string) => ['videos', 'playback', id] as const,
  stats: () => ['videos', 'stats'] as const,
  notifications: (id: string) => ['notifications', id] as const,
};

export const authKeys = {
  all: ['auth'] as const,
  me: () => ['auth', 'me'] as const,
};
