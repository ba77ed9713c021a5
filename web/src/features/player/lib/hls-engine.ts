import Hls from 'hls.js';
import type { Rendition } from '@/lib/video';
import { labelFor, sortLevels, type EngineEvents, type PlayerEngine } from './engine-shared';

export function createHlsEngine(video: HTMLVideoElement, url: string, renditions: Rendition[], events: EngineEvents): PlayerEngine {
  const hls = new Hls({ capLevelToPlayerSize: false, startLevel: -1 });
  let rendered: number | null = null;
  let seekAfterFlush = false;

  hls.on(Hls.Events.MANIFEST_PARSED, () => events.onLevels());
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
    rendered = data.level;
    events.onSwitch();
  });
  hls.on(Hls.Events.BUFFER_FLUSHED, () => {
    if (!seekAfterFlush) return;
    seekAfterFlush = false;
    // The buffer is gone but the decoder still holds frames of the old
    // level; a seek to where we are drops them too.
    // eslint-disable-next-line no-self-assign -- the assignment is the seek: it is what makes the decoder let go of the old level's frames.
    video.currentTime = video.currentTime;
  });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      hls.startLoad();
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      hls.recoverMediaError();
      return;
    }
    events.onError(`The stream could not be played (${data.details}).`);
  });
  hls.loadSource(url);
  hls.attachMedia(video);

  return {
    kind: 'hls',
    levels: () =>
      sortLevels(
        hls.levels.map((l, index) => ({
          index,
          width: l.width,
          height: l.height,
          bitrate: l.bitrate,
          label: labelFor(l.width, l.height, renditions),
        })),
      ),
    renderedIndex: () => rendered,
    autoEnabled: () => hls.autoLevelEnabled,
    setLevel(index) {
      if (index === 'auto') {
        // Back to adaptive from the next segment on: no need to rebuffer.
        hls.nextLevel = -1;
      } else {
        // currentLevel aborts the current load and flushes the buffer.
        seekAfterFlush = true;
        hls.currentLevel = index;
      }
      events.onSwitch();
    },
    destroy: () => hls.destroy(),
  };
}
