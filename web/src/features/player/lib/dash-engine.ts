import * as dashModule from 'dashjs';
import type { MediaPlayerClass } from 'dashjs';
import type { Rendition } from '@/lib/video';
import { labelFor, sortLevels, type EngineEvents, type PlayerEngine, type QualityLevel } from './engine-shared';

// dash.js ships as a UMD bundle; depending on the bundler its API is the
// namespace itself or its default export.
type DashJs = typeof dashModule;
const dashjs: DashJs = ((dashModule as unknown as { default?: DashJs }).default ?? dashModule) as DashJs;

export function createDashEngine(video: HTMLVideoElement, url: string, renditions: Rendition[], events: EngineEvents): PlayerEngine {
  const player: MediaPlayerClass = dashjs.MediaPlayer().create();
  const E = dashjs.MediaPlayer.events;
  let ready = false;
  let rendered: number | null = null;

  player.updateSettings({
    // 3 = LOG_LEVEL_WARNING (a const enum in the typings, unusable with isolatedModules).
    debug: { logLevel: 3 as never },
    streaming: {
      abr: { autoSwitchBitrate: { video: true, audio: true } },
      buffer: { flushBufferAtTrackSwitch: true },
    },
  });

  player.on(E.STREAM_INITIALIZED, () => {
    ready = true;
    rendered = player.getQualityFor('video');
    events.onLevels();
    events.onSwitch();
  });
  player.on(E.QUALITY_CHANGE_RENDERED, (e: { mediaType?: string; newQuality?: number }) => {
    if (e.mediaType !== 'video') return;
    rendered = e.newQuality ?? rendered;
    events.onSwitch();
  });
  player.on(E.ERROR, (e: { error?: { message?: string } | string }) => {
    const detail = typeof e.error === 'string' ? e.error : e.error?.message;
    events.onError(detail ? `The stream could not be played (${detail}).` : 'The stream could not be played.');
  });

  player.initialize(video, url, false);

  const levels = (): QualityLevel[] => {
    if (!ready) return [];
    return sortLevels(
      player.getBitrateInfoListFor('video').map((b) => ({
        index: b.qualityIndex,
        width: b.width,
        height: b.height,
        bitrate: b.bitrate,
        label: labelFor(b.width, b.height, renditions),
      })),
    );
  };

  return {
    kind: 'dash',
    levels,
    renderedIndex: () => rendered,
    autoEnabled: () => player.getSettings().streaming?.abr?.autoSwitchBitrate?.video !== false,
    setLevel(index) {
      if (!ready) return;
      if (index === 'auto') {
        player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: true } } } });
        events.onSwitch();
        return;
      }
      player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false } } } });
      // setQualityFor(…, true) drops the whole buffer and fetches the new
      // quality from the current position, and flushBufferAtTrackSwitch makes
      // dash.js then seek to where we are, which resets the decoder: the new
      // quality is on screen within one segment download, not after the
      // buffer (up to 20 s) has played out. dash.js ignores a request for the
      // quality it is already fetching, even when the buffer still holds
      // another one (ABR may have switched for the next segment only), so in
      // that case step through a neighbour first to force the flush.
      if (player.getQualityFor('video') === index) {
        const count = player.getBitrateInfoListFor('video').length;
        if (count > 1) player.setQualityFor('video', index === 0 ? 1 : index - 1, false);
      }
      player.setQualityFor('video', index, true);
      events.onSwitch();
    },
    destroy() {
      try {
        player.reset();
      } catch {
        // already torn down
      }
    },
  };
}
