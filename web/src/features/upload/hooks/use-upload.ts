import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '@/lib/api-client';
import { storeVideo } from '@/lib/realtime/cache-patch';
import type { Visibility } from '@/lib/video';
import { confirmUpload } from '../api/confirm-upload';
import { createUploadUrl } from '../api/create-upload-url';
import { discardUpload } from '../api/discard-upload';
import { putFile } from '../api/put-file';
import { checkVideoFile } from '../lib/magic-bytes';
import { TransferMeter } from '../lib/transfer-stats';

export type UploadPhase = 'idle' | 'preparing' | 'uploading' | 'confirming' | 'done' | 'error' | 'cancelled';

export interface UploadState {
  phase: UploadPhase;
  percent: number;
  loaded: number;
  total: number;
  bytesPerSecond: number | null;
  secondsLeft: number | null;
  videoId: string | null;
  error: string | null;
}

const initial: UploadState = {
  phase: 'idle',
  percent: 0,
  loaded: 0,
  total: 0,
  bytesPerSecond: null,
  secondsLeft: null,
  videoId: null,
  error: null,
};

export interface UploadDetails {
  title: string;
  description: string;
  visibility: Visibility;
}

const isAbort = (e: unknown) => e instanceof DOMException && e.name === 'AbortError';

/**
 * The three steps of an upload — ask for a signed URL, PUT the bytes there,
 * confirm — with live progress and cancel. The file is checked again (magic
 * bytes) before the first request, whatever the caller did.
 */
export function useUpload() {
  const qc = useQueryClient();
  const [state, setState] = useState<UploadState>(initial);
  const abortRef = useRef<AbortController | null>(null);
  const videoIdRef = useRef<string | null>(null);

  useEffect(() => () => abortRef.current?.abort(), []);

  const start = useCallback(
    async (file: File, details: UploadDetails) => {
      abortRef.current?.abort();
      const abort = new AbortController();
      abortRef.current = abort;
      videoIdRef.current = null;
      setState({ ...initial, phase: 'preparing', total: file.size });

      const check = await checkVideoFile(file);
      if (!check.ok) {
        setState({ ...initial, phase: 'error', error: check.message });
        return;
      }
      try {
        const ticket = await createUploadUrl(
          {
            fileName: file.name,
            fileType: check.mimeType,
            fileSize: file.size,
            title: details.title.trim() || undefined,
            description: details.description.trim() || undefined,
            visibility: details.visibility,
          },
          abort.signal,
        );
        videoIdRef.current = ticket.videoId;
        setState((s) => ({ ...s, phase: 'uploading', videoId: ticket.videoId }));

        const meter = new TransferMeter();
        meter.add(performance.now(), 0);
        await putFile(ticket.presignedUrl, file, {
          method: ticket.method,
          headers: { 'Content-Type': check.mimeType, ...ticket.headers },
          signal: abort.signal,
          onProgress: (loaded) => {
            meter.add(performance.now(), loaded);
            const f = meter.figures(file.size);
            setState((s) => (s.phase === 'uploading' ? { ...s, ...f } : s));
          },
        });
        setState((s) => ({ ...s, phase: 'confirming', percent: 100, loaded: file.size, secondsLeft: 0 }));
        const video = await confirmUpload(ticket.videoId, abort.signal);
        storeVideo(qc, video);
        setState((s) => ({ ...s, phase: 'done' }));
      } catch (e) {
        if (isAbort(e)) return; // cancel() already set the state
        setState((s) => ({ ...s, phase: 'error', error: errorMessage(e) }));
      } finally {
        if (abortRef.current === abort) abortRef.current = null;
      }
    },
    [qc],
  );

  const cancel = useCallback(() => {
    const abort = abortRef.current;
    if (!abort) return;
    abort.abort();
    abortRef.current = null;
    if (videoIdRef.current) void discardUpload(videoIdRef.current);
    setState((s) => ({ ...s, phase: 'cancelled', bytesPerSecond: null, secondsLeft: null }));
  }, []);

  const reset = useCallback(() => {
    abortRef.current?.abort();
    abortRef.current = null;
    videoIdRef.current = null;
    setState(initial);
  }, []);

  return { state, start, cancel, reset };
}
