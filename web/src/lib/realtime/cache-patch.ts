import type { InfiniteData, QueryClient } from '@tanstack/react-query';
import { videoKeys } from '@/lib/query-keys';
import {
  isFinalStatus,
  type StatusNotification,
  type Video,
  type VideoPage,
  type VideoStats,
  type VideoStatus,
  type VideoStatusInfo,
} from '@/lib/video';
import {
  progressEventSchema,
  toMillis,
  videoStatusEventSchema,
  type ProgressEvent,
  type VideoStatusEvent,
} from './events';
import { SeqTracker } from './seq-tracker';

// Live updates write straight into the react-query cache: the detail, every
// loaded list page, the status snapshot, the stats counts and the status
// timeline. Nothing here refetches, except where the cache cannot know the
// answer (a video it has never seen changes the counts, or a poll shows a new
// status whose details, like the manifest URL, only the server has).

type ListData = InfiniteData<VideoPage, string | null>;

function mapLists(qc: QueryClient, fn: (v: Video) => Video | null): void {
  for (const [key, data] of qc.getQueriesData<ListData>({ queryKey: videoKeys.lists() })) {
    if (!data?.pages) continue;
    let changed = false;
    const pages = data.pages.map((page) => {
      const items: Video[] = [];
      for (const v of page.data) {
        const next = fn(v);
        if (next !== v) changed = true;
        if (next) items.push(next);
      }
      return changed ? { ...page, data: items } : page;
    });
    if (changed) qc.setQueryData<ListData>(key, { ...data, pages });
  }
}

/** The status the cache last knew for a video, from its detail or any list. */
export function knownStatus(qc: QueryClient, id: string): VideoStatus | undefined {
  const detail = qc.getQueryData<Video>(videoKeys.detail(id));
  if (detail) return detail.status;
  for (const [, data] of qc.getQueriesData<ListData>({ queryKey: videoKeys.lists() })) {
    for (const page of data?.pages ?? []) {
      const hit = page.data.find((v) => v.id === id);
      if (hit) return hit.status;
    }
  }
  return undefined;
}

/** Applies `fn` to the video wherever the cache holds it (detail and lists). */
export function patchVideo(qc: QueryClient, id: string, fn: (v: Video) => Video): void {
  const detail = qc.getQueryData<Video>(videoKeys.detail(id));
  if (detail) qc.setQueryData<Video>(videoKeys.detail(id), fn(detail));
  mapLists(qc, (v) => (v.id === id ? fn(v) : v));
}

function moveCount(qc: QueryClient, from: string | undefined, to: string | undefined): void {
  if (from === to) return;
  const stats = qc.getQueryData<VideoStats>(videoKeys.stats());
  if (!stats) return;
  if (from === undefined) {
    // A video this page never saw: only the server knows the new counts.
    void qc.invalidateQueries({ queryKey: videoKeys.stats() });
    return;
  }
  const byStatus = { ...stats.byStatus };
  let total = stats.total;
  byStatus[from] = Math.max(0, (byStatus[from] ?? 0) - 1);
  if (to && to !== 'DELETED') byStatus[to] = (byStatus[to] ?? 0) + 1;
  else total = Math.max(0, total - 1);
  qc.setQueryData<VideoStats>(videoKeys.stats(), { total, byStatus });
}

/** A full, fresh video object (from an event or a mutation): store it everywhere. */
export function storeVideo(qc: QueryClient, video: Video, stage?: string): void {
  const before = knownStatus(qc, video.id);
  qc.setQueryData<Video>(videoKeys.detail(video.id), video);
  mapLists(qc, (v) => (v.id === video.id ? video : v));
  const prevInfo = qc.getQueryData<VideoStatusInfo>(videoKeys.status(video.id));
  qc.setQueryData<VideoStatusInfo>(videoKeys.status(video.id), {
    videoId: video.id,
    status: video.status,
    progress: video.progress,
    errorMessage: video.errorMessage,
    updatedAt: video.updatedAt,
    stage: video.status === 'PROCESSING' ? (stage ?? prevInfo?.stage) : undefined,
  });
  moveCount(qc, before, video.status);
}

/** The video is gone: drop it from every cache and the counts. */
export function removeVideo(qc: QueryClient, id: string): void {
  const before = knownStatus(qc, id);
  mapLists(qc, (v) => (v.id === id ? null : v));
  qc.removeQueries({ queryKey: videoKeys.detail(id), exact: true });
  qc.removeQueries({ queryKey: videoKeys.status(id), exact: true });
  qc.removeQueries({ queryKey: videoKeys.notifications(id), exact: true });
  if (before !== undefined) moveCount(qc, before, 'DELETED');
  else void qc.invalidateQueries({ queryKey: videoKeys.stats() });
}

/**
 * A status snapshot from polling GET /api/videos/:id/status. Status and
 * progress are patched in place; when the status itself changed, the detail
 * (new URLs, renditions, duration), the counts and the timeline are fetched
 * once, since a snapshot does not carry them.
 */
