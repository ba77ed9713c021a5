import type { EngineEvents, PlayerEngine } from './engine-shared';

/** The browser plays HLS itself (Safari, iPhone): it picks the quality; we only show it. */
export function createNativeEngine(video: HTMLVideoElement, url: string, events: EngineEvents): PlayerEngine {
  const onError = () => events.onError('The stream could not be played.');
  video.addEventListener('error', onError);
  video.src = url;
  return {
    kind: 'native',
    levels: () => [],
    renderedIndex: () => null,
    autoEnabled: () => true,
    setLevel: () => undefined,
    destroy() {
      video.removeEventListener('error', onError);
      video.removeAttribute('src');
      video.load();
    },
  };
}
