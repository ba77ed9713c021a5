import { QueryClient, type InfiniteData } from '@tanstack/react-query';
import { beforeEach, describe, expect, it } from 'vitest';
import { videoKeys } from '@/lib/query-keys';
import type { StatusNotification, Video, VideoPage, VideoStats, VideoStatusInfo } from '@/lib/video';
import { applyStatusSnapshot, createRealtimeHandlers, removeVideo } from './cache-patch';
import { SeqTracker } from './seq-tracker';

const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function video(id: string, patch: Partial<Video> = {}): Video {
  return {
    id,
    title: `Video ${id}`,
    description: '',
    fileName: `${id}.mp4`,
    fileType: 'video/mp4',
    fileSize: 1000,
    status: 'UPLOADED',
    progress: 0,
    errorMessage: null,
    manifestUrl: null,
    hlsUrl: null,
    thumbnailUrl: null,
    duration: 0,
    width: 0,
    height: 0,
    resolution: null,
    renditions: [],
    ownerId: null,
    visibility: 'public',
    createdAt: iso(T0),
    updatedAt: iso(T0),
    ...patch,
  };
}

const page = (videos: Video[]): InfiniteData<VideoPage, string | null> => ({
  pages: [{ data: videos, pagination: { limit: 20, nextCursor: null, hasMore: false } }],
  pageParams: [null],
});

const statusEvent = (id: string, status: string, seq: number, at: number, extra: Partial<Video> = {}) => ({
  videoId: id,
  status,
  data: status === 'DELETED' ? null : video(id, { status: status as Video['status'], updatedAt: iso(at), ...extra }),
  message: `now ${status}`,
  seq,
  timestamp: at,
});

const listKey = videoKeys.list({ kind: 'all' });
const listed = (qc: QueryClient) => qc.getQueryData<InfiniteData<VideoPage>>(listKey)!.pages.flatMap((p) => p.data);

let qc: QueryClient;
beforeEach(() => {
  qc = new QueryClient();
});

describe('SeqTracker', () => {
  it('drops what it has seen and keeps what is new', () => {
    const t = new SeqTracker();
    expect(t.accept('a', 1)).toBe(true);
    expect(t.accept('a', 2)).toBe(true);
    expect(t.accept('a', 2)).toBe(false);
    expect(t.accept('a', 1)).toBe(false);
    expect(t.accept('a', 3)).toBe(true);
  });
  it('counts per video', () => {
    const t = new SeqTracker();
    expect(t.accept('a', 5)).toBe(true);
    expect(t.accept('b', 1)).toBe(true);
  });
  it('applies events without a seq', () => {
    const t = new SeqTracker();
    expect(t.accept('a', undefined)).toBe(true);
    expect(t.accept('a', undefined)).toBe(true);
  });
  it('takes a lower seq with a later time as a restarted server', () => {
    const t = new SeqTracker();
    expect(t.accept('a', 40, 1000)).toBe(true);
    expect(t.accept('a', 39, 900)).toBe(false); // a replay
    expect(t.accept('a', 1, 5000)).toBe(true); // numbering began again
    expect(t.accept('a', 1, 5000)).toBe(false);
  });
});