export function applyStatusSnapshot(qc: QueryClient, info: VideoStatusInfo): void {
  const before = knownStatus(qc, info.videoId);
  patchVideo(qc, info.videoId, (v) =>
    v.status === info.status && v.progress === info.progress && v.errorMessage === info.errorMessage
      ? v
      : { ...v, status: info.status, progress: info.progress, errorMessage: info.errorMessage },
  );
  if (before !== undefined && before !== info.status) {
    void qc.invalidateQueries({ queryKey: videoKeys.detail(info.videoId) });
    void qc.invalidateQueries({ queryKey: videoKeys.notifications(info.videoId) });
    moveCount(qc, before, info.status);
  }
}

function appendTimeline(qc: QueryClient, ev: VideoStatusEvent): void {
  const list = qc.getQueryData<StatusNotification[]>(videoKeys.notifications(ev.videoId));
  if (!list || !ev.message) return;
  const ms = toMillis(ev.timestamp) ?? Date.now();
  const createdAt = new Date(ms).toISOString();
  if (list.some((n) => n.status === ev.status && n.message === ev.message)) return;
  const entry: StatusNotification = {
    id: `live-${ev.seq ?? ms}`,
    videoId: ev.videoId,
    status: ev.status,
    message: ev.message,
    createdAt,
  };
  qc.setQueryData<StatusNotification[]>(videoKeys.notifications(ev.videoId), [entry, ...list]);
}

function cachedUpdatedAt(qc: QueryClient, id: string): number | undefined {
  let iso = qc.getQueryData<Video>(videoKeys.detail(id))?.updatedAt;
  if (!iso) {
    for (const [, data] of qc.getQueriesData<ListData>({ queryKey: videoKeys.lists() })) {
      for (const page of data?.pages ?? []) {
        const hit = page.data.find((v) => v.id === id);
        if (hit) iso = hit.updatedAt;
      }
    }
  }
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * True when the cache already holds a newer state of the video than the
 * event describes. On join-video the server replays the room's recent events
 * from the start; for a video this page fetched over REST (say, just after
 * confirming its upload) those replays are history, and applying them would
 * flash old statuses before catching up again.
 */
export function isOlderThanCache(qc: QueryClient, videoId: string, eventMs: number | undefined): boolean {
  if (eventMs === undefined) return false;
  const cached = cachedUpdatedAt(qc, videoId);
  return cached !== undefined && eventMs < cached;
}

export function applyVideoStatusEvent(qc: QueryClient, ev: VideoStatusEvent): void {
  const at = ev.data ? Date.parse(ev.data.updatedAt) : toMillis(ev.timestamp);
  if (ev.status !== 'DELETED' && isOlderThanCache(qc, ev.videoId, Number.isNaN(at) ? undefined : at)) return;
  if (ev.status === 'DELETED') {
    removeVideo(qc, ev.videoId);
    return;
  }
  if (ev.data) {
    storeVideo(qc, ev.data);
  } else {
    patchVideo(qc, ev.videoId, (v) => ({ ...v, status: ev.status as VideoStatus }));
  }
  appendTimeline(qc, ev);
}

export function applyProgressEvent(qc: QueryClient, ev: ProgressEvent): void {
  if (isOlderThanCache(qc, ev.videoId, toMillis(ev.timestamp))) return;
  const status = knownStatus(qc, ev.videoId);
  // A late progress tick must not pull a finished video back.
  if (isFinalStatus(status)) return;
  if (status === 'UPLOADING' || status === 'UPLOADED') moveCount(qc, status, 'PROCESSING');
  patchVideo(qc, ev.videoId, (v) => ({
    ...v,
    progress: ev.progress,
    status: v.status === 'UPLOADING' || v.status === 'UPLOADED' ? 'PROCESSING' : v.status,
  }));
  const prev = qc.getQueryData<VideoStatusInfo>(videoKeys.status(ev.videoId));
  qc.setQueryData<VideoStatusInfo>(videoKeys.status(ev.videoId), {
    videoId: ev.videoId,
    status: 'PROCESSING',
    progress: ev.progress,
    errorMessage: null,
    updatedAt: prev?.updatedAt,
    stage: ev.stage ?? prev?.stage,
  });
}

/** Handlers for the raw Socket.IO payloads: validate, de-duplicate, patch. */
export function createRealtimeHandlers(qc: QueryClient, tracker = new SeqTracker()) {
  return {
    onVideoStatus(raw: unknown): boolean {
      const parsed = videoStatusEventSchema.safeParse(raw);
      if (!parsed.success) return false;
      const ev = parsed.data;
      if (!tracker.accept(ev.videoId, ev.seq, ev.timestamp)) return false;
      applyVideoStatusEvent(qc, ev);
      return true;
    },
    onProgress(raw: unknown): boolean {
      const parsed = progressEventSchema.safeParse(raw);
      if (!parsed.success) return false;
      const ev = parsed.data;
      if (!tracker.accept(ev.videoId, ev.seq, ev.timestamp)) return false;
      applyProgressEvent(qc, ev);
      return true;
    },
  };
}
