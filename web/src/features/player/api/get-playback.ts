import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { apiClient } from '@/lib/api-client';
import { videoKeys } from '@/lib/query-keys';

export const playbackSchema = z.object({
  dashUrl: z.string().nullable().default(null),
  hlsUrl: z.string().nullable().default(null),
  thumbnailUrl: z.string().nullable().default(null),
  /** When the URLs stop working (private videos); null for plain URLs that do not expire. */
  expiresAt: z.string().nullable().default(null),
});
export type Playback = z.infer<typeof playbackSchema>;

/** GET /api/videos/:id/playback — the stream URLs to play, signed for a private video. */
export function getPlayback(id: string, signal?: AbortSignal): Promise<Playback> {
  return apiClient.get(`/api/videos/${encodeURIComponent(id)}/playback`, playbackSchema, undefined, signal);
}

/** Ask for new URLs this long before the old ones expire… */
const RENEW_AHEAD_MS = 60_000;
/** …but never more often than this, whatever the clocks say. */
const MIN_RENEW_MS = 15_000;

/**
 * Milliseconds until the playback URLs should be fetched again: shortly
 * before `expiresAt` (a fifth of the time left, at most a minute ahead), or
 * false when they do not expire.
 */
export function renewDelay(expiresAt: string | null | undefined, now = Date.now()): number | false {
  if (!expiresAt) return false;
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) return false;
  const left = at - now;
  return Math.max(MIN_RENEW_MS, left - Math.min(RENEW_AHEAD_MS, left / 5));
}

/** The video's playback URLs, renewed before they expire while the player is on screen. */
export function usePlayback(id: string, { enabled = true }: { enabled?: boolean } = {}) {
  return useQuery({
    queryKey: videoKeys.playback(id),
    queryFn: ({ signal }) => getPlayback(id, signal),
    enabled,
    // Signed URLs stay good until renewal time; plain ones do not change.
    staleTime: (query) => renewDelay(query.state.data?.expiresAt) || Infinity,
    refetchInterval: (query) => renewDelay(query.state.data?.expiresAt),
    refetchIntervalInBackground: true,
  });
}