describe('realtime events patch the cache', () => {
  it('store the video in the detail, the lists and the status snapshot', () => {
    qc.setQueryData(videoKeys.detail('a'), video('a'));
    qc.setQueryData(listKey, page([video('b'), video('a')]));
    const h = createRealtimeHandlers(qc);

    expect(h.onVideoStatus(statusEvent('a', 'PROCESSING', 3, T0 + 1000))).toBe(true);

    expect(qc.getQueryData<Video>(videoKeys.detail('a'))!.status).toBe('PROCESSING');
    expect(listed(qc).map((v) => [v.id, v.status])).toEqual([
      ['b', 'UPLOADED'],
      ['a', 'PROCESSING'],
    ]);
    expect(qc.getQueryData<VideoStatusInfo>(videoKeys.status('a'))!.status).toBe('PROCESSING');
  });

  it('drop replayed events by seq, so a replay cannot move the status back', () => {
    const h = createRealtimeHandlers(qc);
    qc.setQueryData(videoKeys.detail('a'), video('a'));
    const events = [
      statusEvent('a', 'UPLOADED', 2, T0 + 100),
      statusEvent('a', 'PROCESSING', 3, T0 + 200),
      statusEvent('a', 'READY', 9, T0 + 900, { manifestUrl: '/media/a/manifest.mpd' }),
    ];
    for (const e of events) h.onVideoStatus(e);
    // After a reconnect the server replays the room's history in order.
    const applied = events.map((e) => h.onVideoStatus(e));
    expect(applied).toEqual([false, false, false]);
    const v = qc.getQueryData<Video>(videoKeys.detail('a'))!;
    expect(v.status).toBe('READY');
    expect(v.manifestUrl).toBe('/media/a/manifest.mpd');
  });

  it('ignore history older than what was fetched over REST', () => {
    // The page confirmed the upload (REST) and then joined the room: the
    // replay starts with UPLOADING, which must not show.
    qc.setQueryData(videoKeys.detail('a'), video('a', { status: 'UPLOADED', updatedAt: iso(T0 + 500) }));
    const h = createRealtimeHandlers(qc);
    h.onVideoStatus(statusEvent('a', 'UPLOADING', 1, T0));
    expect(qc.getQueryData<Video>(videoKeys.detail('a'))!.status).toBe('UPLOADED');
    h.onVideoStatus(statusEvent('a', 'PROCESSING', 3, T0 + 600));
    expect(qc.getQueryData<Video>(videoKeys.detail('a'))!.status).toBe('PROCESSING');
  });

  it('apply progress with its stage, and never after the video finished', () => {
    qc.setQueryData(videoKeys.detail('a'), video('a', { status: 'PROCESSING' }));
    qc.setQueryData(listKey, page([video('a', { status: 'PROCESSING' })]));
    const h = createRealtimeHandlers(qc);

    h.onProgress({ videoId: 'a', progress: 42.5, stage: 'encoding', seq: 4, timestamp: T0 + 10 });
    expect(qc.getQueryData<Video>(videoKeys.detail('a'))!.progress).toBe(42.5);
    expect(listed(qc)[0].progress).toBe(42.5);
    expect(qc.getQueryData<VideoStatusInfo>(videoKeys.status('a'))).toMatchObject({ progress: 42.5, stage: 'encoding' });

    h.onVideoStatus(statusEvent('a', 'READY', 5, T0 + 20, { progress: 100 }));
    h.onProgress({ videoId: 'a', progress: 99, stage: 'uploading', seq: 6, timestamp: T0 + 30 });
    expect(qc.getQueryData<Video>(videoKeys.detail('a'))).toMatchObject({ status: 'READY', progress: 100 });
  });

  it('drop duplicate progress events', () => {
    qc.setQueryData(videoKeys.detail('a'), video('a', { status: 'PROCESSING' }));
    const h = createRealtimeHandlers(qc);
    expect(h.onProgress({ videoId: 'a', progress: 50, seq: 7, timestamp: T0 + 1 })).toBe(true);
    expect(h.onProgress({ videoId: 'a', progress: 10, seq: 5, timestamp: T0 })).toBe(false);
    expect(qc.getQueryData<Video>(videoKeys.detail('a'))!.progress).toBe(50);
  });

  it('move the stats counts without a refetch', () => {
    qc.setQueryData(videoKeys.detail('a'), video('a', { status: 'PROCESSING' }));
    qc.setQueryData<VideoStats>(videoKeys.stats(), { total: 3, byStatus: { PROCESSING: 2, READY: 1 } });
    createRealtimeHandlers(qc).onVideoStatus(statusEvent('a', 'READY', 8, T0 + 1));
    expect(qc.getQueryData<VideoStats>(videoKeys.stats())).toEqual({ total: 3, byStatus: { PROCESSING: 1, READY: 2 } });
    expect(qc.getQueryState(videoKeys.stats())!.isInvalidated).toBe(false);
  });

  it('add the event to a loaded status timeline', () => {
    qc.setQueryData(videoKeys.detail('a'), video('a'));
    qc.setQueryData<StatusNotification[]>(videoKeys.notifications('a'), [
      { id: 1, videoId: 'a', status: 'UPLOADED', message: 'queued', createdAt: iso(T0) },
    ]);
    createRealtimeHandlers(qc).onVideoStatus(statusEvent('a', 'PROCESSING', 3, T0 + 5));
    const timeline = qc.getQueryData<StatusNotification[]>(videoKeys.notifications('a'))!;
    expect(timeline.map((n) => n.status)).toEqual(['PROCESSING', 'UPLOADED']);
  });

  it('remove a deleted video everywhere', () => {
    qc.setQueryData(videoKeys.detail('a'), video('a', { status: 'READY' }));
    qc.setQueryData(listKey, page([video('b'), video('a', { status: 'READY' })]));
    qc.setQueryData<VideoStats>(videoKeys.stats(), { total: 2, byStatus: { UPLOADED: 1, READY: 1 } });
    createRealtimeHandlers(qc).onVideoStatus({ videoId: 'a', status: 'DELETED', data: null, seq: 12, timestamp: T0 + 9 });
    expect(qc.getQueryData(videoKeys.detail('a'))).toBeUndefined();
    expect(listed(qc).map((v) => v.id)).toEqual(['b']);
    expect(qc.getQueryData<VideoStats>(videoKeys.stats())).toEqual({ total: 1, byStatus: { UPLOADED: 1, READY: 0 } });
  });

  it('ignore payloads of the wrong shape', () => {
    const h = createRealtimeHandlers(qc);
    expect(h.onVideoStatus({ nope: true })).toBe(false);
    expect(h.onProgress('50%')).toBe(false);
  });
});

describe('polling snapshots', () => {
  it('patch status and progress in place and fetch the details once the status changes', () => {
    qc.setQueryData(videoKeys.detail('a'), video('a', { status: 'PROCESSING', progress: 10 }));
    applyStatusSnapshot(qc, { videoId: 'a', status: 'PROCESSING', progress: 60, errorMessage: null });
    expect(qc.getQueryData<Video>(videoKeys.detail('a'))!.progress).toBe(60);
    expect(qc.getQueryState(videoKeys.detail('a'))!.isInvalidated).toBe(false);

    applyStatusSnapshot(qc, { videoId: 'a', status: 'READY', progress: 100, errorMessage: null });
    expect(qc.getQueryData<Video>(videoKeys.detail('a'))!.status).toBe('READY');
    // The manifest URL is not in a snapshot: the detail is due for a refetch.
    expect(qc.getQueryState(videoKeys.detail('a'))!.isInvalidated).toBe(true);
  });
});

describe('removeVideo', () => {
  it('asks for fresh counts when it never knew the video', () => {
    qc.setQueryData<VideoStats>(videoKeys.stats(), { total: 1, byStatus: { READY: 1 } });
    removeVideo(qc, 'zzz');
    expect(qc.getQueryState(videoKeys.stats())!.isInvalidated).toBe(true);
  });
});
